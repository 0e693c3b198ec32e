"""Properties of the merge that make a sync converge and never lose a value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from strategies import canonical_values

from syncengine.canonical import is_blank, same
from syncengine.merge import UNCHANGED, Side, merge_field
from syncengine.rules import FieldRule

SYSTEMS = ("apollo", "leadconnector", "corporatemerch")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = ("title", "email", "tags", "phone")
POLICIES = st.sampled_from(("prefer", "newest", "manual"))


@st.composite
def situations(draw: st.DrawFn) -> tuple[str, Any, dict[str, Side], FieldRule]:
    name = draw(st.sampled_from(FIELDS))
    value = st.one_of(st.none(), canonical_values(name))
    base = draw(value)
    sides = {
        s: Side(s, draw(st.one_of(st.just(base), value)), T0 + timedelta(minutes=draw(st.integers(0, 5))))
        for s in draw(st.lists(st.sampled_from(SYSTEMS), min_size=2, max_size=3, unique=True))
    }
    policy = "union" if name == "tags" and draw(st.booleans()) else draw(POLICIES)
    return name, base, sides, FieldRule(policy, draw(st.booleans()))


def apply(decision: Any, sides: dict[str, Side]) -> dict[str, Side]:
    return {s: Side(s, decision.writes[s].value, side.changed_at) if s in decision.writes else side
            for s, side in sides.items()}  # fmt: skip


@given(situations())
def test_merging_again_after_the_writes_changes_nothing(case: tuple) -> None:
    name, base, sides, rule = case
    decision = merge_field(name, base, sides, rule, SYSTEMS, has_base=True)
    if decision.new_base is UNCHANGED:
        return
    again = merge_field(name, decision.new_base, apply(decision, sides), rule, SYSTEMS, has_base=True)
    assert again.writes == {} and again.conflict is None


@given(situations())
def test_a_first_link_settles_so_that_the_next_merge_writes_nothing(case: tuple) -> None:
    name, _, sides, rule = case
    first = merge_field(name, None, sides, rule, SYSTEMS, has_base=False)
    if first.new_base is UNCHANGED:
        return
    again = merge_field(name, first.new_base, apply(first, sides), rule, SYSTEMS, has_base=True)
    assert again.writes == {} and again.conflict is None


@given(situations())
def test_a_one_sided_change_wins(case: tuple) -> None:
    name, base, sides, rule = case
    first, *others = sides
    sides = {s: (side if s == first else Side(s, base, side.changed_at)) for s, side in sides.items()}
    decision = merge_field(name, base, sides, rule, SYSTEMS, has_base=True)
    value = sides[first].value
    if same(name, value, base) or (is_blank(value) and not rule.allow_blank):
        assert decision.writes == {}
    else:
        assert same(name, decision.target, value)
        assert set(decision.writes) == set(others)


@given(situations())
def test_manual_never_writes_a_conflicting_field(case: tuple) -> None:
    name, base, sides, rule = case
    decision = merge_field(name, base, sides, FieldRule("manual", rule.allow_blank), SYSTEMS, has_base=True)
    if decision.conflict is not None:
        assert decision.writes == {} and decision.conflict.open


@given(situations())
def test_side_order_does_not_change_the_outcome(case: tuple) -> None:
    name, base, sides, rule = case
    forward = merge_field(name, base, sides, rule, SYSTEMS, has_base=True)
    backward = merge_field(name, base, dict(reversed(list(sides.items()))), rule, SYSTEMS, has_base=True)
    assert same(name, forward.target, backward.target) and set(forward.writes) == set(backward.writes)
    assert forward.reason == backward.reason


@given(situations())
def test_no_value_is_lost_without_a_trace(case: tuple) -> None:
    name, base, sides, rule = case
    decision = merge_field(name, base, sides, rule, SYSTEMS, has_base=True)
    for system in decision.writes:
        old = sides[system].value
        overwritten_is_traced = (
            old is None or same(name, old, base)
            or (decision.conflict is not None and system in decision.conflict.values)
        )  # fmt: skip
        assert overwritten_is_traced, (system, old)


TAG_SETS = st.lists(st.sampled_from("abcdef"), unique=True)


@given(TAG_SETS, st.lists(TAG_SETS, min_size=2, max_size=3), st.booleans())
def test_union_is_base_plus_every_addition_minus_every_removal(
    base: list[str], values: list[list[str]], allow_blank: bool
) -> None:
    sides = {s: Side(s, sorted(v), T0) for s, v in zip(SYSTEMS, values, strict=False)}
    decision = merge_field(
        "tags", sorted(base), sides, FieldRule("union", allow_blank), SYSTEMS, has_base=True
    )
    # An emptied list is no opinion unless blanking is allowed.
    counted = [v for v in values if v or allow_blank]
    added = set().union(*(set(v) - set(base) for v in counted))
    removed = set().union(*(set(base) - set(v) for v in counted))
    expected = sorted((set(base) | added) - removed)
    if decision.conflict is not None:
        assert decision.target == expected
