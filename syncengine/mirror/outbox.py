"""The outbox: every write is stored before it is sent, so a crash neither loses nor repeats it.

States: ``pending`` -> ``sent`` (attempts + 1) -> ``confirmed`` (the system has it) or ``failed``
(gave up; ``last_error`` says why). A retryable failure goes back to ``pending``. Ops in
``pending`` or ``sent`` are unfinished: after a crash, a ``sent`` create must be looked up by its
idempotency key before it is sent again. Each move is one conditional UPDATE, so two workers
cannot both move the same op.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, or_, select, update

from syncengine.mirror import jsoncodec
from syncengine.mirror.errors import MirrorValueError, NotFoundError, StateTransitionError
from syncengine.mirror.models import outbox
from syncengine.mirror.sql import chunks
from syncengine.mirror.values import NewOp, OpState, OutboxOp

UNFINISHED: tuple[OpState, ...] = ("pending", "sent")


def _op(row: Row[Any]) -> OutboxOp:
    return OutboxOp(
        op_id=row.op_id, run_id=row.run_id, system=row.system, kind=row.kind, entity_id=row.entity_id,
        remote_id=row.remote_id, payload=row.payload, state=row.state, attempts=row.attempts,
        last_error=row.last_error, idempotency_key=row.idempotency_key, created_at=row.created_at,
        updated_at=row.updated_at,
    )


def enqueue(conn: Connection, ops: Iterable[NewOp], *, run_id: int, now: datetime) -> list[OutboxOp]:
    """Store ``ops`` as pending and return them as stored, in order. An op whose idempotency key is
    already in the outbox (or earlier in ``ops``) is not stored again: the first op with that key
    is returned in its place."""
    stored: list[OutboxOp] = []
    for chunk in chunks(ops):
        rows = [_new_row(op, run_id, now) for op in chunk]
        keys = [row["idempotency_key"] for row in rows if row["idempotency_key"] is not None]
        by_key = {
            row.idempotency_key: _op(row)
            for row in conn.execute(select(outbox).where(outbox.c.idempotency_key.in_(keys)))
        }
        fresh = []
        for row in rows:
            key = row["idempotency_key"]
            if key is not None and key in by_key:
                stored.append(by_key[key])
                continue
            op = OutboxOp(**row)
            if key is not None:
                by_key[key] = op
            fresh.append(row)
            stored.append(op)
        if fresh:
            conn.execute(insert(outbox), fresh)
    return stored


def _new_row(op: NewOp, run_id: int, now: datetime) -> dict[str, Any]:
    op_id = op.op_id or uuid.uuid4().hex
    if op.kind != "create" and op.remote_id is None:
        raise MirrorValueError(f"{op.system} {op.kind} op {op_id}: needs a remote_id", field="remote_id")
    jsoncodec.dumps(op.payload, what=f"{op.system} {op.kind} op {op_id}: payload", field="payload")
    return {
        "op_id": op_id, "run_id": run_id, "system": op.system, "kind": op.kind, "entity_id": op.entity_id,
        "remote_id": op.remote_id, "payload": op.payload, "state": "pending", "attempts": 0,
        "last_error": None, "idempotency_key": op.idempotency_key or (op_id if op.kind == "create" else None),
        "created_at": now, "updated_at": now,
    }


def _move(
    conn: Connection, op_id: str, allowed: tuple[OpState, ...], to: OpState, now: datetime, **values: Any
) -> OutboxOp:
    result = conn.execute(
        update(outbox)
        .where(outbox.c.op_id == op_id, outbox.c.state.in_(allowed))
        .values(state=to, updated_at=now, **values)
    )
    if result.rowcount == 0:
        current = get_op(conn, op_id)
        raise StateTransitionError(
            f"{current.system} {current.kind} op {op_id}: cannot move from {current.state} to {to}"
        )
    return get_op(conn, op_id)


def mark_sent(conn: Connection, op_id: str, *, now: datetime) -> OutboxOp:
    """Record that the op is about to be sent (again): attempts + 1."""
    return _move(conn, op_id, UNFINISHED, "sent", now, attempts=outbox.c.attempts + 1)


def mark_sent_many(conn: Connection, op_ids: Sequence[str], *, now: datetime) -> None:
    """``mark_sent`` for many ops, one UPDATE per chunk; raises as ``mark_sent`` would when one of
    them is finished already (nothing is marked then: the caller's transaction rolls back)."""
    for chunk in chunks(list(op_ids)):
        result = conn.execute(
            update(outbox)
            .where(outbox.c.op_id.in_(chunk), outbox.c.state.in_(UNFINISHED))
            .values(state="sent", updated_at=now, attempts=outbox.c.attempts + 1)
        )
        if result.rowcount != len(set(chunk)):
            for op_id in chunk:  # the ops moved are sent now; the one that was not is named
                current = get_op(conn, op_id)  # raises for an unknown op
                if current.state != "sent":
                    raise StateTransitionError(
                        f"{current.system} {current.kind} op {op_id}: cannot move from {current.state} "
                        "to sent"
                    )


def confirm(conn: Connection, op_id: str, *, remote_id: str | None, now: datetime) -> OutboxOp:
    """The system holds the write; a create records the id it got. Confirming twice is harmless."""
    current = get_op(conn, op_id)
    if current.state == "confirmed" and remote_id in (None, current.remote_id):
        return current
    extra = {} if remote_id is None else {"remote_id": remote_id}
    return _move(conn, op_id, UNFINISHED, "confirmed", now, last_error=None, **extra)


def confirm_many(conn: Connection, op_ids: Sequence[str], *, now: datetime) -> None:
    """Confirm updates the systems hold (no remote id to record); confirmed ones stay as they are."""
    for chunk in chunks(list(op_ids)):
        conn.execute(
            update(outbox)
            .where(outbox.c.op_id.in_(chunk), outbox.c.state.in_(UNFINISHED))
            .values(state="confirmed", updated_at=now, last_error=None)
        )


def confirm_created(conn: Connection, created: Sequence[tuple[str, str]], *, now: datetime) -> None:
    """Confirm creates the systems hold, ``(op_id, remote id it got)``, with one executemany;
    confirmed ones stay as they are."""
    stmt = (
        update(outbox)
        # (executemany takes no IN list)
        .where(outbox.c.op_id == bindparam("b_op_id"), or_(*(outbox.c.state == s for s in UNFINISHED)))
        .values(state="confirmed", updated_at=now, last_error=None, remote_id=bindparam("b_remote_id"))
    )
    for chunk in chunks(list(created)):
        conn.execute(stmt, [{"b_op_id": op_id, "b_remote_id": remote_id} for op_id, remote_id in chunk])


def fail(conn: Connection, op_id: str, *, error: str, retryable: bool, now: datetime) -> OutboxOp:
    """Record ``error``; a retryable op goes back to pending, any other is failed for good."""
    return _move(conn, op_id, UNFINISHED, "pending" if retryable else "failed", now, last_error=error)


def get_op(conn: Connection, op_id: str) -> OutboxOp:
    row = conn.execute(select(outbox).where(outbox.c.op_id == op_id)).first()
    if row is None:
        raise NotFoundError(f"outbox op {op_id}: unknown")
    return _op(row)


def op_by_key(conn: Connection, idempotency_key: str) -> OutboxOp | None:
    row = conn.execute(select(outbox).where(outbox.c.idempotency_key == idempotency_key)).first()
    return None if row is None else _op(row)


def list_ops(conn: Connection, states: Iterable[OpState], system: str | None = None) -> list[OutboxOp]:
    """Ops in any of ``states``, oldest first, of one system or all. Asked by every batch of a run
    while the outbox holds every op ever sent: read per system on the (system, state) index, not by
    scanning the table."""
    wanted = list(states)
    found: list[OutboxOp] = []
    for each in [system] if system is not None else _systems(conn):
        query = select(outbox).where(outbox.c.system == each, outbox.c.state.in_(wanted))
        found.extend(_op(row) for row in conn.execute(query))
    return sorted(found, key=lambda op: (op.created_at, op.op_id))


def _systems(conn: Connection) -> list[str]:
    """The systems the outbox holds ops for, one index probe each (the smallest above the last)."""
    found: list[str] = []
    last = conn.scalar(select(func.min(outbox.c.system)))
    while last is not None:
        found.append(last)
        last = conn.scalar(select(func.min(outbox.c.system)).where(outbox.c.system > last))
    return found
