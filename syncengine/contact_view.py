"""One contact across the systems, as ``syncengine show`` prints it: per canonical field the agreed
(base) value beside each linked system's value as last pulled, then its open conflicts, its last
changes and the work owed to it.

Each system's value is read from the record stored in the state through that system's field map
(``Connector.to_canonical``, as a sync reads it), so nothing is asked of the systems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from syncengine import report as reports
from syncengine.canonical import FIELDS, is_blank, same
from syncengine.connectors.base import Connector, RemoteRecord
from syncengine.mirror import Conflict, HistoryEntry, Mirror, Owed
from syncengine.output import print_rows
from syncengine.plan import who

HISTORY_SHOWN = 5
OWED_PAGE = 500

DIFFERS, UNREAD = "≠ ", "? "


@dataclass(frozen=True)
class SystemValues:
    """One linked record: its canonical values, or only its raw fields when no connector reads it."""

    system: str
    remote_id: str
    raw: Mapping[str, Any] = field(default_factory=dict)
    values: dict[str, Any] | None = None  # None: not read (the system is not configured here)
    unread: dict[str, str] = field(default_factory=dict)  # field -> why its raw value was not read
    held: frozenset[str] = frozenset()  # the fields the system keeps
    state: str = ""  # "deleted ...", "never pulled", or ""


def read_systems(
    mirror: Mirror, entity_id: str, connectors: Mapping[str, Connector]
) -> list[SystemValues]:
    """Each linked system's record, read as a sync reads it (``connectors``: the systems that can
    be read here; any other shows its raw fields)."""
    stored = mirror.records_for_entity(entity_id)
    found = []
    for system, remote_id in sorted(mirror.links_of(entity_id).items()):
        record = stored.get(system)
        if record is None:
            found.append(SystemValues(system, remote_id, state="never pulled"))
            continue
        state = f"deleted {record.deleted_at:%Y-%m-%d} ({record.deleted_by})" if record.deleted_at else ""
        connector = connectors.get(system)
        if connector is None:
            found.append(SystemValues(system, remote_id, record.raw, state=state))
            continue
        remote = RemoteRecord(system, remote_id, record.raw, record.remote_updated_at)
        canonical = connector.to_canonical(remote)
        unread = {name: f"{reports._show(i.raw)}: {i.reason}" for name, i in canonical.invalid.items()}
        values = dict(canonical.values)
        found.append(SystemValues(system, remote_id, record.raw, values, unread, connector.fields, state))
    return found


def owed_to(mirror: Mirror, entity_id: str) -> list[Owed]:
    """The work later runs owe ``entity_id``, read page by page (the owed list is not indexed by entity)."""
    if entity_id not in mirror.owed_entities():
        return []
    found: list[Owed] = []
    offset = 0
    while page := mirror.owed(limit=OWED_PAGE, offset=offset):
        found += [o for o in page if o.entity_id == entity_id]
        offset += len(page)
    return found


def _cell(name: str, base: Any, values: SystemValues) -> str:
    if name in values.unread:
        return UNREAD + values.unread[name]
    assert values.values is not None
    value = values.values.get(name)
    if name not in values.held and is_blank(value):
        return "(not kept)"
    return (DIFFERS if not same(name, value, base) else "") + reports._show(value)


def print_contact(
    console: Console,
    entity_id: str,
    base: Mapping[str, Any],
    systems: Sequence[SystemValues],
    conflicts: Sequence[Conflict],
    history: Sequence[HistoryEntry],
    owed: Sequence[Owed],
) -> None:
    console.print(Text(f"{who(base)}  (entity {entity_id})", style="bold"))
    for s in systems:
        state = f" ({s.state})" if s.state else ""
        unread = "" if s.values is not None else " (not configured here: its fields as stored, below)"
        console.print(Text(f"  {s.system:<15} {s.remote_id}{state}{unread}"))
    read = [s for s in systems if s.values is not None]
    shown = [
        name for name in FIELDS
        if not is_blank(base.get(name))
        or any(not is_blank((s.values or {}).get(name)) or name in s.unread for s in read)
    ]  # fmt: skip
    cells = {name: [_cell(name, base.get(name), s) for s in read] for name in shown}
    print_rows(
        console, "Values", ("field", "agreed", *(s.system for s in read)),
        [(name, reports._show(base.get(name)), *cells[name]) for name in shown],
    )  # fmt: skip
    marked = {mark for row in cells.values() for c in row for mark in (DIFFERS, UNREAD) if c.startswith(mark)}
    legend = {DIFFERS: "≠ differs from the agreed value", UNREAD: "? stored, but not readable (why follows)"}
    if marked:
        console.print("  " + "; ".join(legend[m] for m in (DIFFERS, UNREAD) if m in marked), markup=False)
    for s in systems:
        if s.values is None and s.raw:
            print_rows(
                console, f"{s.system} record {s.remote_id} as stored", ("field", "value"),
                [(key, reports._show(value)) for key, value in s.raw.items() if not is_blank(value)],
            )  # fmt: skip
    if conflicts:
        reports.print_conflicts(console, conflicts)
    else:
        console.print("No open conflict.")
    if history:
        newest = sorted(history, key=lambda e: (e.at is not None, e.at, e.run_id or 0), reverse=True)
        reports.print_history(
            console, newest[:HISTORY_SHOWN][::-1],
            title=f"Last changes ({min(HISTORY_SHOWN, len(history))} of {len(history)}; "
            f"`syncengine history --entity {entity_id}` lists them all)",
        )  # fmt: skip
    for o in owed:
        where = f" ({o.system})" if o.system else ""
        console.print(Text(f"owed to the next run: {o.reason}{where}: {o.detail}"))


def print_candidates(console: Console, query: str, bases: Mapping[str, Mapping[str, Any]],
                     links: Mapping[str, Mapping[str, str]]) -> None:  # fmt: skip
    """Several contacts match ``query``: each with its id, name, email and systems."""
    print_rows(
        console, f"{len(bases)} contacts match {query!r}", ("id", "name", "email", "systems"),
        [
            (entity_id, " ".join(str(b[f]) for f in ("first_name", "last_name") if not is_blank(b.get(f))),
             str(b.get("email") or "—"), ", ".join(sorted(links.get(entity_id, {}))))
            for entity_id, b in bases.items()
        ],
    )  # fmt: skip
