"""Decisions become a plan: the writes one run would make, per system and record, and why.

A plan is complete before anything is written, so the dry run can show it down to the HTTP calls
(``Connector.describe``) and the push can persist every op in the outbox before it is sent.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncengine.canonical import FIELDS, SET_FIELDS, is_blank
from syncengine.connectors.base import RemoteRecord, WriteOp
from syncengine.match import MatchConflict
from syncengine.merge import EntityMerge, FieldConflict
from syncengine.mirror import RecordProblem
from syncengine.rules import Rules


@dataclass(frozen=True)
class FieldChange:
    """One field of one op: the system's current value, the value it will get, and why."""

    field: str
    old: Any
    new: Any
    reason: str


@dataclass(frozen=True)
class PlannedOp:
    op: WriteOp
    who: str  # the contact as a person reads it: "Ada Lovelace <ada@example.com>"
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class PlannedConflict:
    entity_id: str
    who: str
    conflict: FieldConflict


@dataclass(frozen=True)
class Note:
    """Something the preview shows that is not a write (a blank held back, an invalid value)."""

    entity_id: str
    who: str
    field: str
    text: str


@dataclass(frozen=True)
class Waiting:
    """A contact a system refuses for a reason only a change can remove (a required field missing,
    a duplicate of another record): not sent, not an error of the run, and looked at again only
    when the contact or the rules change. ``run_id``: the run the system refused it in, when a
    system did."""

    entity_id: str
    who: str
    system: str
    reason: str
    field: str | None = None
    kind: str = "create"
    run_id: int | None = None


@dataclass(frozen=True)
class MatchOutcome:
    linked: int = 0  # records linked to an entity that already existed
    new_entities: int = 0  # entities made from records found nowhere else, or matched only among themselves
    conflicts: tuple[MatchConflict, ...] = ()
    matched_across: int = 0  # new entities whose records were found in several systems
    only_in: Mapping[str, int] = field(default_factory=dict)  # system -> new entities found there alone
    linked_by: Mapping[str, int] = field(default_factory=dict)  # match key -> records linked by it

    def summary(self) -> str:
        """One line a person reads before the first sync writes anything."""
        alone = ", ".join(f"{s} {n}" for s, n in sorted(self.only_in.items()))
        by = ", ".join(f"{k} {n}" for k, n in sorted(self.linked_by.items()))
        return (
            f"matching: {self.matched_across} people found in several systems, "
            f"{sum(self.only_in.values())} in one system only{f' ({alone})' if alone else ''}; "
            f"{self.linked} records linked to known contacts{f' (by {by})' if by else ''}; "
            f"{len(self.conflicts)} ambiguous (left unlinked)"
        )


@dataclass
class Plan:
    ops: list[PlannedOp] = field(default_factory=list)
    conflicts: list[PlannedConflict] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    match: MatchOutcome = field(default_factory=MatchOutcome)
    waiting: list[Waiting] = field(default_factory=list)
    # Ops a run confirmed and did not keep (``Engine.run(keep_ops=False)``): (system, kind) -> count.
    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Conflicts such a run did not keep (the state holds them): "open" / "settled" -> count.
    dropped_conflicts: Counter[str] = field(default_factory=Counter)

    def extend(self, other: Plan) -> None:
        """Add a batch's plan to the run's."""
        self.ops.extend(other.ops)
        self.conflicts.extend(other.conflicts)
        self.notes.extend(other.notes)
        self.problems.extend(other.problems)
        self.waiting.extend(other.waiting)
        self.dropped.update(other.dropped)
        self.dropped_conflicts.update(other.dropped_conflicts)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{system: {"create": n, "update": m}}``."""
        out: dict[str, Counter[str]] = {}
        for planned in self.ops:
            out.setdefault(planned.op.system, Counter())[planned.op.kind] += 1
        for (system, kind), count in self.dropped.items():
            out.setdefault(system, Counter())[kind] += count
        return {system: dict(kinds) for system, kinds in sorted(out.items())}

    def ops_for(self, system: str) -> list[PlannedOp]:
        return [p for p in self.ops if p.op.system == system]


def who(values: Mapping[str, Any]) -> str:
    """A readable name for a contact from its canonical values."""
    name = " ".join(str(values[f]) for f in ("first_name", "last_name") if not is_blank(values.get(f)))
    email = values.get("email")
    if name and email:
        return f"{name} <{email}>"
    return name or str(email or values.get("phone") or "(no name)")


def update_ops(
    entity_id: str,
    merged: EntityMerge,
    links: Mapping[str, str],
    current: Mapping[str, Mapping[str, Any]],
    label: str,
    expected: Mapping[str, RemoteRecord] | None = None,
) -> list[PlannedOp]:
    """One update op per linked system that has fields to change (``current``: system -> values;
    ``expected``: the records as last pulled, which a replace-mode connector checks before writing)."""
    by_system: dict[str, list[tuple[str, Any, Any]]] = {}
    for name, decision in merged.decisions.items():
        for system, write in decision.writes.items():
            by_system.setdefault(system, []).append((name, write, decision.reason))
    planned = []
    for system in sorted(by_system):
        remote_id = links.get(system)
        if remote_id is None:
            continue
        values: dict[str, Any] = {}
        add: dict[str, frozenset[str]] = {}
        remove: dict[str, frozenset[str]] = {}
        changes = []
        for name, write, reason in sorted(by_system[system], key=lambda item: list(FIELDS).index(item[0])):
            values[name] = write.value
            if name in SET_FIELDS:
                if write.add:
                    add[name] = frozenset(write.add)
                if write.remove:
                    remove[name] = frozenset(write.remove)
            changes.append(FieldChange(name, current.get(system, {}).get(name), write.value, reason))
        op = WriteOp(
            op_id=uuid.uuid4().hex,
            system=system,
            kind="update",
            remote_id=remote_id,
            values=values,
            add=add,
            remove=remove,
            expected=(expected or {}).get(system),
            entity_id=entity_id,
        )
        planned.append(PlannedOp(op, label, tuple(changes)))
    return planned


def create_ops(
    entity_id: str,
    agreed: Mapping[str, Any],
    linked_systems: Iterable[str],
    systems: Iterable[str],
    holds: Mapping[str, frozenset[str]],
    rules: Rules,
    label: str,
) -> list[PlannedOp]:
    """Creates in the systems that lack the entity and whose create rule selects it."""
    linked = set(linked_systems)
    planned = []
    for system in systems:
        rule = rules.create.get(system)
        if system in linked or rule is None or not rule.enabled:
            continue
        if rule.when_tags_any is not None:
            tags = {t.casefold() for t in agreed.get("tags") or ()}
            if not tags & {t.casefold() for t in rule.when_tags_any}:
                continue
        held = holds.get(system, frozenset())
        values = {k: v for k, v in agreed.items() if k in held and not is_blank(v)}
        for name, default in rule.defaults.items():
            if name in held and is_blank(values.get(name)):
                values[name] = default
        op = WriteOp(op_id=uuid.uuid4().hex, system=system, kind="create", values=values, entity_id=entity_id)
        reason = f"new in {system} (create rule)"
        changes = tuple(FieldChange(name, None, value, reason) for name, value in values.items())
        planned.append(PlannedOp(op, label, changes))
    return planned
