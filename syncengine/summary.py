"""A run in a screenful: conflicts opened and settled, failures grouped by reason with the first few
examples of each, warnings likewise. The first sync of 200 contacts plans over a thousand field
changes; they are in the HTML report, ``--json`` and ``sync --detail``, not on the screen."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from syncengine.mirror import RecordProblem
from syncengine.output import SEPARATOR, one_line
from syncengine.sync import RunReport

EXAMPLES = 3  # records shown per reason
GROUPS = 10  # reasons shown; `syncengine status` and `--json` list every record

# What names one record in a message, so that the same refusal of many records reads as one reason.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_EMAIL = re.compile(r"[^\s<>()'\"]+@[^\s<>()'\";:]+")
_RECORD_ID = re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{8,}\b")


@dataclass(frozen=True)
class ProblemGroup:
    """Problems of one system and field that failed for the same reason."""

    system: str
    field: str | None
    reason: str
    problems: tuple[RecordProblem, ...]


def reason_of(message: str) -> str:
    """What went wrong, without the record it went wrong for: the message's last part (after the
    last ": ", where a system's own words are), with quoted values, e-mail addresses and record ids
    shown as "…"."""
    reason = message.rsplit(": ", 1)[-1].strip() or message
    for pattern in (_QUOTED, _EMAIL, _RECORD_ID):
        reason = pattern.sub("…", reason)
    return reason


def group_problems(problems: Iterable[RecordProblem]) -> list[ProblemGroup]:
    """Problems by system, field and reason, the largest group first."""
    groups: dict[tuple[str, str, str], list[RecordProblem]] = {}
    for p in problems:
        groups.setdefault((p.system, p.field or "", reason_of(p.message)), []).append(p)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [ProblemGroup(system, field or None, why, tuple(found)) for (system, field, why), found in ordered]


def record_of(problem: RecordProblem) -> str:
    return problem.remote_id or (f"entity {problem.entity_id[:8]}" if problem.entity_id else "—")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def print_summary(console: Console, report: RunReport, failures: Sequence[RecordProblem]) -> None:
    """After the counts: conflicts, then failures and warnings by reason (``failures``: every error
    of the run, by system, record and field)."""
    open_conflicts = max(report.open_conflicts, report.conflicts_waiting)
    settled = report.settled_conflicts
    waits = "waits" if open_conflicts == 1 else "wait"
    # Conflicts of earlier runs still wait, whether or not this run met them again.
    met = f", {report.open_conflicts} met in this run" if open_conflicts != report.open_conflicts else ""
    console.print(
        f"{_plural(open_conflicts, 'conflict')} {waits} for a person (syncengine conflicts{met}); "
        f"{_plural(settled, 'disagreement')} settled by a rule",
        markup=False,
    )
    foreseen = " foreseen" if report.dry_run else ""
    print_groups(console, f"{_plural(len(failures), 'error')}{foreseen}", failures)
    unread = "values that could not be read, kept as they are and not copied"
    print_groups(console, f"{_plural(len(report.warnings), 'warning')} ({unread})", report.warnings)
    if report.plan.waiting:
        why = (
            "not errors: looked at again when the contact or the rules change; `syncengine status` lists them"
        )
        noun = "create" if all(w.kind == "create" for w in report.plan.waiting) else "write"
        print_groups(
            console, f"{_plural(len(report.plan.waiting), noun)} wait ({why})", waiting_problems(report)
        )
    if report.waiting_records:
        console.print(
            f"{_plural(report.waiting_records, 'record')} left unlinked earlier (matching several people) "
            "still wait for a change or a person (`syncengine status`)",
            markup=False,
        )


def waiting_problems(report: RunReport) -> list[RecordProblem]:
    """The run's waiting writes, worded as problems so that they group by reason."""
    return [
        RecordProblem(
            system=w.system, message=f"{w.kind} of {w.who}: {w.reason}", entity_id=w.entity_id, field=w.field
        )
        for w in report.plan.waiting
    ]


def print_groups(console: Console, headline: str, problems: Sequence[RecordProblem]) -> None:
    """``headline``, then per reason its count and the first few records (system, record, field,
    message), one line each."""
    if not problems:
        console.print(headline, markup=False)
        return
    groups = group_problems(problems)
    console.print(f"{headline}, by reason:", markup=False)
    for group in groups[:GROUPS]:
        where = f"{group.system}, {group.field}" if group.field else group.system
        console.print(Text(f"  {len(group.problems)} × {where}: {one_line(group.reason)}"))
        for problem in group.problems[:EXAMPLES]:
            cells = (problem.system, record_of(problem), problem.field or "—", problem.message)
            console.print(Text("      " + SEPARATOR.join(one_line(cell) for cell in cells)))
        if len(group.problems) > EXAMPLES:
            console.print(f"      … and {len(group.problems) - EXAMPLES} more", markup=False)
    if len(groups) > GROUPS:
        rest = sum(len(g.problems) for g in groups[GROUPS:])
        console.print(f"  … and {rest} more for {len(groups) - GROUPS} other reasons", markup=False)
