"""Per-system cursors: where the next incremental pull starts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, null, select

from syncengine.mirror import jsoncodec
from syncengine.mirror.columns import require_utc
from syncengine.mirror.models import cursors
from syncengine.mirror.sql import upsert_insert
from syncengine.mirror.values import Cursor


def get_cursor(conn: Connection, system: str) -> Cursor | None:
    row = conn.execute(select(cursors).where(cursors.c.system == system)).first()
    if row is None:
        return None
    return Cursor(
        system=row.system, cursor_at=row.cursor_at, cursor_json=row.cursor_json,
        updated_at=row.updated_at, run_id=row.run_id,
    )


def set_cursor(
    conn: Connection,
    system: str,
    cursor_at: datetime | None,
    *,
    cursor_json: Any,
    run_id: int | None,
    now: datetime,
) -> Cursor:
    """Replace the cursor of ``system``. ``cursor_at`` must carry a time zone: a zone-less cursor
    read in some local zone is how incremental pulls skip records."""
    if cursor_at is not None:
        cursor_at = require_utc(cursor_at, f"cursor of {system}", field="cursor_at")
    if cursor_json is not None:
        jsoncodec.dumps(cursor_json, what=f"cursor of {system}: cursor_json", field="cursor_json")
    values = {
        "cursor_at": cursor_at,
        "cursor_json": null() if cursor_json is None else cursor_json,
        "updated_at": now,
        "run_id": run_id,
    }
    stmt = upsert_insert(conn, cursors).values(system=system, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[cursors.c.system], set_=values))
    return Cursor(system=system, cursor_at=cursor_at, cursor_json=cursor_json, updated_at=now, run_id=run_id)
