"""The mirror's tables (SQLModel). Nothing outside ``syncengine.mirror`` imports this module.

Datetimes are ``UTCDateTime``, JSON values ``JSONValue`` (see ``columns``). Integer run ids grow
with time, so "changed since run N" is a comparison. Column comments say why a column exists when
its name does not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, Table, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from syncengine.mirror.columns import JSONValue, UTCDateTime


def _at(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime, nullable=nullable, index=index))


def _json(*, nullable: bool = False) -> Any:
    return Field(sa_column=Column(JSONValue, nullable=nullable))


def _run_fk(*, nullable: bool = True) -> Any:
    return Field(sa_column=Column(Integer, ForeignKey("runs.id"), nullable=nullable))


class SchemaVersionRow(SQLModel, table=True):
    __tablename__ = "schema_version"

    version: int = Field(primary_key=True)  # one row per applied version; the highest is current
    applied_at: datetime = _at()


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _at()
    finished_at: datetime | None = _at(nullable=True)
    status: str  # running / succeeded / failed / partial / interrupted
    dry_run: bool = False
    counts: Any = _json()
    timings: Any = _json()
    errors: Any = _json()


class RecordRow(SQLModel, table=True):
    __tablename__ = "records"
    __table_args__ = (Index("ix_records_system_changed_run", "system", "changed_run_id"),)

    system: str = Field(primary_key=True)
    remote_id: str = Field(primary_key=True)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # canonical JSON, jsoncodec.pack
    content_hash: str
    remote_updated_at: datetime | None = _at(nullable=True)
    first_seen_at: datetime = _at()
    last_seen_at: datetime = _at()
    last_seen_run_id: int = _run_fk(nullable=False)  # a full scan that missed a record leaves it behind
    changed_at: datetime = _at()
    changed_run_id: int = _run_fk(nullable=False)  # run that stored this content (or the record)
    deleted_at: datetime | None = _at(nullable=True)
    deleted_by: str | None = Field(default=None)  # how the deletion was detected


class EntityRow(SQLModel, table=True):
    __tablename__ = "entities"

    id: str = Field(primary_key=True)
    created_at: datetime = _at()


class LinkRow(SQLModel, table=True):
    """The identity map. The primary key gives a record one entity; the unique constraint gives an
    entity at most one record per system."""

    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("entity_id", "system", name="uq_links_entity_system"),)

    system: str = Field(primary_key=True)
    remote_id: str = Field(primary_key=True)
    entity_id: str = Field(foreign_key="entities.id")
    linked_at: datetime = _at()
    run_id: int | None = _run_fk()


class BaseValueRow(SQLModel, table=True):
    __tablename__ = "base_values"
    # Small rows looked up by their key: on SQLite the table is its key's index, not a copy of it.
    # The second index finds the entities holding a value (``entities_with_values``) without
    # reading every base: a new record's possible partners, looked up in every run.
    __table_args__ = (
        Index("ix_base_values_field_value", "field", text("lower(value)")),
        {"sqlite_with_rowid": False},
    )

    entity_id: str = Field(foreign_key="entities.id", primary_key=True)
    field: str = Field(primary_key=True)
    value: Any = _json()
    updated_at: datetime = _at()
    run_id: int | None = _run_fk()


class HistoryRow(SQLModel, table=True):
    __tablename__ = "history"

    id: int | None = Field(default=None, primary_key=True)
    entity_id: str = Field(foreign_key="entities.id", index=True)
    system: str | None = Field(default=None)  # None: the base itself was rewritten
    field: str
    old_value: Any = _json()
    new_value: Any = _json()
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    reason: str  # the policy or rule that decided, e.g. "prefer:apollo"
    at: datetime = _at()


class ConflictRow(SQLModel, table=True):
    __tablename__ = "conflicts"
    # At most one open conflict per entity and field; resolved ones are kept as a record.
    __table_args__ = (
        Index(
            "uq_conflicts_open",
            "entity_id",
            "field",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity_id: str = Field(foreign_key="entities.id")
    field: str
    base_value: Any = _json()
    values: Any = _json()  # {system: value}
    first_seen_at: Any = _json()  # {system: ISO-8601 time its value was first seen changed}
    policy: str
    status: str  # open / resolved
    resolution_value: Any = _json(nullable=True)  # SQL NULL while open; JSON null is a valid answer
    resolved_by: str | None = Field(default=None)  # a system, a policy or a person
    resolved_at: datetime | None = _at(nullable=True)
    run_id: int | None = _run_fk()
    resolved_run_id: int | None = _run_fk()
    opened_at: datetime = _at()
    updated_at: datetime = _at()


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_system_state", "system", "state"),
        Index("uq_outbox_idempotency_key", "idempotency_key", unique=True),
    )

    op_id: str = Field(primary_key=True)
    run_id: int = _run_fk(nullable=False)
    system: str
    kind: str  # create / update / delete / tags ...
    entity_id: str | None = Field(default=None, foreign_key="entities.id")
    remote_id: str | None = Field(default=None)  # None for a create until confirmed
    payload: Any = _json()
    state: str  # pending / sent / confirmed / failed
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A create's key, also sent to the system where it can hold one, so a resend is found, not repeated.
    idempotency_key: str | None = None
    created_at: datetime = _at()
    updated_at: datetime = _at()


class CursorRow(SQLModel, table=True):
    __tablename__ = "cursors"

    system: str = Field(primary_key=True)
    cursor_at: datetime | None = _at(nullable=True)
    cursor_json: Any = _json(nullable=True)  # opaque paging state, e.g. a search_after value
    updated_at: datetime = _at()
    run_id: int | None = _run_fk()


class RecordErrorRow(SQLModel, table=True):
    __tablename__ = "record_errors"

    id: int | None = Field(default=None, primary_key=True)
    system: str
    remote_id: str | None = Field(default=None)
    entity_id: str | None = Field(default=None)
    field: str | None = Field(default=None)
    message: str = Field(sa_column=Column(Text, nullable=False))
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    at: datetime = _at()


class MatchKeyRow(SQLModel, table=True):
    """The match keys a stored record gave when last read ("email:ada@example.com"), so that a new
    record is matched against what every linked record holds, not only against the agreed base:
    while a field is in conflict the base lacks it, and a person found only there would be taken
    for someone new and created again."""

    __tablename__ = "match_keys"
    __table_args__ = (Index("ix_match_keys_key", "key"), {"sqlite_with_rowid": False})

    system: str = Field(primary_key=True)
    remote_id: str = Field(primary_key=True)
    key: str = Field(primary_key=True)


class OwedRow(SQLModel, table=True):
    """Work a run owes an entity (a failed or interrupted write, a refused or unconfirmed create, a
    deferral): stored with the event that causes it, so every later run picks the entity up
    whatever happened in between. A run that settles the entity deletes its rows."""

    __tablename__ = "owed"

    entity_id: str = Field(primary_key=True)
    system: str = Field(primary_key=True)  # "" when the work is not one system's
    reason: str = Field(primary_key=True)  # failed / interrupted / deferred / planned / ...
    detail: str = Field(sa_column=Column(Text, nullable=False))
    run_id: int | None = Field(default=None, foreign_key="runs.id")
    at: datetime = _at()


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


schema_version = _table(SchemaVersionRow)
runs = _table(RunRow)
records = _table(RecordRow)
entities = _table(EntityRow)
links = _table(LinkRow)
base_values = _table(BaseValueRow)
history = _table(HistoryRow)
conflicts = _table(ConflictRow)
outbox = _table(OutboxRow)
cursors = _table(CursorRow)
record_errors = _table(RecordErrorRow)
match_keys = _table(MatchKeyRow)
owed = _table(OwedRow)

ALL_TABLES: tuple[Table, ...] = (
    schema_version, runs, records, entities, links, base_values, history, conflicts, outbox,
    cursors, record_errors, match_keys, owed,
)
