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
from rich.text import Text

from syncengine.connectors.base import HttpCall
from syncengine.mirror import Conflict, HistoryEntry, RecordProblem
from syncengine.output import print_rows
from syncengine.plan import Plan
from syncengine.report_html import conflicts_html, run_html
from syncengine.summary import print_summary, record_of
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
        # Creates a system refuses for a reason only a change removes: not errors, not sent again
        # until the contact or the rules change.
        "waiting": [
            {
                "entity_id": w.entity_id,
                "contact": w.who,
                "system": w.system,
                "kind": w.kind,
                "field": w.field,
                "reason": w.reason,
            }
            for w in plan.waiting
        ],
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
    data["waiting_records"] = report.waiting_records  # left unlinked earlier, nothing about them changed
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


def failures(report: RunReport, stored: Iterable[RecordProblem] = ()) -> list[RecordProblem]:
    """Every error of a run by system, record and field: systems that could not be read, records
    and writes refused or held back, failed writes, and fields a write left out."""
    found = [RecordProblem(system=system, message=error) for system, error in report.pull_errors.items()]
    found += report.problems + failed_writes(report, stored)
    if report.push and report.push.left_out:
        planned = {p.op.op_id: p for p in report.plan.ops}
        for op_id, fields in report.push.left_out.items():
            if (p := planned.get(op_id)) is None:
                continue
            found += [
                RecordProblem(
                    system=p.op.system, message=f"{p.op.kind} of {p.who}: {why}", remote_id=p.op.remote_id,
                    entity_id=p.op.entity_id, field=name or None, run_id=report.run_id,
                )
                for name, why in fields.items()
            ]  # fmt: skip
    return found


def print_run(
    console: Console,
    report: RunReport,
    *,
    detail: bool = True,
    max_rows: int | None = MAX_CHANGE_ROWS,
    stored: Iterable[RecordProblem] = (),
) -> None:
    """Counts per system and kind of op, then every change (``detail``) or a summary: conflicts,
    errors and warnings grouped by reason. ``stored``: the run's record errors in the state."""
    plan = report.plan
    title = "Preview (dry run: nothing will be written)" if report.dry_run else f"Run {report.run_id}"
    by_system = plan.counts()
    failed_by_system: dict[str, int] = {}
    if report.push:
        for planned in plan.ops:
            if planned.op.op_id in report.push.failed:
                failed_by_system[planned.op.system] = failed_by_system.get(planned.op.system, 0) + 1
    for problem in report.problems:
        failed_by_system[problem.system] = failed_by_system.get(problem.system, 0) + 1
    print_rows(
        console, title, ("system", "pulled", "changed", "creates", "updates", "errors"),
        [
            (
                system,
                str(report.pulled.get(system, "—")),
                str(report.changed.get(system, "—")),
                str(by_system.get(system, {}).get("create", 0)),
                str(by_system.get(system, {}).get("update", 0)),
                "pull failed" if system in report.pull_errors else str(failed_by_system.get(system, 0)),
            )
            for system in sorted(set(report.pulled) | set(by_system) | set(report.pull_errors))
        ],
        right=("pulled", "changed", "creates", "updates", "errors"),
    )  # fmt: skip
    console.print(plan.match.summary(), markup=False)
    if not detail:
        print_summary(console, report, failures(report, stored))
        return
    if plan.ops:
        every = [(planned, change) for planned in plan.ops for change in planned.changes]
        print_rows(
            console, "Changes", ("contact", "system", "op", "field", "current", "new", "why"),
            [
                (planned.who, planned.op.system, planned.op.kind, change.field, _show(change.old),
                 _show(change.new), change.reason)
                for planned, change in every[:max_rows]
            ],
        )  # fmt: skip
        if max_rows is not None and len(every) > max_rows:
            console.print(
                f"... and {len(every) - max_rows} more field changes: `--html FILE` writes them all "
                "(or `--json`)"
            )
    open_conflicts = [c for c in plan.conflicts if c.conflict.open]
    settled = [c for c in plan.conflicts if not c.conflict.open]
    if settled:
        print_rows(
            console, "Disagreements settled by a rule", ("contact", "field", "values", "rule", "kept"),
            [
                (c.who, c.conflict.field, [f"{s}: {_show(v)}" for s, v in c.conflict.values.items()],
                 c.conflict.policy, c.conflict.winner or "merged")
                for c in settled
            ],
        )  # fmt: skip
    if open_conflicts:
        console.print(
            f"[bold yellow]{len(open_conflicts)} conflicts wait for a person[/] (syncengine conflicts)"
        )
    for system, error in report.pull_errors.items():
        console.print(f"[red]{escape(f'{system}: {error}')}[/]")
    failed = failed_writes(report, stored)
    if failed:
        console.print(f"[red]{len(failed)} writes failed[/] (syncengine status lists them again)")
        print_problems(console, failed, title="Failed writes")
    if report.problems:
        print_problems(console, report.problems, title="Record problems")
    if report.warnings:
        print_problems(console, report.warnings, title="Warnings (values kept as they are, not copied)")
    if report.plan.waiting:
        waiting = [
            RecordProblem(
                system=w.system,
                message=f"{w.kind} of {w.who}: {w.reason}",
                entity_id=w.entity_id,
                field=w.field,
            )
            for w in report.plan.waiting
        ]
        print_problems(console, waiting, title="Waiting for a change (not sent; not errors)")


MAX_PROBLEM_ROWS = 20


def print_problems(
    console: Console, problems: Sequence[RecordProblem], *, title: str, max_rows: int = MAX_PROBLEM_ROWS
) -> None:
    """Record errors, one row each: which system, record and field, and what a person can do about it."""
    if not problems:
        return
    print_rows(
        console, title, ("system", "record", "field", "message"),
        [(p.system, record_of(p), p.field or "—", p.message) for p in problems[:max_rows]],
    )  # fmt: skip
    if len(problems) > max_rows:
        console.print(f"... and {len(problems) - max_rows} more (`--json` lists them all)")


def print_conflicts(console: Console, conflicts: Iterable[Conflict]) -> None:
    conflicts = list(conflicts)
    if not conflicts:
        console.print("No conflict waits for a person.")
        return
    print_rows(
        console, "Conflicts", ("id", "entity", "field", "base", "values", "since", "rule", "status"),
        [
            (
                str(c.id), c.entity_id[:8], c.field, _show(c.base_value),
                [f"{s}: {_show(v)}" for s, v in c.values.items()],
                [f"{s}: {t:%Y-%m-%d %H:%M}" for s, t in c.first_seen_at.items()],
                c.policy,
                _status(c),
            )
            for c in conflicts
        ],
    )  # fmt: skip


def print_history(console: Console, entries: Iterable[HistoryEntry], *, title: str = "History") -> None:
    print_rows(
        console, title, ("run", "at", "entity", "system", "field", "old", "new", "why"),
        [
            (str(e.run_id), f"{e.at:%Y-%m-%d %H:%M:%S}" if e.at else "", e.entity_id[:8], e.system or "base",
             e.field, _show(e.old_value), _show(e.new_value), e.reason)
            for e in entries
        ],
    )  # fmt: skip


def _status(c: Conflict) -> str:
    return c.status if c.status == "open" else f"{c.status} ({c.resolved_by}: {_show(c.resolution_value)})"


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
