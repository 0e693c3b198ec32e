"""Schema versions: create a new database at the latest version, or upgrade an older one in place.

``MIGRATIONS[i]`` upgrades version ``i + 1`` to ``i + 2``. A migration changes the database with
explicit DDL as of its own version (never through today's models, which later versions change),
and keeps every row. All steps of an upgrade run in one transaction, so a failed upgrade leaves
the database exactly as it was. A database from a newer syncengine is refused, never downgraded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlmodel import SQLModel

from syncengine.mirror import jsoncodec, models
from syncengine.mirror.columns import JSONValue, UTCDateTime
from syncengine.mirror.errors import SchemaVersionError

# Any constant works; it only has to be the same for every syncengine process.
_PG_SCHEMA_LOCK = 0x5E_1C_0001


def _v1_to_v2(conn: Connection) -> None:
    """Tombstones say how a deletion was detected; creates carry an idempotency key; records that
    cannot be processed are kept in ``record_errors``."""
    conn.execute(text("ALTER TABLE records ADD COLUMN deleted_by VARCHAR"))
    conn.execute(text("ALTER TABLE outbox ADD COLUMN idempotency_key VARCHAR"))
    conn.execute(text("CREATE UNIQUE INDEX uq_outbox_idempotency_key ON outbox (idempotency_key)"))
    v2 = MetaData()
    Table("runs", v2, Column("id", Integer, primary_key=True))  # for the foreign key only
    Table(
        "record_errors",
        v2,
        Column("id", Integer, primary_key=True),
        Column("system", String, nullable=False),
        Column("remote_id", String),
        Column("entity_id", String),
        Column("field", String),
        Column("message", Text, nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id"), index=True),
        Column("at", UTCDateTime, nullable=False),
    ).create(conn)


def _v2_to_v3(conn: Connection) -> None:
    """Records keep their match keys; the engine fills them in as it reads the linked records."""
    v3 = MetaData()
    Table(
        "match_keys",
        v3,
        Column("system", String, primary_key=True),
        Column("remote_id", String, primary_key=True),
        Column("key", String, primary_key=True),
        Index("ix_match_keys_key", "key"),
    ).create(conn)


def _v3_to_v4(conn: Connection) -> None:
    """Owed work is kept per entity in its own table, no longer in a run's counts
    (``retry_entities``); the last finished run's list is carried over so nothing owed is lost."""
    v4 = MetaData()
    Table("runs", v4, Column("id", Integer, primary_key=True))  # for the foreign key only
    owed = Table(
        "owed",
        v4,
        Column("entity_id", String, primary_key=True),
        Column("system", String, primary_key=True),
        Column("reason", String, primary_key=True),
        Column("detail", Text, nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id")),
        Column("at", UTCDateTime, nullable=False),
    )
    owed.create(conn)
    row = conn.execute(
        text(
            "SELECT id, counts FROM runs WHERE status IN ('succeeded', 'partial') "
            "AND dry_run = :no ORDER BY id DESC LIMIT 1"
        ),
        {"no": False},
    ).first()
    if row is None:
        return
    counts = row.counts if isinstance(row.counts, dict) else json.loads(row.counts or "{}")
    retry = sorted({str(e) for e in counts.get("retry_entities") or [] if e})
    if retry:
        at = datetime.now(UTC)
        conn.execute(
            insert(owed),
            [{"entity_id": e, "system": "", "reason": "retry", "detail": "owed by an earlier run",
              "run_id": row.id, "at": at} for e in retry],
        )  # fmt: skip


def _v4_to_v5(conn: Connection) -> None:
    """Records are stored compressed (``raw``, ``jsoncodec.pack``) instead of as JSON text
    (``raw_json``); on SQLite the base values and match keys become tables without a rowid, so
    their key is not stored twice; base values are indexed by field and value. The file shrinks by
    about a third; SQLite reuses the freed pages (``VACUUM`` gives them back to the disk)."""
    blob = LargeBinary().compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE records ADD COLUMN raw {blob} NOT NULL DEFAULT ''"))
    page = text(
        "SELECT system, remote_id, raw_json FROM records WHERE (system, remote_id) > (:s, :r) "
        "ORDER BY system, remote_id LIMIT 1000"
    )
    update = text("UPDATE records SET raw = :raw WHERE system = :s AND remote_id = :r")
    after = {"s": "", "r": ""}
    while rows := conn.execute(page, after).all():  # a page at a time: the table may be large
        packed = [{"s": r.system, "r": r.remote_id, "raw": jsoncodec.pack(r.raw_json)} for r in rows]
        conn.execute(update, packed)
        after = {"s": rows[-1].system, "r": rows[-1].remote_id}
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE records ALTER COLUMN raw DROP DEFAULT"))
    conn.execute(text("ALTER TABLE records DROP COLUMN raw_json"))
    if conn.dialect.name != "sqlite":
        _index_base_values(conn)
        return
    v5 = MetaData()
    Table("runs", v5, Column("id", Integer, primary_key=True))  # for the foreign keys only
    Table("entities", v5, Column("id", String, primary_key=True))
    Table(
        "base_values_v5",
        v5,
        Column("entity_id", String, ForeignKey("entities.id"), primary_key=True),
        Column("field", String, primary_key=True),
        Column("value", JSONValue, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id")),
        sqlite_with_rowid=False,
    ).create(conn)
    Table(
        "match_keys_v5",
        v5,
        Column("system", String, primary_key=True),
        Column("remote_id", String, primary_key=True),
        Column("key", String, primary_key=True),
        sqlite_with_rowid=False,
    ).create(conn)
    for name in ("base_values", "match_keys"):
        conn.execute(text(f"INSERT INTO {name}_v5 SELECT * FROM {name}"))
        conn.execute(text(f"DROP TABLE {name}"))
        conn.execute(text(f"ALTER TABLE {name}_v5 RENAME TO {name}"))
    conn.execute(text("CREATE INDEX ix_match_keys_key ON match_keys (key)"))
    _index_base_values(conn)


def _index_base_values(conn: Connection) -> None:
    conn.execute(text("CREATE INDEX ix_base_values_field_value ON base_values (field, lower(value))"))


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1_to_v2, _v2_to_v3, _v3_to_v4, _v4_to_v5)
LATEST_VERSION = len(MIGRATIONS) + 1


def prepare_schema(conn: Connection, where: str, now: datetime) -> int:
    """Bring the database behind ``conn`` to ``LATEST_VERSION`` and return it.

    ``where`` names the database in errors. An empty database gets the whole schema; an older one
    is upgraded; a newer one, or one with tables but no version, raises ``SchemaVersionError``.
    """
    if conn.dialect.name == "postgresql":
        # Two processes opening a fresh database at once must not both create the schema.
        conn.execute(select(func.pg_advisory_xact_lock(_PG_SCHEMA_LOCK)))
    tables = set(inspect(conn).get_table_names())
    if not tables:
        SQLModel.metadata.create_all(conn, tables=list(models.ALL_TABLES))
        _record_version(conn, LATEST_VERSION, now)
        return LATEST_VERSION
    if models.schema_version.name not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise SchemaVersionError(
            f"{where}: holds tables ({shown}) but no schema_version table: not a syncengine state "
            "database. Nothing was changed; point syncengine at another file or database."
        )
    found = conn.scalar(select(func.max(models.schema_version.c.version)))
    if found is None or found < 1:
        raise SchemaVersionError(f"{where}: the schema_version table is empty; nothing was changed")
    if found > LATEST_VERSION:
        raise SchemaVersionError(
            f"{where}: schema version {found} was written by a newer syncengine; this one knows versions "
            f"up to {LATEST_VERSION}. Upgrade syncengine. Nothing was changed."
        )
    for version in range(found, LATEST_VERSION):
        MIGRATIONS[version - 1](conn)
        _record_version(conn, version + 1, now)
    return LATEST_VERSION


def _record_version(conn: Connection, version: int, now: datetime) -> None:
    conn.execute(insert(models.schema_version).values(version=version, applied_at=now))


def current_version(conn: Connection) -> int:
    """The version recorded in the database."""
    return int(conn.scalar(select(func.max(models.schema_version.c.version))) or 0)
