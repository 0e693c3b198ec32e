"""Record errors: a record that could not be processed is kept here and reported, never dropped."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, insert, select

from syncengine.mirror.columns import require_utc
from syncengine.mirror.models import record_errors
from syncengine.mirror.sql import chunks
from syncengine.mirror.values import RecordProblem


def add_record_errors(conn: Connection, problems: Iterable[RecordProblem], *, now: datetime) -> int:
    """Store ``problems`` (``at`` defaults to ``now``); returns how many were stored."""
    rows = [
        {
            "system": problem.system, "remote_id": problem.remote_id, "entity_id": problem.entity_id,
            "field": problem.field, "message": problem.message, "run_id": problem.run_id,
            "at": now if problem.at is None else require_utc(problem.at, f"record error of {problem.system}"),
        }
        for problem in problems
    ]
    for chunk in chunks(rows):
        conn.execute(insert(record_errors), chunk)
    return len(rows)


def list_record_errors(
    conn: Connection, *, run_id: int | None = None, system: str | None = None
) -> list[RecordProblem]:
    """Stored record errors in the order they were stored, of one run and/or system or all."""
    query = select(record_errors).order_by(record_errors.c.id)
    if run_id is not None:
        query = query.where(record_errors.c.run_id == run_id)
    if system is not None:
        query = query.where(record_errors.c.system == system)
    return [
        RecordProblem(
            id=row.id, system=row.system, remote_id=row.remote_id, entity_id=row.entity_id,
            field=row.field, message=row.message, run_id=row.run_id, at=row.at,
        )
        for row in conn.execute(query)
    ]
