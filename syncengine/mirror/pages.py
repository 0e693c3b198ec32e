"""Pages of the state for a person browsing it (``syncengine serve``): every list is filtered,
counted and cut to one page in SQL, so a page costs the same at 100 contacts as at 100,000.

Functions take a connection from ``PageReader.reading()`` and return the mirror's frozen values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Select, String, cast, column, func, inspect, literal, select, table

from syncengine.mirror.conflicts import _conflict
from syncengine.mirror.db import READ_ONLY, Location, make_engine
from syncengine.mirror.models import conflicts, entities, history, links, owed, record_errors, records, runs
from syncengine.mirror.runs import _run
from syncengine.mirror.values import Conflict, HistoryEntry, Owed, RecordProblem, Run

T = TypeVar("T")


class PageReader:
    """Read-only snapshots of a state for the page queries below, on a connection pool of their
    own: a page never takes a write lock, and never waits for a run."""

    def __init__(self, location: Location) -> None:
        self._engine = make_engine(location)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    def close(self) -> None:
        self._engine.dispose()

DISMISSED = "dismissed error #"  # a trace row's message: DISMISSED + the id of the error a person dismissed


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int  # matching rows, all pages together
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


def _page(conn: Connection, query: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    total = conn.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return list(conn.execute(query.limit(limit).offset(offset))), int(total)


@dataclass(frozen=True)
class Totals:
    entities: int
    records: dict[str, int]  # system -> records stored (not deleted)
    linked: dict[str, int]  # system -> records linked to an entity
    open_conflicts: int
    owed_entities: int


def totals(conn: Connection) -> Totals:
    alive = records.c.deleted_at.is_(None)
    stored = select(records.c.system, func.count()).where(alive).group_by(records.c.system)
    linked = select(links.c.system, func.count()).group_by(links.c.system)
    return Totals(
        entities=int(conn.scalar(select(func.count()).select_from(entities)) or 0),
        records={s: int(n) for s, n in conn.execute(stored)},
        linked={s: int(n) for s, n in conn.execute(linked)},
        open_conflicts=int(
            conn.scalar(select(func.count()).select_from(conflicts).where(conflicts.c.status == "open")) or 0
        ),
        owed_entities=int(conn.scalar(select(func.count(owed.c.entity_id.distinct()))) or 0),
    )


def runs_page(conn: Connection, *, limit: int, offset: int = 0, real_only: bool = True) -> Page[Run]:
    """Runs, newest first (previews are never stored as runs; ``real_only`` drops any marked dry)."""
    query = select(runs).order_by(runs.c.id.desc())
    if real_only:
        query = query.where(runs.c.dry_run.is_(False))
    rows, total = _page(conn, query, limit, offset)
    return Page([_run(r) for r in rows], total, offset, limit)


def written_counts(conn: Connection, run_ids: Sequence[int]) -> dict[int, int]:
    """Per run, how many values it overwrote in a system (history rows with a system)."""
    if not run_ids:
        return {}
    query = (
        select(history.c.run_id, func.count())
        .where(history.c.run_id.in_(list(run_ids)), history.c.system.is_not(None))
        .group_by(history.c.run_id)
    )
    return {int(r): int(n) for r, n in conn.execute(query)}


def conflicts_page(
    conn: Connection,
    *,
    status: str | None = "open",
    field: str | None = None,
    entity_ids: Sequence[str] | None = None,
    limit: int,
    offset: int = 0,
) -> Page[Conflict]:
    """Conflicts oldest first, of one status and field (and of some entities) when given."""
    query = select(conflicts).order_by(conflicts.c.id)
    if status is not None:
        query = query.where(conflicts.c.status == status)
    if field:
        query = query.where(conflicts.c.field == field)
    if entity_ids is not None:
        query = query.where(conflicts.c.entity_id.in_(list(entity_ids)[:2000]))
    rows, total = _page(conn, query, limit, offset)
    return Page([_conflict(r) for r in rows], total, offset, limit)


def open_conflict_fields(conn: Connection) -> dict[str, int]:
    """Open conflicts per field."""
    query = (
        select(conflicts.c.field, func.count())
        .where(conflicts.c.status == "open")
        .group_by(conflicts.c.field)
        .order_by(conflicts.c.field)
    )
    return {f: int(n) for f, n in conn.execute(query)}


def history_page(
    conn: Connection,
    *,
    run_id: int | None = None,
    entity_id: str | None = None,
    field: str | None = None,
    system: str | None = None,
    limit: int,
    offset: int = 0,
) -> Page[HistoryEntry]:
    """History entries newest first, filtered by run, entity, field and system."""
    query = select(history).order_by(history.c.id.desc())
    if run_id is not None:
        query = query.where(history.c.run_id == run_id)
    if entity_id is not None:
        query = query.where(history.c.entity_id == entity_id)
    if field:
        query = query.where(history.c.field == field)
    if system:
        query = query.where(history.c.system == system)
    rows, total = _page(conn, query, limit, offset)
    items = [
        HistoryEntry(
            id=r.id, entity_id=r.entity_id, system=r.system, field=r.field, old_value=r.old_value,
            new_value=r.new_value, run_id=r.run_id, reason=r.reason, at=r.at,
        )
        for r in rows
    ]  # fmt: skip
    return Page(items, total, offset, limit)


def owed_page(
    conn: Connection,
    *,
    reason: str | None = None,
    system: str | None = None,
    entity_id: str | None = None,
    limit: int,
    offset: int = 0,
) -> Page[Owed]:
    """Owed work, oldest first, of one reason, system or entity when given."""
    query = select(owed).order_by(owed.c.at, owed.c.entity_id, owed.c.system, owed.c.reason)
    if reason:
        query = query.where(owed.c.reason == reason)
    if system is not None:
        query = query.where(owed.c.system == system)
    if entity_id is not None:
        query = query.where(owed.c.entity_id == entity_id)
    rows, total = _page(conn, query, limit, offset)
    items = [Owed(r.entity_id, r.system, r.reason, r.detail, r.run_id, r.at) for r in rows]
    return Page(items, total, offset, limit)


def owed_by_system(conn: Connection) -> dict[str, int]:
    """Owed entities per system ("" for work that is no one system's)."""
    query = select(owed.c.system, func.count(owed.c.entity_id.distinct())).group_by(owed.c.system)
    return {s: int(n) for s, n in conn.execute(query)}


def _problem(r: Any) -> RecordProblem:
    return RecordProblem(
        id=r.id, system=r.system, remote_id=r.remote_id, entity_id=r.entity_id, field=r.field,
        message=r.message, run_id=r.run_id, at=r.at,
    )  # fmt: skip


def errors_page(
    conn: Connection,
    *,
    run_id: int | None,
    system: str | None = None,
    entity_id: str | None = None,
    limit: int,
    offset: int = 0,
) -> Page[RecordProblem]:
    """Record errors of one run (of a system, an entity), in the order they were stored, without
    those a person dismissed."""
    trace = record_errors.alias("trace")
    dismissed = (
        select(literal(1))
        .where(trace.c.run_id.is_(None))
        .where(trace.c.message == literal(DISMISSED) + cast(record_errors.c.id, String))
        .exists()
    )
    query = select(record_errors).where(~dismissed).order_by(record_errors.c.id)
    query = query.where(record_errors.c.run_id == run_id) if run_id is not None else query
    if system:
        query = query.where(record_errors.c.system == system)
    if entity_id is not None:
        query = query.where(record_errors.c.entity_id == entity_id)
    rows, total = _page(conn, query, limit, offset)
    return Page([_problem(r) for r in rows], total, offset, limit)


def error_counts(conn: Connection, run_id: int) -> dict[str, int]:
    """Record errors of a run per system (dismissed ones included)."""
    query = (
        select(record_errors.c.system, func.count())
        .where(record_errors.c.run_id == run_id)
        .group_by(record_errors.c.system)
    )
    return {s: int(n) for s, n in conn.execute(query)}


def traces(conn: Connection, *, limit: int) -> list[RecordProblem]:
    """What people did from the errors inbox (rows without a run), newest first."""
    query = select(record_errors).where(record_errors.c.run_id.is_(None)).order_by(record_errors.c.id.desc())
    return [_problem(r) for r in conn.execute(query.limit(limit))]


def next_scheduled_run(conn: Connection) -> datetime | None:
    """When ``syncengine run --every`` starts its next cycle (its job store is in the state), if any."""
    if not inspect(conn).has_table(JOBS.name):
        return None  # no schedule was ever set up here
    epoch = conn.scalar(select(func.min(JOBS.c.next_run_time)))
    return datetime.fromtimestamp(float(epoch), UTC) if epoch is not None else None


JOBS = table("apscheduler_jobs", column("next_run_time"))  # APScheduler's job store (syncengine.schedule)


def get_error(conn: Connection, error_id: int) -> RecordProblem | None:
    row = conn.execute(select(record_errors).where(record_errors.c.id == error_id)).first()
    return _problem(row) if row is not None else None


def owed_rows(conn: Connection, *, reason: str, entity_id: str | None = None) -> list[Owed]:
    """Every owed row of ``reason`` (of one entity when given)."""
    query = select(owed).where(owed.c.reason == reason).order_by(owed.c.entity_id, owed.c.system)
    if entity_id is not None:
        query = query.where(owed.c.entity_id == entity_id)
    return [Owed(r.entity_id, r.system, r.reason, r.detail, r.run_id, r.at) for r in conn.execute(query)]
