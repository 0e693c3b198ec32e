"""The undo preview and result, for a terminal and as JSON (``syncengine undo RUN [--json]``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from syncengine.report import SCHEMA_VERSION, _show
from syncengine.undo import RecordUndo, UndoPlan, UndoResult

MAX_ROWS = 60  # field rows a terminal shows; --json lists them all


def action(record: RecordUndo, skipped: str | None) -> str:
    """What undo does with one field of a record, in words."""
    if not record.read:
        return f"skip: {skipped}" if record.skipped else f"not written: {skipped}"
    if skipped:
        return f"skip: {skipped}"
    if record.error:
        return record.error
    return "written back" if record.written else "write back"


def print_undo(console: Console, plan: UndoPlan, *, dry_run: bool, max_rows: int | None = MAX_ROWS) -> None:
    """Per record and field: the value now, the value before the run, and what undo does with it."""
    title = f"Undo of run {plan.run_id}" + (" (preview: nothing is written)" if dry_run else "")
    table = Table(title=title)
    for column in ("contact", "system", "field", "now", "before the run", "undo"):
        table.add_column(column, overflow="fold")
    rows = [(record, f) for record in plan.records for f in record.fields]
    for record, f in rows[:max_rows]:
        table.add_row(
            Text(record.who), record.system, f.field, Text(_show(f.current) if record.read else "?"),
            Text(_show(f.restore)), Text(action(record, f.skipped)),
        )  # fmt: skip
    if rows:
        console.print(table)
    if max_rows is not None and len(rows) > max_rows:
        console.print(f"... and {len(rows) - max_rows} more fields: `--json` lists them all")
    counts = plan_counts(plan)
    console.print(
        f"run {plan.run_id} wrote {counts['fields']} fields in {counts['records']} records: "
        f"{counts['writes']} records to write back ({counts['write_fields']} fields), "
        f"{counts['skipped_fields']} fields skipped, {counts['unreadable']} records not readable, "
        f"{counts['refused']} writes a system would refuse"
    )


def print_result(console: Console, plan: UndoPlan, result: UndoResult) -> None:
    failed = [r for r in plan.writes if r.error and not r.written]
    for record in failed:
        console.print(Text(f"{record.system} {record.remote_id} ({record.who}): {record.error}", style="red"))
    if result.undo_run_id is None:
        console.print(f"nothing to write back for run {plan.run_id}")
        return
    console.print(
        f"run {result.undo_run_id} undid run {plan.run_id}: {result.confirmed} records written back, "
        f"{result.failed} failed; {len(result.base)} agreed values moved (the rest keep theirs)"
    )


def plan_counts(plan: UndoPlan) -> dict[str, int]:
    fields = [f for r in plan.records for f in r.fields]
    return {
        "records": len(plan.records),
        "fields": len(fields),
        "writes": len(plan.writes),
        "write_fields": sum(len(r.restores) for r in plan.writes),
        "skipped_fields": sum(1 for r in plan.records for f in r.fields if f.skipped),
        "unreadable": sum(1 for r in plan.records if not r.read and r.error),
        "refused": sum(1 for r in plan.writes if r.error and not r.written),
    }


def undo_dict(plan: UndoPlan, result: UndoResult | None, *, dry_run: bool) -> dict[str, Any]:
    """The preview (and, after the writes, the result) as one JSON object."""
    return {
        "schema": SCHEMA_VERSION,
        "run_id": plan.run_id,
        "undo_run_id": result.undo_run_id if result else None,
        "dry_run": dry_run,
        "records": [
            {
                "entity_id": r.entity_id,
                "contact": r.who,
                "system": r.system,
                "remote_id": r.remote_id,
                "skipped": r.skipped,
                "error": r.error,
                "written": r.written,
                "fields": [
                    {
                        "field": f.field,
                        "current": f.current if r.read else None,
                        "write_back": f.restore,
                        "skipped": f.skipped,
                    }
                    for f in r.fields
                ],
            }
            for r in plan.records
        ],
        "counts": {
            **plan_counts(plan),
            "confirmed": result.confirmed if result else 0,
            "failed": result.failed if result else 0,
        },
        "base": [
            {"entity_id": e.entity_id, "field": e.field, "old": e.old_value, "new": e.new_value}
            for e in (result.base if result else [])
        ],
    }
