"""Owed work: per entity (and system), what a later run must still do, and why.

Rows are written in the transaction of the event that makes the work owed (ops planned for the
push, a write that failed, a create whose answer was lost, a deferral) and deleted in the
transaction of the commit that settles the entity, so neither a kill, a failed run, an undo nor a
dry run can drop them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, delete, func, select

from syncengine.mirror.models import owed
from syncengine.mirror.sql import chunks, upsert_insert
from syncengine.mirror.values import Owed


def owe(conn: Connection, items: Iterable[Owed], *, now: datetime) -> None:
    """Store ``items``; an item already owed for the same entity, system and reason is replaced."""
    rows = {(i.entity_id, i.system, i.reason): i for i in items if i.entity_id}
    stmt = upsert_insert(conn, owed)
    stmt = stmt.on_conflict_do_update(
        index_elements=[owed.c.entity_id, owed.c.system, owed.c.reason],
        set_={name: stmt.excluded[name] for name in ("detail", "run_id", "at")},
    )
    for chunk in chunks(list(rows)):
        conn.execute(
            stmt,
            [
                {"entity_id": e, "system": s, "reason": r, "detail": rows[(e, s, r)].detail,
                 "run_id": rows[(e, s, r)].run_id, "at": now}
                for e, s, r in chunk
            ],
        )  # fmt: skip


def settle(conn: Connection, entity_ids: Collection[str], *, reasons: Collection[str] | None = None) -> None:
    """Delete what was owed to ``entity_ids`` (only for ``reasons`` when given)."""
    for chunk in chunks(sorted(entity_ids)):
        query = delete(owed).where(owed.c.entity_id.in_(chunk))
        if reasons is not None:
            query = query.where(owed.c.reason.in_(list(reasons)))
        conn.execute(query)


def owed_entities(conn: Connection, *, besides: Collection[str] = ()) -> set[str]:
    """Entities owed work for a reason other than ``besides``. A record still ``unfilled`` in a
    system where the entity waits for one of ``besides`` waits with it."""
    query = select(owed.c.entity_id).distinct()
    if besides:
        other = owed.alias("other")
        waits = (
            select(other.c.entity_id)
            .where(
                other.c.entity_id == owed.c.entity_id,
                other.c.system == owed.c.system,
                other.c.reason.in_(list(besides)),
            )
            .exists()
        )
        query = query.where(owed.c.reason.not_in(list(besides)), ~(and_(owed.c.reason == "unfilled", waits)))
    return set(conn.scalars(query))


def owed_to(conn: Connection, entity_ids: Collection[str], *, reason: str) -> list[Owed]:
    """What is owed to ``entity_ids`` for ``reason``."""
    found: list[Owed] = []
    for chunk in chunks(sorted(entity_ids)):
        query = select(owed).where(owed.c.entity_id.in_(chunk), owed.c.reason == reason)
        rows = conn.execute(query)
        found.extend(Owed(r.entity_id, r.system, r.reason, r.detail, r.run_id, r.at) for r in rows)
    return found


def list_owed(
    conn: Connection, *, limit: int | None = None, offset: int = 0, reason: str | None = None
) -> list[Owed]:
    """Owed work, oldest first (only of one ``reason`` when given)."""
    query = select(owed).order_by(owed.c.at, owed.c.entity_id, owed.c.system, owed.c.reason).offset(offset)
    if reason is not None:
        query = query.where(owed.c.reason == reason)
    if limit is not None:
        query = query.limit(limit)
    return [Owed(r.entity_id, r.system, r.reason, r.detail, r.run_id, r.at) for r in conn.execute(query)]


def count_owed(conn: Connection) -> dict[str, int]:
    """Owed entities per reason."""
    query = select(owed.c.reason, func.count(owed.c.entity_id.distinct())).group_by(owed.c.reason)
    return {reason: int(count) for reason, count in conn.execute(query)}
