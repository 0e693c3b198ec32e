"""Contacts that wait for a change: creates a system refuses for a known reason (owed as
``waiting``) and records left unlinked because they match several people."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, and_, func, select

from syncengine.mirror.models import links, owed, record_errors, records
from syncengine.mirror.values import WaitingItem

WAITING = "waiting"
NOT_LINKED = "not linked, waits for a person: "


def list_waiting(conn: Connection, *, limit: int | None = None, offset: int = 0) -> list[WaitingItem]:
    """Waiting creates, then waiting records, oldest first within each."""
    creates = (
        select(owed).where(owed.c.reason == WAITING).order_by(owed.c.at, owed.c.entity_id, owed.c.system)
    )
    found = [
        WaitingItem(r.system, r.detail, entity_id=r.entity_id, run_id=r.run_id, at=r.at)
        for r in conn.execute(creates.offset(offset).limit(limit))
    ]
    if limit is not None and len(found) >= limit:
        return found
    skip = max(0, offset - count_waiting(conn).get("create", 0)) if offset else 0
    query = _unlinked_records().order_by(records.c.system, records.c.remote_id).offset(skip)
    if limit is not None:
        query = query.limit(limit - len(found))
    found.extend(
        WaitingItem(
            r.system, r.message.removeprefix(NOT_LINKED), remote_id=r.remote_id, run_id=r.run_id, at=r.at
        )
        for r in conn.execute(query)
    )
    return found


def _unlinked_records() -> Select[Any]:
    """Live unlinked records with the newest reason a run gave for not linking them."""
    message = (
        select(record_errors.c.id)
        .where(
            record_errors.c.system == records.c.system,
            record_errors.c.remote_id == records.c.remote_id,
            record_errors.c.message.startswith(NOT_LINKED),
        )
        .order_by(record_errors.c.id.desc())
        .limit(1)
        .correlate(records)
        .scalar_subquery()
    )
    return (
        select(
            records.c.system,
            records.c.remote_id,
            record_errors.c.message,
            record_errors.c.run_id,
            record_errors.c.at,
        )
        .select_from(
            records.outerjoin(
                links, and_(links.c.system == records.c.system, links.c.remote_id == records.c.remote_id)
            ).join(record_errors, record_errors.c.id == message)
        )
        .where(links.c.entity_id.is_(None), records.c.deleted_at.is_(None))
    )


def count_waiting(conn: Connection) -> dict[str, int]:
    """``{"create": n, "link": m}``: waiting creates (entity and system) and waiting records."""
    creates = conn.scalar(select(func.count()).select_from(owed).where(owed.c.reason == WAITING)) or 0
    unlinked = conn.scalar(select(func.count()).select_from(_unlinked_records().subquery())) or 0
    return {"create": int(creates), "link": int(unlinked)}
