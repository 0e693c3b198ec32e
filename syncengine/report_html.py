"""The HTML reports: the dry-run preview (or a run) and the conflict report.

Each is one self-contained file (inline CSS and script, nothing fetched), readable from disk and
easy to share. Values of different systems stand side by side; a value that differs from the agreed
one is highlighted, with the changed characters marked. Every table can be filtered by text, by
system and by field, and sorted by clicking a column header. Everything a contact holds is escaped.
"""

from __future__ import annotations

import difflib
import html
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncengine.mirror import Conflict
    from syncengine.sync import RunReport

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem 2rem;color:#1f2328;font-size:14px}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
.banner{padding:.5rem .8rem;border-radius:6px;margin:.6rem 0;background:#ddf4ff;border:1px solid #54aeff}
.banner.warn{background:#fff8c5;border-color:#d4a72c}
.summary{display:flex;gap:.6rem;flex-wrap:wrap;margin:.6rem 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.4rem .7rem;background:#f6f8fa}
.card b{font-size:1.1rem;display:block}
.filters{display:flex;gap:.6rem;flex-wrap:wrap;align-items:center;margin:.4rem 0;position:sticky;top:0;
 background:#fff;padding:.4rem 0;z-index:1}
.filters input,.filters select{font:inherit;padding:.2rem .4rem}
table{border-collapse:collapse;margin:.3rem 0 1rem;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;max-width:28rem;
 overflow-wrap:break-word}
th{background:#f6f8fa;cursor:pointer;user-select:none;white-space:nowrap}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
tr.hidden{display:none}
td.changed{background:#fff8c5}td.refused{background:#ffebe9;color:#82071e}td.new{background:#dafbe1}td.old{background:#ffebe9}
ins{background:#aceebb;text-decoration:none}del{background:#ffcecb}
.blank{color:#8c959f;font-style:italic}code{font-size:.9em;background:#f6f8fa;padding:0 .2rem}
.count{color:#59636e;font-size:.9em}
"""

_SCRIPT = """
function applyFilters(){
  const q=document.getElementById('q').value.toLowerCase();
  const sys=document.getElementById('system').value, fld=document.getElementById('field').value;
  document.querySelectorAll('table.data').forEach(t=>{
    let shown=0;
    t.querySelectorAll('tbody tr').forEach(r=>{
      const ok=(!q||r.textContent.toLowerCase().includes(q))
        &&(!sys||(r.dataset.systems||'').split(' ').includes(sys))
        &&(!fld||r.dataset.field===fld);
      r.classList.toggle('hidden',!ok); if(ok) shown++;
    });
    const c=document.getElementById(t.id+'-count'); if(c) c.textContent=shown+' shown';
  });
}
function sortBy(th){
  const table=th.closest('table'), body=table.tBodies[0], i=[...th.parentNode.children].indexOf(th);
  const asc=!th.classList.contains('asc');
  th.parentNode.querySelectorAll('th').forEach(h=>h.classList.remove('asc','desc'));
  th.classList.add(asc?'asc':'desc');
  const key=r=>{const c=r.children[i]; return c?(c.dataset.sort??c.textContent).trim():''};
  const rows=[...body.rows].sort((a,b)=>{
    const x=key(a),y=key(b),nx=parseFloat(x),ny=parseFloat(y);
    const d=(!isNaN(nx)&&!isNaN(ny)&&String(nx)===x&&String(ny)===y)?nx-ny:x.localeCompare(y);
    return asc?d:-d;});
  rows.forEach(r=>body.appendChild(r));
}
document.addEventListener('DOMContentLoaded',()=>{
  ['q','system','field'].forEach(id=>{const e=document.getElementById(id);
    if(e) e.addEventListener('input',applyFilters);});
  document.querySelectorAll('table.data th').forEach(th=>th.addEventListener('click',()=>sortBy(th)));
  applyFilters();
});
"""


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in sorted(value, key=str))
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _cell(value: Any) -> str:
    text = _text(value)
    return html.escape(text) if text else '<span class="blank">blank</span>'


def _diff(old: Any, new: Any) -> str:
    """``new`` with the characters that differ from ``old`` marked (escaped)."""
    a, b = _text(old), _text(new)
    if not b:
        return '<span class="blank">blank</span>'
    if not a or a == b:
        return html.escape(b)
    matcher = difflib.SequenceMatcher(None, a, b)
    if matcher.ratio() < 0.5:  # a different value, not an edit of the same one: mark it whole
        return f"<ins>{html.escape(b)}</ins>"
    out = []
    for op, _, _, j1, j2 in matcher.get_opcodes():
        part = html.escape(b[j1:j2])
        out.append(part if op == "equal" else f"<ins>{part}</ins>")
    return "".join(out)


def _filters(systems: Iterable[str], fields: Iterable[str]) -> str:
    def select(name: str, label: str, options: Iterable[str]) -> str:
        items = "".join(
            f'<option value="{html.escape(o)}">{html.escape(o)}</option>' for o in sorted(options)
        )
        return f'<label>{label} <select id="{name}"><option value="">all</option>{items}</select></label>'

    return (
        '<div class="filters"><label>Filter <input id="q" type="search" placeholder="name, value, rule..."'
        ' size="28"></label>'
        + select("system", "System", set(systems))
        + select("field", "Field", set(fields))
        + "</div>"
    )


def _table(table_id: str, headers: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    if not rows:
        return '<p class="blank">none</p>'
    return (
        f'<p class="count" id="{table_id}-count"></p>'
        f'<table class="data" id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _row(cells: Sequence[str], *, systems: Iterable[str] = (), field: str = "") -> str:
    attrs = f' data-systems="{html.escape(" ".join(systems))}" data-field="{html.escape(field)}"'
    return f"<tr{attrs}>{''.join(cells)}</tr>"


def _td(content: str, cls: str = "", sort: str | None = None) -> str:
    klass = f' class="{cls}"' if cls else ""
    key = f' data-sort="{html.escape(sort)}"' if sort is not None else ""
    return f"<td{klass}{key}>{content}</td>"


def _page(title: str, banner: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>"
        f"<h1>{html.escape(title)}</h1>{banner}{body}</body></html>"
    )


def _cards(items: Iterable[tuple[str, Any]]) -> str:
    return (
        '<div class="summary">'
        + "".join(f'<div class="card"><b>{html.escape(str(v))}</b>{html.escape(k)}</div>' for k, v in items)
        + "</div>"
    )


# --------------------------------------------------------------------------- the preview / a run


def _key(op: Any) -> tuple[str, str | None, str | None]:
    return (op.system, op.entity_id, op.remote_id)


def run_html(report: RunReport) -> str:
    plan = report.plan
    systems = sorted({p.op.system for p in plan.ops} | set(report.pulled))
    counts = plan.counts()
    cards = [(f"{s} creates", counts.get(s, {}).get("create", 0)) for s in systems]
    cards += [(f"{s} updates", counts.get(s, {}).get("update", 0)) for s in systems]
    cards += [("open conflicts", report.open_conflicts), ("record problems", len(plan.problems))]
    # Writes the preview foresees a system will refuse are marked where they stand, not shown as writes.
    refused = {
        (r.system, r.entity_id, r.remote_id): r.field or ""
        for r in plan.problems
        if "would be refused" in r.message
    }

    def kind(op: Any) -> str:
        field = refused.get(_key(op))
        if field is None:
            return _td(op.kind)
        return _td(f"{op.kind} <b>will be refused</b> ({html.escape(field)})", "refused")

    changes = [
        _row(
            [
                _td(html.escape(p.who)),
                _td(html.escape(p.op.system)),
                kind(p.op),
                _td(html.escape(c.field)),
                _td(_cell(c.old), "old" if c.old not in (None, "", []) else ""),
                _td(_diff(c.old, c.new), "refused" if _key(p.op) in refused else "new"),
                _td(html.escape(c.reason)),
            ],
            systems=[p.op.system],
            field=c.field,
        )
        for p in plan.ops
        for c in p.changes
    ]
    conflict_rows = []
    for planned in plan.conflicts:
        c = planned.conflict
        values = "<br>".join(
            f"<b>{html.escape(s)}</b>: {_diff(c.base, v)}" for s, v in sorted(c.values.items())
        )
        outcome = "open: waits for a person" if c.open else f"settled: {c.winner or 'merged'}"
        conflict_rows.append(
            _row(
                [
                    _td(html.escape(planned.who)),
                    _td(html.escape(c.field)),
                    _td(_cell(c.base)),
                    _td(values, "changed"),
                    _td(html.escape(c.policy)),
                    _td(html.escape(outcome)),
                ],
                systems=c.values,
                field=c.field,
            )
        )
    problems = [
        _row(
            [
                _td(html.escape(p.system)),
                _td(html.escape(p.remote_id or "")),
                _td(html.escape(p.field or "")),
                _td(html.escape(p.message)),
            ],
            systems=[p.system],
            field=p.field or "",
        )
        for p in plan.problems
    ]
    notes = [
        _row([_td(html.escape(n.who)), _td(html.escape(n.field)), _td(html.escape(n.text))], field=n.field)
        for n in plan.notes
    ]
    fields = {c.field for p in plan.ops for c in p.changes} | {c.conflict.field for c in plan.conflicts}
    body = (
        _cards(cards)
        + f'<p class="match">{html.escape(plan.match.summary())}</p>'
        + _filters(systems, fields)
        + "<h2>Changes</h2>"
        + _table("changes", ["contact", "system", "op", "field", "current", "new", "why"], changes)
        + "<h2>Disagreements</h2>"
        + _table(
            "conflicts", ["contact", "field", "agreed before", "values", "rule", "outcome"], conflict_rows
        )
        + "<h2>Record problems</h2>"
        + _table("problems", ["system", "record", "field", "message"], problems)
        + "<h2>Notes</h2>"
        + _table("notes", ["contact", "field", "note"], notes)
    )
    if report.dry_run:
        title = "syncengine preview (dry run)"
        banner = (
            '<div class="banner">Dry run: nothing was written to any system. '
            "Run <code>syncengine sync</code> to apply.</div>"
        )
    else:
        title = f"syncengine run {report.run_id}"
        warn = " warn" if report.errors else ""
        banner = f'<div class="banner{warn}">Status: {html.escape(report.status)}</div>'
    return _page(title, banner, body)


# --------------------------------------------------------------------------- conflicts


def conflicts_html(conflicts: Sequence[Conflict], who: Mapping[str, str] | None = None) -> str:
    """The conflict report; ``who`` names each entity as a person reads it (else its short id)."""
    who = who or {}
    systems = sorted({s for c in conflicts for s in c.values})
    header = [
        "id",
        "contact",
        "field",
        "agreed before",
        *systems,
        "changed at",
        "rule",
        "status",
        "to settle",
    ]
    rows = []
    for c in conflicts:
        cells = [
            _td(str(c.id), sort=f"{c.id:09d}"),
            _td(html.escape(who.get(c.entity_id, c.entity_id[:8]))),
            _td(html.escape(c.field)),
            _td(_cell(c.base_value)),
        ]
        for system in systems:
            if system not in c.values:
                cells.append(_td("", "blank"))
                continue
            value = c.values[system]
            differs = _text(value) != _text(c.base_value)
            cells.append(_td(_diff(c.base_value, value), "changed" if differs else ""))
        when = "<br>".join(f"{html.escape(s)}: {_text(t)}" for s, t in sorted(c.first_seen_at.items()))
        status = (
            c.status if c.status == "open" else f"{c.status} ({c.resolved_by}: {_text(c.resolution_value)})"
        )
        settle = " or ".join(
            f"<code>syncengine resolve {c.id} --take {html.escape(s)}</code>" for s in sorted(c.values)
        )
        cells += [
            _td(when),
            _td(html.escape(c.policy)),
            _td(html.escape(status)),
            _td(settle if c.status == "open" else ""),
        ]
        rows.append(_row(cells, systems=c.values, field=c.field))
    open_count = sum(1 for c in conflicts if c.status == "open")
    by_field = Counter(c.field for c in conflicts if c.status == "open")
    cards = [("open", open_count), ("settled", len(conflicts) - open_count)]
    cards += [(f"open on {f}", n) for f, n in by_field.most_common(6)]
    banner = (
        '<div class="banner warn">Each open conflict keeps every system\'s value until a person settles it: '
        "<code>syncengine resolve ID --take SYSTEM</code> or <code>--value V</code>; "
        "the next sync writes it.</div>"
        if open_count
        else '<div class="banner">No conflict waits for a person.</div>'
    )
    body = _cards(cards) + _filters(systems, {c.field for c in conflicts}) + _table("conflicts", header, rows)
    return _page("syncengine conflicts", banner, body)
