"""Runs: one sync cycle each, with its status, counts, timings per phase and errors."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import Connection, Row, insert, select, update

from syncengine.mirror import jsoncodec
from syncengine.mirror.errors import MirrorValueError, NotFoundError, StateTransitionError
from syncengine.mirror.models import runs
from syncengine.mirror.values import Run, RunStatus

_FINAL_STATUSES = frozenset(get_args(RunStatus)) - {"running"}
INTERRUPTED_ERROR = (
    "interrupted: the process stopped before the run finished (killed, or the machine went down)"
)


def _run(row: Row[Any]) -> Run:
    return Run(
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        dry_run=row.dry_run,
        counts=row.counts,
        timings=row.timings,
        errors=tuple(row.errors),
    )


def start_run(conn: Connection, *, dry_run: bool, now: datetime) -> Run:
    run_id = conn.execute(
        insert(runs).values(
            started_at=now, status="running", dry_run=dry_run, counts={}, timings={}, errors=[]
        )
    ).inserted_primary_key
    assert run_id is not None
    return get_run(conn, run_id[0])


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    status: RunStatus,
    counts: Mapping[str, Any],
    timings: Mapping[str, float],
    errors: Sequence[Any],
    now: datetime,
) -> Run:
    """Close a running run; finishing it twice raises ``StateTransitionError``."""
    if status not in _FINAL_STATUSES:
        raise MirrorValueError(
            f"run {run_id}: status {status!r} is not one of {sorted(_FINAL_STATUSES)}", field="status"
        )
    for field, value in (("counts", dict(counts)), ("timings", dict(timings)), ("errors", list(errors))):
        jsoncodec.dumps(value, what=f"run {run_id}: {field}", field=field)
    result = conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == "running")
        .values(
            status=status, finished_at=now, counts=dict(counts), timings=dict(timings), errors=list(errors)
        )
    )
    if result.rowcount == 0:
        stored = get_run(conn, run_id)
        raise StateTransitionError(
            f"run {run_id}: already finished ({stored.status} at {stored.finished_at})"
        )
    return get_run(conn, run_id)


def get_run(conn: Connection, run_id: int) -> Run:
    row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"run {run_id}: unknown")
    return _run(row)


def last_run(
    conn: Connection,
    *,
    status: RunStatus | Collection[RunStatus] | None = None,
    dry_run: bool | None = False,
) -> Run | None:
    """The latest run, optionally with a given status (or one of several); dry runs are skipped
    unless ``dry_run`` is True (only dry runs) or None (both)."""
    query = select(runs).order_by(runs.c.id.desc()).limit(1)
    if isinstance(status, str):
        query = query.where(runs.c.status == status)
    elif status is not None:
        query = query.where(runs.c.status.in_(list(status)))
    if dry_run is not None:
        query = query.where(runs.c.dry_run == dry_run)
    row = conn.execute(query).first()
    return None if row is None else _run(row)


def recent_runs(conn: Connection, limit: int = 20) -> list[Run]:
    """The latest ``limit`` runs, newest first."""
    return [_run(row) for row in conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit))]


def interrupt_unfinished(conn: Connection, *, now: datetime) -> list[int]:
    """Mark runs still ``running`` as ``interrupted``; only the holder of the state lock may call
    this, when no run of this state can be alive. Returns their ids."""
    ids = list(conn.scalars(select(runs.c.id).where(runs.c.status == "running").order_by(runs.c.id)))
    if ids:
        conn.execute(
            update(runs)
            .where(runs.c.id.in_(ids), runs.c.status == "running")
            .values(status="interrupted", finished_at=now, errors=[INTERRUPTED_ERROR])
        )
    return ids
