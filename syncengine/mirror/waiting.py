"""Contacts that wait for a change: writes a system refuses for a known reason (owed as
``waiting``: a create missing a required field, a write refused as a duplicate) and records left
unlinked because they match several people."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select

from syncengine.mirror.models import links, outbox, owed, record_errors, records
from syncengine.mirror.sql import chunks
from syncengine.mirror.values import Refusal, WaitingItem

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


def refusals(conn: Connection, entity_ids: Collection[str]) -> list[Refusal]:
    """The refused writes ``entity_ids`` wait with: each waiting row's op, as the outbox stored it
    when the system refused it (in the row's run)."""
    found: list[Refusal] = []
    columns = (owed.c.entity_id, owed.c.system, owed.c.detail, owed.c.run_id, outbox.c.kind, outbox.c.payload)
    query = select(*columns)
    query = query.join(
        outbox,
        and_(
            outbox.c.entity_id == owed.c.entity_id,
            outbox.c.system == owed.c.system,
            outbox.c.run_id == owed.c.run_id,
            outbox.c.state == "failed",
        ),
    )
    for chunk in chunks(sorted(entity_ids)):
        rows = conn.execute(query.where(owed.c.reason == WAITING, owed.c.entity_id.in_(chunk)))
        found.extend(Refusal(r.entity_id, r.system, r.kind, r.payload, r.detail, r.run_id) for r in rows)
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
