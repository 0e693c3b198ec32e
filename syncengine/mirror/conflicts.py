"""Conflicts: open while systems disagree on a field, resolved by a policy, a system or a person.

At most one conflict per entity and field is open (a partial unique index). Opening it again
updates its values and keeps, per system, when its value was first seen changed, as long as that
value stayed the same: the ``newest`` policy depends on those times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from syncengine.mirror import jsoncodec
from syncengine.mirror.columns import require_utc
from syncengine.mirror.errors import NotFoundError, StateTransitionError
from syncengine.mirror.models import conflicts
from syncengine.mirror.sql import chunks
from syncengine.mirror.values import Conflict, SeenConflict


def _conflict(row: Row[Any]) -> Conflict:
    resolved = row.status == "resolved"
    return Conflict(
        id=row.id,
        entity_id=row.entity_id,
        field=row.field,
        base_value=row.base_value,
        values=row.values,
        first_seen_at={system: datetime.fromisoformat(at) for system, at in row.first_seen_at.items()},
        policy=row.policy,
        status=row.status,
        run_id=row.run_id,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        resolution_value=row.resolution_value if resolved else None,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        resolved_run_id=row.resolved_run_id,
    )


def open_conflict(
    conn: Connection,
    *,
    entity_id: str,
    field: str,
    base_value: Any,
    values: Mapping[str, Any],
    first_seen_at: Mapping[str, datetime],
    policy: str,
    run_id: int | None,
    now: datetime,
) -> Conflict:
    """Open the conflict on (entity, field), or update the one already open; returns it."""
    seen = SeenConflict(entity_id, field, base_value, values, policy, first_seen_at)
    record_conflicts(conn, [seen], run_id=run_id, now=now)
    query = select(conflicts).where(
        conflicts.c.entity_id == entity_id, conflicts.c.field == field, conflicts.c.status == "open"
    )
    row = conn.execute(query).first()
    assert row is not None  # just opened or updated
    return _conflict(row)


def record_conflicts(
    conn: Connection, items: Sequence[SeenConflict], *, run_id: int | None, now: datetime
) -> None:
    """``open_conflict`` (then ``resolve_conflict`` for those a rule settled) for a batch of
    entities, in a few statements: one read of their open conflicts, one insert per kind of row."""
    current: dict[tuple[str, str], Row[Any]] = {}
    for chunk in chunks(sorted({item.entity_id for item in items})):
        query = select(conflicts).where(conflicts.c.status == "open", conflicts.c.entity_id.in_(chunk))
        current.update({(row.entity_id, row.field): row for row in conn.execute(query)})
    opened: list[dict[str, Any]] = []
    settled: list[dict[str, Any]] = []
    for item in items:
        what = f"conflict on entity {item.entity_id}: field {item.field}"
        jsoncodec.dumps({"base": item.base_value, "values": dict(item.values)}, what=what, field=item.field)
        seen = {
            system: require_utc(item.first_seen_at.get(system, now), f"{what}: first seen at of {system}")
            for system in item.values
        }
        row = current.get((item.entity_id, item.field))
        if row is not None:
            for system, value in item.values.items():
                if system in row.values and row.values[system] == value:
                    seen[system] = datetime.fromisoformat(row.first_seen_at[system])
        fields: dict[str, Any] = {
            "base_value": item.base_value, "values": dict(item.values), "policy": item.policy,
            "first_seen_at": {system: at.isoformat() for system, at in seen.items()}, "run_id": run_id,
            "updated_at": now,
        }  # fmt: skip
        if item.resolved_by is not None:
            jsoncodec.dumps(item.resolution_value, what=f"resolution of {what}", field="resolution_value")
            fields.update(
                status="resolved", resolution_value=item.resolution_value, resolved_by=item.resolved_by,
                resolved_at=now, resolved_run_id=run_id,
            )  # fmt: skip
        if row is not None:
            conn.execute(update(conflicts).where(conflicts.c.id == row.id).values(**fields))
        else:
            new = {"entity_id": item.entity_id, "field": item.field, "opened_at": now, "status": "open"}
            (opened if item.resolved_by is None else settled).append({**new, **fields})
    for rows in (opened, settled):
        if rows:
            conn.execute(insert(conflicts), rows)


def resolve_conflict(
    conn: Connection, conflict_id: int, *, value: Any, resolved_by: str, run_id: int | None, now: datetime
) -> Conflict:
    """Settle an open conflict with ``value``; ``resolved_by`` names the system, policy or person."""
    jsoncodec.dumps(value, what=f"resolution of conflict {conflict_id}", field="resolution_value")
    result = conn.execute(
        update(conflicts)
        .where(conflicts.c.id == conflict_id, conflicts.c.status == "open")
        .values(
            status="resolved",
            resolution_value=value,
            resolved_by=resolved_by,
            resolved_at=now,
            resolved_run_id=run_id,
            updated_at=now,
        )
    )
    if result.rowcount == 0:
        stored = get_conflict(conn, conflict_id)  # raises NotFoundError for an unknown id
        raise StateTransitionError(
            f"conflict {conflict_id} (entity {stored.entity_id}, field {stored.field}) was already "
            f"resolved by {stored.resolved_by} at {stored.resolved_at}"
        )
    return get_conflict(conn, conflict_id)


def get_conflict(conn: Connection, conflict_id: int) -> Conflict:
    row = conn.execute(select(conflicts).where(conflicts.c.id == conflict_id)).first()
    if row is None:
        raise NotFoundError(f"conflict {conflict_id}: unknown")
    return _conflict(row)


def open_conflicts(conn: Connection, entity_ids: Sequence[str] | None = None) -> list[Conflict]:
    """Open conflicts in the order they were opened, of the given entities or of all."""
    query = select(conflicts).where(conflicts.c.status == "open").order_by(conflicts.c.id)
    if entity_ids is None:
        return [_conflict(row) for row in conn.execute(query)]
    found: list[Conflict] = []
    for chunk in chunks(entity_ids):
        found.extend(_conflict(row) for row in conn.execute(query.where(conflicts.c.entity_id.in_(chunk))))
    return sorted(found, key=lambda conflict: conflict.id)


def open_conflict_keys(conn: Connection) -> set[tuple[str, str]]:
    """``(entity_id, field)`` of every open conflict: what waits for a person, without the values."""
    query = select(conflicts.c.entity_id, conflicts.c.field).where(conflicts.c.status == "open")
    return {(row.entity_id, row.field) for row in conn.execute(query)}


def pending_resolutions(conn: Connection) -> list[Conflict]:
    """Conflicts a person settled that no run has applied yet (``resolved_run_id`` still empty)."""
    query = (
        select(conflicts)
        .where(conflicts.c.status == "resolved", conflicts.c.resolved_run_id.is_(None))
        .order_by(conflicts.c.id)
    )
    return [_conflict(row) for row in conn.execute(query)]


def mark_applied(conn: Connection, conflict_id: int, *, run_id: int, now: datetime) -> None:
    """Record that run ``run_id`` wrote the resolution of a settled conflict."""
    conn.execute(
        update(conflicts)
        .where(conflicts.c.id == conflict_id, conflicts.c.status == "resolved")
        .values(resolved_run_id=run_id, updated_at=now)
    )


def list_conflicts(
    conn: Connection, *, status: str | None = None, run_id: int | None = None, field: str | None = None
) -> list[Conflict]:
    """Conflicts in the order they were opened, filtered by status, last run touching them, field."""
    query = select(conflicts).order_by(conflicts.c.id)
    if status is not None:
        query = query.where(conflicts.c.status == status)
    if run_id is not None:
        query = query.where((conflicts.c.run_id == run_id) | (conflicts.c.resolved_run_id == run_id))
    if field is not None:
        query = query.where(conflicts.c.field == field)
    return [_conflict(row) for row in conn.execute(query)]
