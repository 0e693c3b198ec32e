"""The three-way merge, one behaviour per test: changes, conflicts per policy, blanks, first links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncengine.merge import UNCHANGED, Resolution, Side, merge_entity, merge_field
from syncengine.rules import FieldRule, Rules

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ORDER = ("apollo", "leadconnector", "corporatemerch")


def sides(**values: object) -> dict[str, Side]:
    return {s: Side(s, v, T0) for s, v in values.items()}


def test_one_changed_side_wins_and_is_written_to_the_others() -> None:
    d = merge_field(
        "title", "CEO", sides(apollo="CTO", leadconnector="CEO"), FieldRule(), ORDER, has_base=True
    )

    assert d.target == "CTO" and d.new_base == "CTO"
    assert set(d.writes) == {"leadconnector"} and d.conflict is None
    assert d.reason == "apollo changed"


def test_nothing_changed_is_a_noop() -> None:
    d = merge_field(
        "title", "CEO", sides(apollo="CEO", leadconnector="CEO"), FieldRule(), ORDER, has_base=True
    )
    assert d.is_noop() and d.new_base is UNCHANGED


def test_equal_changes_on_several_sides_agree_without_a_conflict() -> None:
    d = merge_field("email", "a@x.io", sides(apollo="b@x.io", leadconnector="B@X.io"), FieldRule(), ORDER,
                    has_base=True)  # fmt: skip
    assert d.conflict is None and d.writes == {}


def test_newest_change_wins_a_conflict_and_the_conflict_is_recorded_as_settled() -> None:
    both = {
        "apollo": Side("apollo", "A", T0),
        "leadconnector": Side("leadconnector", "L", T0 + timedelta(hours=1)),
    }

    d = merge_field("title", "base", both, FieldRule("newest"), ORDER, has_base=True)

    assert d.target == "L" and set(d.writes) == {"apollo"}
    assert d.conflict is not None and not d.conflict.open and d.conflict.winner == "leadconnector"
    assert d.conflict.values == {"apollo": "A", "leadconnector": "L"}


def test_prefer_follows_the_system_order_or_the_fields_own_list() -> None:
    both = sides(apollo="A", leadconnector="L")
    assert merge_field("title", "b", both, FieldRule("prefer"), ORDER, has_base=True).target == "A"
    reordered = ("leadconnector", "apollo")
    assert merge_field("title", "b", both, FieldRule("prefer"), reordered, has_base=True).target == "L"


def test_manual_leaves_the_conflict_open_and_writes_nothing() -> None:
    d = merge_field(
        "title", "b", sides(apollo="A", leadconnector="L"), FieldRule("manual"), ORDER, has_base=True
    )

    assert d.writes == {} and d.new_base is UNCHANGED
    assert d.conflict is not None and d.conflict.open


def test_union_keeps_every_sides_additions_and_removals() -> None:
    base = ["a", "b", "c"]
    both = sides(apollo=["a", "b", "c", "x"], leadconnector=["a", "c"])
    d = merge_field("tags", base, both, FieldRule("union"), ORDER, has_base=True)

    assert d.target == ["a", "c", "x"] and d.reason == "union"
    assert d.writes["apollo"].remove == frozenset({"b"})
    assert d.writes["leadconnector"].add == frozenset({"x"})


def test_a_blank_does_not_erase_the_others_unless_allowed() -> None:
    held = merge_field(
        "title", "CEO", sides(apollo=None, leadconnector="CEO"), FieldRule(), ORDER, has_base=True
    )
    assert held.writes == {} and held.new_base is UNCHANGED and held.notes

    allowed = FieldRule(allow_blank=True)
    cleared = merge_field(
        "title", "CEO", sides(apollo=None, leadconnector="CEO"), allowed, ORDER, has_base=True
    )
    assert set(cleared.writes) == {"leadconnector"} and cleared.target is None


def test_clearing_every_tag_does_not_erase_the_others_tags_unless_allowed() -> None:
    both = sides(apollo=[], leadconnector=["a", "b", "x"])
    kept = merge_field("tags", ["a", "b"], both, FieldRule("union"), ORDER, has_base=True)
    assert kept.target == ["a", "b", "x"] and set(kept.writes) == {"apollo"}

    allowed = merge_field("tags", ["a", "b"], both, FieldRule("union", True), ORDER, has_base=True)
    assert allowed.target == ["x"] and allowed.writes["leadconnector"].remove == frozenset({"a", "b"})


def test_a_manual_field_without_a_base_is_left_open() -> None:
    d = merge_field("title", None, sides(apollo="CTO", leadconnector="CEO"), FieldRule("manual"), ORDER,
                    has_base=False)  # fmt: skip
    assert d.writes == {} and d.conflict is not None and d.conflict.open


def test_without_a_base_sets_are_merged() -> None:
    d = merge_field("tags", None, sides(apollo=["a"], leadconnector=["B"]), FieldRule("union"), ORDER,
                    has_base=False)  # fmt: skip
    assert d.target == ["a", "B"] and d.reason == "initial: union"
    assert d.writes["apollo"].add == frozenset({"B"}) and d.writes["leadconnector"].add == frozenset({"a"})


def test_without_a_base_newest_reads_as_prefer() -> None:
    late = {
        "apollo": Side("apollo", "CTO", T0),
        "leadconnector": Side("leadconnector", "CEO", T0 + timedelta(days=1)),
    }
    d = merge_field("title", None, late, FieldRule("newest"), ORDER, has_base=False)
    assert d.target == "CTO" and d.reason == "initial: prefer (apollo)"


def test_newest_ties_go_to_the_prefer_order() -> None:
    d = merge_field("title", "b", sides(apollo="A", leadconnector="L"), FieldRule("newest"), ORDER,
                    has_base=True)  # fmt: skip
    assert d.target == "A" and d.reason == "conflict: newest (apollo)"


def test_a_blank_side_gets_a_value_another_side_changed() -> None:
    d = merge_field(
        "title", "CEO", sides(apollo=None, leadconnector="CTO"), FieldRule(), ORDER, has_base=True
    )
    assert d.target == "CTO" and set(d.writes) == {"apollo"}


def test_an_unreadable_value_is_never_copied() -> None:
    s = {
        "apollo": Side("apollo", "garbage", T0, invalid=True),
        "leadconnector": Side("leadconnector", "+15125550147"),
    }
    d = merge_field("phone", "+15125550147", s, FieldRule(), ORDER, has_base=True)
    assert d.writes == {} and d.notes


def test_first_link_fills_blanks_and_settles_differences_as_visible_conflicts() -> None:
    fill = merge_field(
        "title", None, sides(apollo="CTO", leadconnector=None), FieldRule(), ORDER, has_base=False
    )
    assert fill.target == "CTO" and set(fill.writes) == {"leadconnector"}
    assert fill.reason == "initial: filled from apollo"

    differ = merge_field("title", None, sides(apollo="CTO", leadconnector="CEO"), FieldRule("prefer"), ORDER,
                         has_base=False)  # fmt: skip
    assert differ.target == "CTO" and differ.conflict is not None
    assert not differ.conflict.open


def test_a_persons_resolution_is_written_everywhere_it_differs() -> None:
    both = sides(apollo="A", leadconnector="L")
    d = merge_field("title", "b", both, FieldRule("manual"), ORDER, has_base=True, resolution=Resolution("L"))
    assert set(d.writes) == {"apollo"} and d.new_base == "L"


def test_fields_a_system_cannot_hold_are_never_written_to_it() -> None:
    merged = merge_entity(
        {"shirt_size": "MD"}, {"shirt_size"},
        {"apollo": {"shirt_size": Side("apollo", "LG", T0)}, "leadconnector": {}},
        Rules(), holds={"apollo": frozenset({"shirt_size"}), "leadconnector": frozenset({"first_name"})},
    )  # fmt: skip
    assert merged.decisions["shirt_size"].writes == {}
    assert merged.decisions["shirt_size"].new_base == "LG"


def test_an_entity_merge_keeps_only_fields_with_something_to_do() -> None:
    merged = merge_entity(
        {"title": "CEO", "city": "Austin"}, {"title", "city"},
        {"apollo": {"title": Side("apollo", "CTO"), "city": Side("apollo", "Austin")},
         "leadconnector": {"title": Side("leadconnector", "CEO"), "city": Side("leadconnector", "Austin")}},
        Rules(),
    )  # fmt: skip
    assert list(merged.decisions) == ["title"]
