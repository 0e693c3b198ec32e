"""The dry-run preview, the run summary and the conflict report: as tables, JSON, CSV and HTML.

The JSON shapes are a documented interface (README, "Machine-readable output"); keys are only ever
added, never renamed or removed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from syncengine.connectors.base import HttpCall
from syncengine.mirror import Conflict, RecordProblem
from syncengine.plan import Plan
from syncengine.report_html import conflicts_html, run_html
from syncengine.sync import RunReport

__all__ = ["conflicts_html", "run_html"]

SCHEMA_VERSION = 1


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "—"
    return str(value)


def plain(*cells: str) -> list[Text]:
    """Table cells as plain text: CRM values and messages are never read as rich markup."""
    return [Text(cell) for cell in cells]


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --------------------------------------------------------------------------- JSON


def plan_dict(plan: Plan, calls: Mapping[str, Sequence[HttpCall]] | None = None) -> dict[str, Any]:
    calls = calls or {}
    return {
        "counts": plan.counts(),
        "match": {
            "linked": plan.match.linked,
            "new_entities": plan.match.new_entities,
            "matched_across": plan.match.matched_across,
            "only_in": dict(plan.match.only_in),
            "linked_by": dict(plan.match.linked_by),
            "conflicts": [
                {
                    "system": c.system,
                    "remote_id": c.remote_id,
                    "key": c.key,
                    "reason": c.reason,
                    "candidates": list(c.candidates),
                }
                for c in plan.match.conflicts
            ],
        },
        "ops": [
            {
                "op_id": p.op.op_id,
                "system": p.op.system,
                "kind": p.op.kind,
                "remote_id": p.op.remote_id,
                "entity_id": p.op.entity_id,
                "contact": p.who,
                "fields": [
                    {"field": c.field, "old": c.old, "new": c.new, "reason": c.reason} for c in p.changes
                ],
                "calls": [
                    {"method": c.method, "path": c.path, "params": dict(c.params or {}), "body": c.body}
                    for c in calls.get(p.op.op_id, ())
                ],
            }
            for p in plan.ops
        ],
        "conflicts": [
            {
                "entity_id": c.entity_id,
                "contact": c.who,
                "field": c.conflict.field,
                "base": c.conflict.base,
                "values": dict(c.conflict.values),
                "policy": c.conflict.policy,
                "open": c.conflict.open,
                "winner": c.conflict.winner,
            }
            for c in plan.conflicts
        ],
        "notes": [
            {"entity_id": n.entity_id, "contact": n.who, "field": n.field, "note": n.text} for n in plan.notes
        ],
        "errors": [problem_dict(p) for p in plan.problems if not RunReport.is_warning(p)],
        "warnings": [problem_dict(p) for p in plan.problems if RunReport.is_warning(p)],
    }


def problem_dict(problem: RecordProblem) -> dict[str, Any]:
    return {
        "system": problem.system,
        "remote_id": problem.remote_id,
        "entity_id": problem.entity_id,
        "field": problem.field,
        "message": problem.message,
    }


def failed_writes(report: RunReport, stored: Iterable[RecordProblem] = ()) -> list[RecordProblem]:
    """The run's failed writes by system, record and entity; ``stored`` (the run's record errors
    in the state) supplies the field a system named, which the push outcome does not keep."""
    if not report.push or not report.push.failed:
        return []
    fields = {(p.system, p.remote_id, p.entity_id): p.field for p in stored if p.field}
    ops = {planned.op.op_id: planned.op for planned in report.plan.ops}
    failed = []
    for op_id, message in report.push.failed.items():
        op = ops.get(op_id)
        system = op.system if op else message.split(":", 1)[0]
        remote_id, entity_id = (op.remote_id, op.entity_id) if op else (None, None)
        failed.append(
            RecordProblem(
                system=system, message=message, remote_id=remote_id, entity_id=entity_id,
                field=fields.get((system, remote_id, entity_id)), run_id=report.run_id,
            )
        )  # fmt: skip
    return failed


def run_dict(
    report: RunReport,
    calls: Mapping[str, Sequence[HttpCall]] | None = None,
    stored: Iterable[RecordProblem] = (),
) -> dict[str, Any]:
    """``stored``: the run's record errors in the state, for the fields of failed writes."""
    push = report.push
    data = {
        "schema": SCHEMA_VERSION,
        "run_id": report.run_id,
        "dry_run": report.dry_run,
        "status": report.status,
        "pulled": report.pulled,
        "changed": report.changed,
        "pull_errors": report.pull_errors,
        "confirmed": sorted(push.confirmed) if push else [],
        "failed": dict(push.failed) if push else {},
        "api_calls": report.calls,
        "timings": {k: round(v, 4) for k, v in report.timings.items()},
        **plan_dict(report.plan, calls),
    }
    data["errors"] += [problem_dict(p) for p in failed_writes(report, stored)]
    return data


def conflict_dict(conflict: Conflict) -> dict[str, Any]:
    return {
        "id": conflict.id,
        "entity_id": conflict.entity_id,
        "field": conflict.field,
        "base": conflict.base_value,
        "values": dict(conflict.values),
        "changed_at": {s: _when(t) for s, t in conflict.first_seen_at.items()},
        "policy": conflict.policy,
        "status": conflict.status,
        "resolution": conflict.resolution_value if conflict.status == "resolved" else None,
        "resolved_by": conflict.resolved_by,
        "opened_at": _when(conflict.opened_at),
    }


def write_private(path: Path, text: str) -> None:
    """Write a report readable by its owner only, like the state database: it holds contacts."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file that existed keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str, ensure_ascii=False)


# --------------------------------------------------------------------------- terminal


MAX_CHANGE_ROWS = 40  # a terminal shows this many field changes; the HTML report shows them all


def print_run(
    console: Console, report: RunReport, *, detail: bool = True, max_rows: int | None = MAX_CHANGE_ROWS
) -> None:
    plan = report.plan
    title = "Preview (dry run: nothing will be written)" if report.dry_run else f"Run {report.run_id}"
    counts = Table(title=title, show_lines=False)
    for column in ("system", "pulled", "changed", "creates", "updates", "errors"):
        counts.add_column(column, justify="left" if column == "system" else "right")
    by_system = plan.counts()
    failed_by_system: dict[str, int] = {}
    if report.push:
        for planned in plan.ops:
            if planned.op.op_id in report.push.failed:
                failed_by_system[planned.op.system] = failed_by_system.get(planned.op.system, 0) + 1
    for problem in report.problems:
        failed_by_system[problem.system] = failed_by_system.get(problem.system, 0) + 1
    for system in sorted(set(report.pulled) | set(by_system) | set(report.pull_errors)):
        counts.add_row(
            system,
            str(report.pulled.get(system, "—")),
            str(report.changed.get(system, "—")),
            str(by_system.get(system, {}).get("create", 0)),
            str(by_system.get(system, {}).get("update", 0)),
            "pull failed" if system in report.pull_errors else str(failed_by_system.get(system, 0)),
        )
    console.print(counts)
    match = plan.match
    console.print(match.summary())
    if detail and plan.ops:
        changes = Table(title="Changes", show_lines=False)
        for column in ("contact", "system", "op", "field", "current", "new", "why"):
            changes.add_column(column, overflow="fold")
        every = [(planned, change) for planned in plan.ops for change in planned.changes]
        for planned, change in every[:max_rows]:
            changes.add_row(*plain(
                planned.who, planned.op.system, planned.op.kind, change.field,
                _show(change.old), _show(change.new), change.reason,
            ))  # fmt: skip
        console.print(changes)
        if max_rows is not None and len(every) > max_rows:
            console.print(
                f"... and {len(every) - max_rows} more field changes: `--html FILE` writes them all "
                "(or `--json`)"
            )
    open_conflicts = [c for c in plan.conflicts if c.conflict.open]
    settled = [c for c in plan.conflicts if not c.conflict.open]
    if settled and detail:
        table = Table(title="Disagreements settled by a rule")
        for column in ("contact", "field", "values", "rule", "kept"):
            table.add_column(column, overflow="fold")
        for c in settled:
            values = "; ".join(f"{s}: {_show(v)}" for s, v in c.conflict.values.items())
            kept = f"{c.conflict.winner}" if c.conflict.winner else "merged"
            table.add_row(*plain(c.who, c.conflict.field, values, c.conflict.policy, kept))
        console.print(table)
    if open_conflicts:
        console.print(
            f"[bold yellow]{len(open_conflicts)} conflicts wait for a person[/] (syncengine conflicts)"
        )
    for system, error in report.pull_errors.items():
        console.print(f"[red]{escape(f'{system}: {error}')}[/]")
    failed = failed_writes(report)
    if failed:
        console.print(f"[red]{len(failed)} writes failed[/] (syncengine status lists them again)")
        print_problems(console, failed, title="Failed writes")
    if report.problems:
        print_problems(console, report.problems, title="Record problems")
    if report.warnings:
        print_problems(console, report.warnings, title="Warnings (values kept as they are, not copied)")


MAX_PROBLEM_ROWS = 20


def print_problems(
    console: Console, problems: Sequence[RecordProblem], *, title: str, max_rows: int = MAX_PROBLEM_ROWS
) -> None:
    """Record errors as a table: which system, record and field, and what a person can do about it."""
    if not problems:
        return
    table = Table(title=title)
    for column in ("system", "record", "field", "message"):
        table.add_column(column, overflow="fold")
    for problem in problems[:max_rows]:
        record = problem.remote_id or (f"entity {problem.entity_id[:8]}" if problem.entity_id else "—")
        table.add_row(*plain(problem.system, record, problem.field or "—", problem.message))
    console.print(table)
    if len(problems) > max_rows:
        console.print(f"... and {len(problems) - max_rows} more (`--json` lists them all)")


def print_conflicts(console: Console, conflicts: Iterable[Conflict]) -> None:
    conflicts = list(conflicts)
    if not conflicts:
        console.print("No conflict waits for a person.")
        return
    table = Table(title="Conflicts")
    for column in ("id", "entity", "field", "base", "values", "since", "rule", "status"):
        table.add_column(column, overflow="fold")
    for c in conflicts:
        values = "\n".join(f"{s}: {_show(v)}" for s, v in c.values.items())
        since = "\n".join(f"{s}: {t:%Y-%m-%d %H:%M}" for s, t in c.first_seen_at.items())
        status = (
            c.status if c.status == "open" else f"{c.status} ({c.resolved_by}: {_show(c.resolution_value)})"
        )
        table.add_row(
            *plain(str(c.id), c.entity_id[:8], c.field, _show(c.base_value), values, since, c.policy, status)
        )
    console.print(table)


# --------------------------------------------------------------------------- CSV (HTML: report_html)


def conflicts_csv(conflicts: Iterable[Conflict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "entity_id", "field", "base", "system", "value", "changed_at", "policy", "status"])
    for c in conflicts:
        for system, value in c.values.items():
            at = c.first_seen_at.get(system)
            writer.writerow([c.id, c.entity_id, c.field, _show(c.base_value), system, _show(value),
                             _when(at) or "", c.policy, c.status])  # fmt: skip
    return out.getvalue()
