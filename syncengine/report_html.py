"""The HTML reports: the dry-run preview (or a run) and the conflict report, from Jinja2 templates.

Each is one self-contained file (inline CSS and script, nothing fetched), readable from disk and
easy to share. Values of different systems stand side by side; a value that differs from the agreed
one is highlighted, with the changed characters marked. Every table can be filtered by text, by
system and by field, and sorted by clicking a column header.

The templates live in ``syncengine/templates`` and are shared with the web app (``syncengine
serve``), which renders the same tables and values through the same filters. Autoescaping is on:
everything a contact holds is escaped; only the filters below build markup, from escaped parts.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

if TYPE_CHECKING:
    from syncengine.mirror import Conflict
    from syncengine.sync import RunReport

BLANK = Markup('<span class="blank">blank</span>')


def text(value: Any) -> str:
    """A value as one line of text: lists sorted and joined, objects as JSON, times to the minute."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in sorted(value, key=str))
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def cell(value: Any) -> Markup:
    shown = text(value)
    return escape(shown) if shown else BLANK


def diff(old: Any, new: Any) -> Markup:
    """``new`` with the characters that differ from ``old`` marked (escaped)."""
    a, b = text(old), text(new)
    if not b:
        return BLANK
    if not a or a == b:
        return escape(b)
    matcher = difflib.SequenceMatcher(None, a, b)
    if matcher.ratio() < 0.5:  # a different value, not an edit of the same one: mark it whole
        return Markup("<ins>{}</ins>").format(b)
    parts = [
        escape(b[j1:j2]) if op == "equal" else Markup("<ins>{}</ins>").format(b[j1:j2])
        for op, _, _, j1, j2 in matcher.get_opcodes()
    ]
    return Markup("").join(parts)


def _filled(value: Any) -> bool:
    return value not in (None, "", [])


@cache
def environment() -> Environment:
    """The templates of the reports and of the web app, autoescaped, with the value filters."""
    env = Environment(
        loader=PackageLoader("syncengine", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=False,
    )
    env.filters.update(text=text, cell=cell, diff=diff, filled=_filled)
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


# --------------------------------------------------------------------------- the preview / a run


def run_tables(report: RunReport) -> dict[str, Any]:
    """The rows of a run's tables (changes, disagreements, problems, notes), as the templates take them."""
    plan = report.plan
    # Writes the preview foresees a system will refuse are marked where they stand, not shown as writes.
    refused = {
        (r.system, r.entity_id, r.remote_id): r.field or ""
        for r in plan.problems
        if "would be refused" in r.message
    }
    changes = [
        {
            "who": p.who, "system": p.op.system, "kind": p.op.kind, "field": c.field, "old": c.old,
            "new": c.new, "reason": c.reason, "entity_id": p.op.entity_id, "op_id": p.op.op_id,
            "refused": refused.get((p.op.system, p.op.entity_id, p.op.remote_id)),
        }
        for p in plan.ops
        for c in p.changes
    ]  # fmt: skip
    disagreements = [
        {
            "who": planned.who, "field": planned.conflict.field, "base": planned.conflict.base,
            "sides": sorted(planned.conflict.values.items()), "systems": sorted(planned.conflict.values),
            "policy": planned.conflict.policy, "entity_id": planned.entity_id,
            "outcome": "open: waits for a person" if planned.conflict.open
            else f"settled: {planned.conflict.winner or 'merged'}",
        }
        for planned in plan.conflicts
    ]  # fmt: skip
    return {
        "changes": changes, "disagreements": disagreements, "problems": plan.problems, "notes": plan.notes
    }


def run_html(report: RunReport) -> str:
    plan = report.plan
    systems = sorted({p.op.system for p in plan.ops} | set(report.pulled))
    counts = plan.counts()
    cards = [(f"{s} creates", counts.get(s, {}).get("create", 0)) for s in systems]
    cards += [(f"{s} updates", counts.get(s, {}).get("update", 0)) for s in systems]
    cards += [("open conflicts", report.open_conflicts), ("record problems", len(plan.problems))]
    fields = {c.field for p in plan.ops for c in p.changes} | {c.conflict.field for c in plan.conflicts}
    title = "syncengine preview (dry run)" if report.dry_run else f"syncengine run {report.run_id}"
    return render(
        "report/run.html", title=title, dry_run=report.dry_run, status=report.status, errors=report.errors,
        card_items=cards, match=plan.match.summary(), systems=systems, fields=fields, **run_tables(report),
    )  # fmt: skip


# --------------------------------------------------------------------------- conflicts


def conflict_rows(conflicts: Sequence[Conflict], who: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id, "entity_id": c.entity_id, "who": who.get(c.entity_id, c.entity_id[:8]),
            "field": c.field, "base": c.base_value, "sides": c.values, "systems": sorted(c.values),
            "seen": sorted(c.first_seen_at.items()), "policy": c.policy, "open": c.status == "open",
            "status": c.status if c.status == "open"
            else f"{c.status} ({c.resolved_by}: {text(c.resolution_value)})",
        }
        for c in conflicts
    ]  # fmt: skip


def conflicts_html(conflicts: Sequence[Conflict], who: Mapping[str, str] | None = None) -> str:
    """The conflict report; ``who`` names each entity as a person reads it (else its short id)."""
    open_count = sum(1 for c in conflicts if c.status == "open")
    by_field = Counter(c.field for c in conflicts if c.status == "open")
    cards = [("open", open_count), ("settled", len(conflicts) - open_count)]
    cards += [(f"open on {f}", n) for f, n in by_field.most_common(6)]
    return render(
        "report/conflicts.html", title="syncengine conflicts", open_count=open_count, card_items=cards,
        systems=sorted({s for c in conflicts for s in c.values}), fields={c.field for c in conflicts},
        rows=conflict_rows(conflicts, who or {}),
    )  # fmt: skip
