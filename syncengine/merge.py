"""Three-way merge per entity and canonical field, against the stored base, for any number of systems.

A side *changed* a field when its value is not the same as the base (``canonical.same``). One
changed value, or several equal ones, wins and is written to every side that differs. Different
changed values are a conflict, settled by the field's policy: ``prefer`` (system order), ``newest``
(latest change), ``union`` (sets: base plus every side's additions minus every side's removals) or
``manual`` (left open; nothing written). A blank is "no opinion" unless the field allows blanking,
and a value that could not be normalised is never propagated. Without a base (the first link of
records) blanks are filled; differences go to the prefer order (sets are merged, a ``manual``
field is left open), each shown as a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncengine.canonical import SET_FIELDS, is_blank, key, same
from syncengine.rules import FieldRule, Rules


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()  # a decision's new_base when the base must stay as it is


@dataclass(frozen=True)
class Side:
    """One system's current value of a field, and when that value was seen changed."""

    system: str
    value: Any
    changed_at: datetime | None = None
    invalid: bool = False


@dataclass(frozen=True)
class Write:
    """The value a system must get; for a set, also the members to add and remove."""

    value: Any
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FieldConflict:
    field: str
    base: Any
    values: Mapping[str, Any]
    changed_at: Mapping[str, datetime | None]
    policy: str
    open: bool  # True: waits for a person; False: settled by the policy
    winner: str | None = None


@dataclass(frozen=True)
class Resolution:
    """A person's choice for an open conflict."""

    value: Any


@dataclass(frozen=True)
class FieldDecision:
    field: str
    target: Any
    writes: Mapping[str, Write]
    new_base: Any
    reason: str
    conflict: FieldConflict | None = None
    notes: tuple[str, ...] = ()

    def is_noop(self) -> bool:
        """Nothing to write, store or show."""
        return not self.writes and self.conflict is None and not self.notes and self.new_base is UNCHANGED


@dataclass
class EntityMerge:
    decisions: dict[str, FieldDecision] = field(default_factory=dict)


def _set_write(name: str, current: Any, target: Any) -> Write:
    if name not in SET_FIELDS:
        return Write(target)
    have = {str(m).casefold(): m for m in current or []}
    want = {str(m).casefold(): m for m in target or []}
    return Write(
        target,
        frozenset(want[k] for k in want.keys() - have.keys()),
        frozenset(have[k] for k in have.keys() - want.keys()),
    )


def _union(base: Any, values: Sequence[Any], adding: Sequence[Any] = ()) -> list[str]:
    """Three-way set merge: base plus every side's additions minus every side's removals.
    ``adding``: sets that only add (a record linked in this run never held the base's members, so
    what it lacks was never removed)."""
    base_keys = {str(m).casefold(): m for m in base or []}
    result = dict(base_keys)
    for value, removes in [(v, True) for v in values] + [(v, False) for v in adding]:
        members = {str(m).casefold(): m for m in value or []}
        for k, m in members.items():
            if k not in base_keys:
                result.setdefault(k, m)
        for k in base_keys.keys() - members.keys() if removes else ():
            result.pop(k, None)
    return sorted(result.values(), key=lambda m: (str(m).casefold(), str(m)))


def _winner(policy: str, candidates: Mapping[str, Side], order: Sequence[str]) -> str:
    ranked = [s for s in order if s in candidates] + sorted(s for s in candidates if s not in order)
    if policy == "newest":
        stamps = [candidates[s].changed_at for s in ranked]
        known = [t for t in stamps if t is not None]
        if known:
            latest = max(known)
            return next(s for s in ranked if candidates[s].changed_at == latest)
    return ranked[0]


def _writes(name: str, target: Any, sides: Mapping[str, Side], skip: set[str]) -> dict[str, Write]:
    return {
        s: _set_write(name, side.value, target)
        for s, side in sides.items()
        if s not in skip and not same(name, side.value, target)
    }


def merge_field(
    name: str,
    base: Any,
    sides: Mapping[str, Side],
    rule: FieldRule,
    order: Sequence[str],
    *,
    has_base: bool,
    resolution: Resolution | None = None,
    fresh: frozenset[str] = frozenset(),
) -> FieldDecision:
    """The decision for one field; :meth:`FieldDecision.is_noop` tells when there is nothing to do.
    ``fresh``: systems whose record was linked to the entity in this run; a blank there is a value
    the record never had, not one a person cleared, so it is filled."""
    invalid = {s for s, side in sides.items() if side.invalid}
    notes = [f"{s} holds a value that could not be read; it is not copied" for s in sorted(invalid)]
    valid = {s: side for s, side in sides.items() if s not in invalid}
    if resolution is not None:
        target = resolution.value
        writes = _writes(name, target, valid, set())
        return FieldDecision(name, target, writes, target, "settled by a person", None, tuple(notes))
    if not has_base:
        return _initial(name, valid, rule, order, notes)
    changed = {s: side for s, side in valid.items() if not same(name, side.value, base)}
    held = set()
    unfilled = {s for s, side in changed.items() if s in fresh and is_blank(side.value)}
    changed = {s: side for s, side in changed.items() if s not in unfilled}
    if not rule.allow_blank:
        held = {s for s, side in changed.items() if is_blank(side.value)}
        notes += [f"{s} cleared it; the value is kept elsewhere (blanking not allowed)" for s in sorted(held)]
        changed = {s: side for s, side in changed.items() if s not in held}
    held |= unfilled
    if changed and set(changed) <= fresh and name not in SET_FIELDS:
        # Only a newly linked record disagrees with what the others agreed: that is a first link,
        # settled as one (fill, then prefer; a manual field stays open), not a change to spread.
        return _initial(name, valid, rule, order, notes)
    if not changed:
        if unfilled and not is_blank(base):
            fills = {s: _set_write(name, valid[s].value, base) for s in sorted(unfilled)}
            return FieldDecision(name, base, fills, UNCHANGED, f"filled in {', '.join(sorted(unfilled))} "
                                 "(newly linked)", None, tuple(notes))  # fmt: skip
        return FieldDecision(name, base, {}, UNCHANGED, "unchanged", None, tuple(notes))
    if name in SET_FIELDS and set(changed) & fresh:
        # A newly linked record's set only adds: what it lacks was never removed by anyone.
        target = _union(
            base,
            [side.value for s, side in valid.items() if s not in held and s not in fresh],
            [side.value for s, side in valid.items() if s not in held and s in fresh],
        )
        writes = _writes(name, target, valid, set())
        return FieldDecision(name, target, writes, target, "merged with a newly linked record", None,
                             tuple(notes))  # fmt: skip
    distinct: dict[Any, list[str]] = {}
    for s in [s for s in order if s in changed] + sorted(s for s in changed if s not in order):
        distinct.setdefault(key(name, changed[s].value), []).append(s)
    conflict = None
    if len(distinct) == 1:
        first = next(iter(distinct.values()))[0]
        target = changed[first].value
        reason = f"{', '.join(next(iter(distinct.values())))} changed"
    else:
        values = {s: side.value for s, side in changed.items()}
        stamps = {s: side.changed_at for s, side in changed.items()}
        if rule.policy == "manual":
            conflict = FieldConflict(name, base, values, stamps, "manual", open=True)
            return FieldDecision(
                name, base, {}, UNCHANGED, "conflict: left for a person", conflict, tuple(notes)
            )
        if rule.policy == "union" and name in SET_FIELDS:
            # Held blanks stay out: clearing every tag is no opinion unless blanking is allowed.
            target = _union(
                base,
                [side.value for s, side in valid.items() if s not in held and s not in fresh],
                [side.value for s, side in valid.items() if s not in held and s in fresh],
            )
            conflict = FieldConflict(name, base, values, stamps, "union", open=False)
            reason = "union"
        else:
            winner = _winner(rule.policy, changed, order)
            target = changed[winner].value
            conflict = FieldConflict(name, base, values, stamps, rule.policy, open=False, winner=winner)
            reason = f"conflict: {rule.policy} ({winner})"
    # A side that cleared the field gets the new value too: its blank was no opinion.
    writes = _writes(name, target, valid, set())
    return FieldDecision(name, target, writes, target, reason, conflict, tuple(notes))


def _initial(
    name: str, valid: Mapping[str, Side], rule: FieldRule, order: Sequence[str], notes: list[str]
) -> FieldDecision:
    """First link: no agreed value yet. Blanks are filled; differences go to the field's policy, but
    ``newest`` reads as ``prefer`` since records that were never synced carry no comparable change time."""
    present = {s: side for s, side in valid.items() if not is_blank(side.value)}
    if not present:
        return FieldDecision(name, None, {}, UNCHANGED, "initial: blank everywhere", None, tuple(notes))
    distinct = {key(name, side.value) for side in present.values()}
    conflict = None
    if len(distinct) == 1:
        source = _winner("prefer", present, order)
        target = present[source].value
        blanks = sorted(set(valid) - set(present))
        reason = f"initial: filled from {source}" if blanks else "initial: all agree"
    else:
        values = {s: side.value for s, side in present.items()}
        stamps = {s: side.changed_at for s, side in present.items()}
        if rule.policy == "manual":
            conflict = FieldConflict(name, None, values, stamps, "manual", open=True)
            return FieldDecision(
                name, None, {}, UNCHANGED, "initial: left for a person", conflict, tuple(notes)
            )
        if name in SET_FIELDS:
            target = _union(None, list(values.values()))
            conflict = FieldConflict(name, None, values, stamps, "union", open=False)
            reason = "initial: union"
        else:
            winner = _winner("prefer", present, order)
            target = present[winner].value
            conflict = FieldConflict(name, None, values, stamps, "prefer", open=False, winner=winner)
            reason = f"initial: prefer ({winner})"
    return FieldDecision(
        name, target, _writes(name, target, valid, set()), target, reason, conflict, tuple(notes)
    )


def merge_entity(
    base: Mapping[str, Any],
    has_base: set[str] | frozenset[str],
    sides: Mapping[str, Mapping[str, Side]],
    rules: Rules,
    *,
    resolutions: Mapping[str, Resolution] | None = None,
    holds: Mapping[str, frozenset[str]] | None = None,
    fresh: frozenset[str] = frozenset(),
) -> EntityMerge:
    """Decisions for every field any side or the base has. ``sides``: system -> field -> Side;
    ``holds``: the fields each system can hold (others are never written to it nor count there);
    ``fresh``: systems whose record was first linked in this run (their blanks are filled)."""
    resolutions = resolutions or {}
    names = set(base) | {n for fields in sides.values() for n in fields} | set(resolutions)
    merged = EntityMerge()
    for name in sorted(names):
        field_sides = {
            system: fields.get(name, Side(system, None))
            for system, fields in sides.items()
            if holds is None or name in holds.get(system, frozenset())
        }
        if not field_sides:
            continue
        decision = merge_field(
            name, base.get(name), field_sides, rules.field(name), rules.order(name),
            has_base=name in has_base, resolution=resolutions.get(name), fresh=fresh,
        )  # fmt: skip
        if not decision.is_noop():
            merged.decisions[name] = decision
    return merged
