"""Schema upgrades in place: a version 1 database, written out here as it was, is upgraded to the
latest version without losing a row, ends up with the same schema as a new database, and a
failed upgrade leaves it exactly as it was."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from mirror_support import raw_engine
from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    text,
)
from sqlalchemy.exc import SAWarning

from syncengine.mirror import LATEST_VERSION, Mirror, NewOp, StateFileError
from syncengine.mirror.columns import JSONValue, UTCDateTime

AT = datetime(2024, 11, 5, 8, 0, tzinfo=UTC)


def _schema_v1() -> MetaData:
    """The state database as version 1 of syncengine created it."""
    v1 = MetaData()
    Table(
        "schema_version",
        v1,
        Column("version", Integer, primary_key=True),
        Column("applied_at", UTCDateTime, nullable=False),
    )
    Table(
        "runs",
        v1,
        Column("id", Integer, primary_key=True),
        Column("started_at", UTCDateTime, nullable=False),
        Column("finished_at", UTCDateTime),
        Column("status", String, nullable=False),
        Column("dry_run", Boolean, nullable=False),
        Column("counts", JSONValue, nullable=False),
        Column("timings", JSONValue, nullable=False),
        Column("errors", JSONValue, nullable=False),
    )
    Table(
        "records",
        v1,
        Column("system", String, primary_key=True),
        Column("remote_id", String, primary_key=True),
        Column("raw_json", Text, nullable=False),
        Column("content_hash", String, nullable=False),
        Column("remote_updated_at", UTCDateTime),
        Column("first_seen_at", UTCDateTime, nullable=False),
        Column("last_seen_at", UTCDateTime, nullable=False),
        Column("last_seen_run_id", Integer, ForeignKey("runs.id"), nullable=False),
        Column("changed_at", UTCDateTime, nullable=False),
        Column("changed_run_id", Integer, ForeignKey("runs.id"), nullable=False),
        Column("deleted_at", UTCDateTime),
        Index("ix_records_system_changed_run", "system", "changed_run_id"),
    )
    Table(
        "entities",
        v1,
        Column("id", String, primary_key=True),
        Column("created_at", UTCDateTime, nullable=False),
    )
    Table(
        "links",
        v1,
        Column("system", String, primary_key=True),
        Column("remote_id", String, primary_key=True),
        Column("entity_id", String, ForeignKey("entities.id"), nullable=False),
        Column("linked_at", UTCDateTime, nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id")),
        UniqueConstraint("entity_id", "system", name="uq_links_entity_system"),
    )
    Table(
        "base_values",
        v1,
        Column("entity_id", String, ForeignKey("entities.id"), primary_key=True),
        Column("field", String, primary_key=True),
        Column("value", JSONValue, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id")),
    )
    Table(
        "history",
        v1,
        Column("id", Integer, primary_key=True),
        Column("entity_id", String, ForeignKey("entities.id"), nullable=False, index=True),
        Column("system", String),
        Column("field", String, nullable=False),
        Column("old_value", JSONValue, nullable=False),
        Column("new_value", JSONValue, nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id"), index=True),
        Column("reason", String, nullable=False),
        Column("at", UTCDateTime, nullable=False),
    )
    Table(
        "conflicts",
        v1,
        Column("id", Integer, primary_key=True),
        Column("entity_id", String, ForeignKey("entities.id"), nullable=False),
        Column("field", String, nullable=False),
        Column("base_value", JSONValue, nullable=False),
        Column("values", JSONValue, nullable=False),
        Column("first_seen_at", JSONValue, nullable=False),
        Column("policy", String, nullable=False),
        Column("status", String, nullable=False),
        Column("resolution_value", JSONValue),
        Column("resolved_by", String),
        Column("resolved_at", UTCDateTime),
        Column("run_id", Integer, ForeignKey("runs.id")),
        Column("resolved_run_id", Integer, ForeignKey("runs.id")),
        Column("opened_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Index(
            "uq_conflicts_open",
            "entity_id",
            "field",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
    Table(
        "outbox",
        v1,
        Column("op_id", String, primary_key=True),
        Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
        Column("system", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("entity_id", String, ForeignKey("entities.id")),
        Column("remote_id", String),
        Column("payload", JSONValue, nullable=False),
        Column("state", String, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("last_error", Text),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Index("ix_outbox_system_state", "system", "state"),
    )
    Table(
        "cursors",
        v1,
        Column("system", String, primary_key=True),
        Column("cursor_at", UTCDateTime),
        Column("cursor_json", JSONValue),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("run_id", Integer, ForeignKey("runs.id")),
    )
    return v1


def _create_v1(
    target: str, *, extra_ddl: str | None = None, counts: dict[str, object] | None = None
) -> None:
    """A version 1 database holding one of everything, as a v1 user's state file would."""
    v1 = _schema_v1()
    t = v1.tables
    engine = raw_engine(target)
    with engine.begin() as conn:
        v1.create_all(conn)
        conn.execute(insert(t["schema_version"]), {"version": 1, "applied_at": AT})
        run_id = conn.execute(
            insert(t["runs"]),
            {
                "started_at": AT,
                "finished_at": AT,
                "status": "succeeded",
                "dry_run": False,
                "counts": counts or {"pulled": 1},
                "timings": {},
                "errors": [],
            },
        ).inserted_primary_key[0]
        conn.execute(insert(t["entities"]), {"id": "e1", "created_at": AT})
        conn.execute(
            insert(t["records"]),
            {
                "system": "apollo",
                "remote_id": "a1",
                "raw_json": '{"first_name":"Zoë","id":"a1"}',
                "content_hash": "0" * 32,
                "remote_updated_at": AT,
                "first_seen_at": AT,
                "last_seen_at": AT,
                "last_seen_run_id": run_id,
                "changed_at": AT,
                "changed_run_id": run_id,
                "deleted_at": None,
            },
        )
        conn.execute(
            insert(t["links"]),
            {"system": "apollo", "remote_id": "a1", "entity_id": "e1", "linked_at": AT, "run_id": run_id},
        )
        conn.execute(
            insert(t["base_values"]),
            {"entity_id": "e1", "field": "tags", "value": ["vip"], "updated_at": AT, "run_id": run_id},
        )
        conn.execute(
            insert(t["history"]),
            {
                "entity_id": "e1",
                "system": "apollo",
                "field": "tags",
                "old_value": [],
                "new_value": ["vip"],
                "run_id": run_id,
                "reason": "union",
                "at": AT,
            },
        )
        conn.execute(
            insert(t["conflicts"]),
            {
                "entity_id": "e1",
                "field": "email",
                "base_value": None,
                "values": {"apollo": "a@x", "cm": "c@x"},
                "first_seen_at": {"apollo": AT.isoformat(), "cm": AT.isoformat()},
                "policy": "manual",
                "status": "open",
                "resolution_value": None,
                "run_id": run_id,
                "opened_at": AT,
                "updated_at": AT,
            },
        )
        conn.execute(
            insert(t["outbox"]),
            {
                "op_id": "op-1",
                "run_id": run_id,
                "system": "apollo",
                "kind": "update",
                "entity_id": "e1",
                "remote_id": "a1",
                "payload": {"title": "CTO"},
                "state": "sent",
                "attempts": 1,
                "created_at": AT,
                "updated_at": AT,
            },
        )
        conn.execute(
            insert(t["cursors"]),
            {"system": "apollo", "cursor_at": AT, "cursor_json": None, "updated_at": AT, "run_id": run_id},
        )
        if extra_ddl:
            conn.execute(text(extra_ddl))
    engine.dispose()


def _shape(target: str) -> dict[str, object]:
    """Everything about the schema that matters, independent of column order."""
    engine = raw_engine(target)
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # an index on an expression, compared below
        inspector = inspect(conn)
        shape = {
            name: (
                sorted((c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)),
                sorted(inspector.get_pk_constraint(name)["constrained_columns"]),
                sorted(
                    (f["constrained_columns"], f["referred_table"]) for f in inspector.get_foreign_keys(name)
                ),
                sorted(
                    (i["name"], i["column_names"], bool(i["unique"])) for i in inspector.get_indexes(name)
                ),
                sorted(u["column_names"] for u in inspector.get_unique_constraints(name)),
            )
            for name in inspector.get_table_names()
        }
        if conn.dialect.name == "sqlite":  # what reflection leaves out: indexes on expressions, and
            shape["indexes"] = sorted(  # tables whose key is the table itself
                " ".join(row.sql.replace("\"", "").split())
                for row in conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'index'"))
                if row.sql
            )
            shape["without rowid"] = sorted(
                row.name
                for row in conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
                if "WITHOUT ROWID" in (row.sql or "")
            )
    engine.dispose()
    return shape


def test_version_1_database_is_upgraded_in_place_keeping_every_row(mirror_target: str) -> None:
    _create_v1(mirror_target)

    with Mirror.open(mirror_target) as mirror:
        assert mirror.info().schema_version == LATEST_VERSION == 5
        record = mirror.get_record("apollo", "a1")
        assert (record.raw, record.entity_id, record.deleted_by) == (
            {"first_name": "Zoë", "id": "a1"},
            "e1",
            None,
        )
        assert mirror.recent_runs()[0].counts == {"pulled": 1}
        assert mirror.get_base(["e1"]) == {"e1": {"tags": ["vip"]}}
        assert [(h.field, h.new_value) for h in mirror.history(entity_id="e1")] == [("tags", ["vip"])]
        assert [(c.field, c.values) for c in mirror.open_conflicts()] == [
            ("email", {"apollo": "a@x", "cm": "c@x"})
        ]
        assert [(op.op_id, op.state, op.payload, op.idempotency_key) for op in mirror.pending()] == [
            ("op-1", "sent", {"title": "CTO"}, None),
        ]
        assert mirror.get_cursor("apollo").cursor_at == AT


def test_upgraded_database_has_the_new_features(mirror_target: str) -> None:
    _create_v1(mirror_target)

    with Mirror.open(mirror_target) as mirror:
        run_id = mirror.start_run().id
        assert mirror.tombstone("apollo", "a1", "full_scan", run_id=run_id).deleted_by == "full_scan"
        mirror.add_record_error("apollo", "email is not valid", remote_id="a1", field="email", run_id=run_id)
        assert [e.field for e in mirror.record_errors(run_id=run_id)] == ["email"]
        create = NewOp("apollo", "create", {"first_name": "Ada"}, "e1", idempotency_key="e1:apollo")
        assert mirror.enqueue(create, run_id=run_id) == mirror.enqueue(create, run_id=run_id)
        assert not mirror.has_match_keys()
        mirror.set_match_keys({("apollo", "a1"): ["email:ada@example.com", "phone:+15550100"]})
        mirror.set_match_keys({("apollo", "a1"): ["email:ada@example.com"]})  # replaces, not adds
        assert mirror.records_with_match_keys({"email:ada@example.com", "phone:+15550100"}) == {
            ("apollo", "a1")
        }
        assert mirror.records_with_match_keys({"phone:+15550100"}) == set()


def test_entities_an_older_run_owed_are_still_owed_after_the_upgrade(mirror_target: str) -> None:
    # Before version 4 owed work lived in the last run's counts; the upgrade must not drop it.
    _create_v1(mirror_target, counts={"pulled": 1, "retry_entities": ["e1", "e2"]})

    with Mirror.open(mirror_target) as mirror:
        assert mirror.owed_entities() == {"e1", "e2"}
        assert {(o.entity_id, o.reason) for o in mirror.owed()} == {("e1", "retry"), ("e2", "retry")}
        mirror.settle_owed(["e1"])
        assert mirror.owed_entities() == {"e2"}


def test_upgraded_schema_equals_a_new_one(new_target: Callable[[], str]) -> None:
    upgraded, fresh = new_target(), new_target()
    _create_v1(upgraded)

    Mirror.open(upgraded).close()
    Mirror.open(fresh).close()

    assert _shape(upgraded) == _shape(fresh)


def test_records_are_compressed_by_the_upgrade_page_after_page(mirror_target: str) -> None:
    _create_v1(mirror_target)
    engine = raw_engine(mirror_target)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO records (system, remote_id, raw_json, content_hash, first_seen_at, "
                "last_seen_at, last_seen_run_id, changed_at, changed_run_id) "
                "VALUES (:s, :r, :raw, '0', :at, :at, 1, :at, 1)"
            ),
            [{"s": "leadconnector", "r": f"l{i:04}", "raw": f'{{"id":"l{i:04}","n":{i}}}', "at": AT}
             for i in range(2500)],
        )  # fmt: skip
    engine.dispose()

    with Mirror.open(mirror_target) as mirror:
        stored = mirror.get_records("leadconnector", [f"l{i:04}" for i in range(2500)])
        assert [stored[f"l{i:04}"].raw for i in (0, 999, 1000, 2499)] == [
            {"id": f"l{i:04}", "n": i} for i in (0, 999, 1000, 2499)
        ]
        assert len(stored) == 2500
        assert mirror.get_record("apollo", "a1").raw == {"first_name": "Zoë", "id": "a1"}


def test_failed_upgrade_leaves_the_database_as_it_was(mirror_target: str) -> None:
    # A stray table where version 2 creates one makes the last step of the upgrade fail.
    _create_v1(mirror_target, extra_ddl="CREATE TABLE record_errors (id INTEGER PRIMARY KEY)")
    before = _shape(mirror_target)

    with pytest.raises(StateFileError, match="cannot open the state database"):
        Mirror.open(mirror_target)

    assert _shape(mirror_target) == before
    engine = raw_engine(mirror_target)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT max(version) FROM schema_version")) == 1
    engine.dispose()
