"""History of every value the engine overwrote or merged, so any run can be reviewed and undone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, insert, select

from syncengine.mirror import jsoncodec
from syncengine.mirror.columns import require_utc
from syncengine.mirror.models import history
from syncengine.mirror.sql import chunks
from syncengine.mirror.values import HistoryEntry


def add_history(conn: Connection, entries: Iterable[HistoryEntry], *, now: datetime) -> int:
    """Append ``entries`` (``at`` defaults to ``now``); returns how many were stored."""
    rows = []
    for entry in entries:
        what = f"history of entity {entry.entity_id}: field {entry.field}"
        jsoncodec.dumps(entry.old_value, what=f"{what}: old value", field=entry.field)
        jsoncodec.dumps(entry.new_value, what=f"{what}: new value", field=entry.field)
        rows.append({
            "entity_id": entry.entity_id, "system": entry.system, "field": entry.field,
            "old_value": entry.old_value, "new_value": entry.new_value, "run_id": entry.run_id,
            "reason": entry.reason, "at": now if entry.at is None else require_utc(entry.at, what),
        })
    for chunk in chunks(rows):
        conn.execute(insert(history), chunk)
    return len(rows)


def list_history(
    conn: Connection, *, entity_id: str | None = None, run_id: int | None = None
) -> list[HistoryEntry]:
    """Entries in the order they were stored, optionally of one entity and/or one run."""
    query = select(history).order_by(history.c.id)
    if entity_id is not None:
        query = query.where(history.c.entity_id == entity_id)
    if run_id is not None:
        query = query.where(history.c.run_id == run_id)
    return [
        HistoryEntry(
            id=row.id, entity_id=row.entity_id, system=row.system, field=row.field,
            old_value=row.old_value, new_value=row.new_value, run_id=row.run_id, reason=row.reason,
            at=row.at,
        )
        for row in conn.execute(query)
    ]
