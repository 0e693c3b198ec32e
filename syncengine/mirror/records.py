"""Records per system: the bulk upsert of a pull, and reading records back.

The upsert is the hot path of every run. Per chunk it reads the stored hashes of the chunk's ids
with one ``IN`` query, writes new and changed records with one executemany upsert, and marks the
unchanged ones as seen with one ``UPDATE``: no per-row statements, no ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, bindparam, select, update

from syncengine.mirror import jsoncodec
from syncengine.mirror.columns import UTCDateTime, driver_time, require_utc
from syncengine.mirror.errors import MirrorValueError, NotFoundError
from syncengine.mirror.models import links, records
from syncengine.mirror.sql import chunks, ensure_planner_stats, upsert_insert
from syncengine.mirror.values import PulledRecord, RecordProblem, StoredRecord, UpsertResult

_NEW, _CHANGED, _UNCHANGED = "new", "changed", "unchanged"


def _prepare(system: str, record: PulledRecord) -> tuple[str, str, str, datetime | None]:
    """(remote_id, canonical JSON, hash, updated_at) of a pulled record, or ``MirrorValueError``."""
    remote_id = record.remote_id
    if not isinstance(remote_id, str) or not remote_id:
        raise MirrorValueError(
            f"{system} record {remote_id!r}: remote_id must be a non-empty string", field="remote_id"
        )
    raw = record.raw
    if not isinstance(raw, Mapping):
        raise MirrorValueError(f"{system} record {remote_id}: raw is not a JSON object", field="raw")
    what = f"{system} record {remote_id}"
    text = jsoncodec.dumps(raw if isinstance(raw, dict) else dict(raw), what=f"{what}: raw", field="raw")
    updated_at = record.updated_at
    if updated_at is not None:
        updated_at = require_utc(updated_at, f"{what}: updated_at", field="updated_at")
    return remote_id, text, jsoncodec.content_hash(text), updated_at


def _problem(system: str, record: PulledRecord, exc: MirrorValueError, run_id: int) -> RecordProblem:
    remote_id = record.remote_id if isinstance(record.remote_id, str) else repr(record.remote_id)
    return RecordProblem(system=system, remote_id=remote_id, field=exc.field, message=str(exc), run_id=run_id)


_UPSERTS: dict[str, Any] = {}  # dialect name -> statement: built once, not per chunk


def _upsert_statement(conn: Connection) -> Any:
    if conn.dialect.name not in _UPSERTS:
        _UPSERTS[conn.dialect.name] = _build_upsert(conn)
    return _UPSERTS[conn.dialect.name]


def _build_upsert(conn: Connection) -> Any:
    # Times are bound as driver values (see driver_time), converted once per call or row by the
    # caller instead of by the column type for each of four columns of every row.
    stmt = upsert_insert(conn, records).values({
        column.name: bindparam(column.name, type_=column.type.load_dialect_impl(conn.dialect))
        for column in records.columns
        if isinstance(column.type, UTCDateTime)
    })
    refreshed = (
        "raw", "content_hash", "remote_updated_at", "last_seen_at", "last_seen_run_id",
        "changed_at", "changed_run_id", "deleted_at", "deleted_by",
    )
    return stmt.on_conflict_do_update(
        index_elements=[records.c.system, records.c.remote_id],
        set_={name: stmt.excluded[name] for name in refreshed},
    )


def _stored_state(conn: Connection, system: str, remote_ids: list[str]) -> dict[str, tuple[str, bool]]:
    """``{remote_id: (content hash, deleted)}`` of the ids the mirror holds."""
    ensure_planner_stats(conn, records)
    query = select(records.c.remote_id, records.c.content_hash, records.c.deleted_at).where(
        records.c.system == system, records.c.remote_id.in_(remote_ids)
    )
    return {row.remote_id: (row.content_hash, row.deleted_at is not None) for row in conn.execute(query)}


def upsert_records(
    conn: Connection, system: str, pulled: Iterable[PulledRecord], *, run_id: int, now: datetime
) -> UpsertResult:
    """Store pulled records of ``system`` and say which were new, changed or unchanged.

    A record seen twice in one call counts once: new stays new, and a later different content
    makes it changed. A record that cannot be stored is returned in ``rejected`` (the caller keeps
    it in ``record_errors``); the others are stored all the same.
    """
    outcome: dict[str, str] = {}
    rejected: list[RecordProblem] = []
    upsert = _upsert_statement(conn)
    dialect = conn.dialect.name
    now_value = driver_time(require_utc(now, "upsert time"), dialect)
    for chunk in chunks(pulled):
        prepared: dict[str, tuple[str, str, datetime | None]] = {}
        for record in chunk:
            try:
                remote_id, text, digest, updated_at = _prepare(system, record)
            except MirrorValueError as exc:
                rejected.append(_problem(system, record, exc, run_id))
                continue
            prepared[remote_id] = (text, digest, updated_at)
        stored = _stored_state(conn, system, list(prepared))
        writes: list[dict[str, Any]] = []
        seen: list[str] = []
        for remote_id, (text, digest, updated_at) in prepared.items():
            previous = stored.get(remote_id)
            if previous is None:
                kind = _NEW
            elif previous[0] != digest or previous[1]:
                kind = _CHANGED
            else:
                seen.append(remote_id)
                outcome.setdefault(remote_id, _UNCHANGED)
                continue
            if outcome.get(remote_id) != _NEW:
                outcome[remote_id] = kind
            writes.append({
                "system": system, "remote_id": remote_id, "raw": jsoncodec.pack(text), "content_hash": digest,
                "remote_updated_at": None if updated_at is None else driver_time(updated_at, dialect),
                "first_seen_at": now_value, "last_seen_at": now_value, "last_seen_run_id": run_id,
                "changed_at": now_value, "changed_run_id": run_id,
                "deleted_at": None, "deleted_by": None,
            })
        if writes:
            conn.execute(upsert, writes)
        if seen:
            conn.execute(
                update(records)
                .where(records.c.system == system, records.c.remote_id.in_(seen))
                .values(last_seen_at=now, last_seen_run_id=run_id)
            )
    by_kind: dict[str, list[str]] = {_NEW: [], _CHANGED: [], _UNCHANGED: []}
    for remote_id, kind in outcome.items():
        by_kind[kind].append(remote_id)
    return UpsertResult(
        new=tuple(by_kind[_NEW]),
        changed=tuple(by_kind[_CHANGED]),
        unchanged=tuple(by_kind[_UNCHANGED]),
        rejected=tuple(rejected),
    )


def _select_records() -> Select[Any]:
    return select(records, links.c.entity_id).select_from(
        records.outerjoin(
            links, and_(links.c.system == records.c.system, links.c.remote_id == records.c.remote_id)
        )
    )


def _stored(row: Row[Any]) -> StoredRecord:
    return StoredRecord(
        system=row.system,
        remote_id=row.remote_id,
        raw=jsoncodec.unpack(row.raw),
        content_hash=row.content_hash,
        remote_updated_at=row.remote_updated_at,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        changed_at=row.changed_at,
        changed_run_id=row.changed_run_id,
        deleted_at=row.deleted_at,
        deleted_by=row.deleted_by,
        entity_id=row.entity_id,
    )


def get_record(conn: Connection, system: str, remote_id: str) -> StoredRecord | None:
    row = conn.execute(
        _select_records().where(records.c.system == system, records.c.remote_id == remote_id)
    ).first()
    return None if row is None else _stored(row)


def get_records(conn: Connection, system: str, remote_ids: Sequence[str]) -> dict[str, StoredRecord]:
    """Records of ``system`` by remote id; ids the mirror does not hold are absent."""
    found: dict[str, StoredRecord] = {}
    ensure_planner_stats(conn, records)
    for chunk in chunks(remote_ids):
        query = _select_records().where(records.c.system == system, records.c.remote_id.in_(chunk))
        found.update((row.remote_id, _stored(row)) for row in conn.execute(query))
    return found


def changed_records(conn: Connection, system: str, since_run: int) -> list[StoredRecord]:
    """Records of ``system`` whose content was stored, or deletion detected, in run ``since_run``
    or a later one, in remote id order."""
    query = (
        _select_records()
        .where(records.c.system == system, records.c.changed_run_id >= since_run)
        .order_by(records.c.remote_id)
    )
    return [_stored(row) for row in conn.execute(query)]


def changed_refs(conn: Connection, system: str, since_run: int) -> list[tuple[str, str | None, bool]]:
    """``(remote_id, entity_id or None, deleted)`` of the records ``changed_records`` returns,
    without their payloads."""
    query = (
        select(records.c.remote_id, links.c.entity_id, records.c.deleted_at)
        .select_from(
            records.outerjoin(
                links, and_(links.c.system == records.c.system, links.c.remote_id == records.c.remote_id)
            )
        )
        .where(records.c.system == system, records.c.changed_run_id >= since_run)
        .order_by(records.c.remote_id)
    )
    return [(row.remote_id, row.entity_id, row.deleted_at is not None) for row in conn.execute(query)]


def unlinked_ids(conn: Connection, system: str) -> list[str]:
    """Remote ids of the live records ``unlinked_records`` returns. Asked every run: the records
    without a link are found on the two primary-key indexes alone (the rows, with their payloads,
    are not read), then the few found are checked for deletion."""
    linked = (
        select(links.c.remote_id)
        .where(links.c.system == records.c.system, links.c.remote_id == records.c.remote_id)
        .exists()
    )
    found = list(conn.scalars(select(records.c.remote_id).where(records.c.system == system, ~linked)))
    live: list[str] = []
    for chunk in chunks(found):
        query = select(records.c.remote_id).where(
            records.c.system == system, records.c.remote_id.in_(chunk), records.c.deleted_at.is_(None)
        )
        live.extend(conn.scalars(query))
    return sorted(live)


def records_for_entity(conn: Connection, entity_id: str) -> dict[str, StoredRecord]:
    """The records linked to ``entity_id``, by system (a link whose record was never pulled is absent)."""
    query = _select_records().where(links.c.entity_id == entity_id)
    return {row.system: _stored(row) for row in conn.execute(query)}


def not_seen_since(conn: Connection, system: str, run_id: int) -> list[str]:
    """Remote ids of live records of ``system`` that run ``run_id`` did not see. After a complete
    full scan in that run, these are the candidates for deletion."""
    query = (
        select(records.c.remote_id)
        .where(
            records.c.system == system,
            records.c.last_seen_run_id < run_id,
            records.c.deleted_at.is_(None),
        )
        .order_by(records.c.remote_id)
    )
    return list(conn.scalars(query))


def tombstone(
    conn: Connection, system: str, remote_id: str, *, detected_by: str, run_id: int, now: datetime
) -> StoredRecord:
    """Mark a record deleted, keeping its last content; a record already deleted keeps its first
    tombstone. The record counts as changed in ``run_id``. Unknown records raise ``NotFoundError``."""
    conn.execute(
        update(records)
        .where(
            records.c.system == system,
            records.c.remote_id == remote_id,
            records.c.deleted_at.is_(None),
        )
        .values(deleted_at=now, deleted_by=detected_by, changed_run_id=run_id)
    )
    stored = get_record(conn, system, remote_id)
    if stored is None:
        raise NotFoundError(f"{system} record {remote_id}: not in the mirror, nothing to mark deleted")
    return stored



def unlinked_records(conn: Connection, system: str) -> list[StoredRecord]:
    """Live records of ``system`` linked to no entity (new, or left unlinked by a match conflict)."""
    query = (
        _select_records()
        .where(records.c.system == system, links.c.entity_id.is_(None), records.c.deleted_at.is_(None))
        .order_by(records.c.remote_id)
    )
    return [_stored(row) for row in conn.execute(query)]


def preview_upsert(
    conn: Connection, system: str, pulled: Iterable[PulledRecord], *, now: datetime
) -> list[StoredRecord]:
    """The records of ``pulled`` that ``upsert_records`` would store as new or changed, as they would
    then read back, without writing anything (a dry run's view; ``changed_run_id`` is 0). Records
    that could not be stored are left out, as the real upsert reports them."""
    prepared = []
    for record in pulled:
        try:
            prepared.append((record, *_prepare(system, record)))
        except MirrorValueError:
            continue
    stored = get_records(conn, system, [p[1] for p in prepared])
    out = []
    for record, remote_id, _text, digest, updated_at in prepared:
        known = stored.get(remote_id)
        if known is not None and known.content_hash == digest and not known.is_deleted:
            continue
        out.append(
            StoredRecord(
                system=system, remote_id=remote_id, raw=dict(record.raw), content_hash=digest,
                remote_updated_at=updated_at, first_seen_at=known.first_seen_at if known else now,
                last_seen_at=now, changed_at=now, changed_run_id=0, deleted_at=None, deleted_by=None,
                entity_id=known.entity_id if known else None,
            )
        )  # fmt: skip
    return out
