"""Conflicts: opened, updated while open, resolved, kept as a record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from syncengine.mirror import Conflict, Mirror, NotFoundError, SeenConflict, StateTransitionError


def _open(mirror: Mirror, entity: str, field: str, values: dict, base: object = None, **kw) -> Conflict:
    return mirror.open_conflict(entity, field, base_value=base, values=values, policy="manual", **kw)


def test_opened_conflict_is_listed_with_its_sides(mirror: Mirror, run_id: int, clock) -> None:
    entity = mirror.new_entity()
    seen = clock.now - timedelta(hours=2)

    conflict = mirror.open_conflict(
        entity,
        "email",
        base_value="old@x.com",
        values={"apollo": "a@x.com", "leadconnector": "l@x.com"},
        policy="manual",
        first_seen_at={"apollo": seen},
        run_id=run_id,
    )

    assert mirror.open_conflicts() == [conflict]
    assert (conflict.status, conflict.base_value, conflict.policy) == ("open", "old@x.com", "manual")
    assert conflict.values == {"apollo": "a@x.com", "leadconnector": "l@x.com"}
    assert conflict.first_seen_at == {"apollo": seen, "leadconnector": clock.now}


def test_reopening_keeps_first_seen_of_unchanged_sides(mirror: Mirror, clock) -> None:
    entity = mirror.new_entity()
    first = _open(mirror, entity, "title", {"apollo": "B", "cm": "C"}, base="A")
    clock.advance(hours=1)

    again = _open(mirror, entity, "title", {"apollo": "B", "cm": "D"}, base="A")

    assert again.id == first.id
    assert again.values == {"apollo": "B", "cm": "D"}
    assert again.first_seen_at == {"apollo": first.first_seen_at["apollo"], "cm": clock.now}
    assert len(mirror.open_conflicts([entity])) == 1


def test_resolving_records_value_who_and_when(mirror: Mirror, run_id: int, clock) -> None:
    entity = mirror.new_entity()
    conflict = _open(mirror, entity, "tags", {"a": ["x"], "b": ["y"]}, base=[])
    clock.advance(minutes=3)

    resolved = mirror.resolve_conflict(conflict.id, ["x", "y"], resolved_by="person:ops", run_id=run_id)

    assert (resolved.status, resolved.resolution_value, resolved.resolved_by) == (
        "resolved",
        ["x", "y"],
        "person:ops",
    )
    assert (resolved.resolved_at, resolved.resolved_run_id) == (clock.now, run_id)
    assert mirror.open_conflicts() == []
    assert mirror.get_conflict(conflict.id) == resolved


def test_a_conflict_can_be_resolved_to_null(mirror: Mirror) -> None:
    entity = mirror.new_entity()
    conflict = _open(mirror, entity, "phone", {"a": "2", "b": "3"}, base="1")

    resolved = mirror.resolve_conflict(conflict.id, None, resolved_by="apollo")

    assert resolved.status == "resolved" and resolved.resolution_value is None


def test_resolving_twice_raises(mirror: Mirror) -> None:
    entity = mirror.new_entity()
    conflict = _open(mirror, entity, "email", {"a": "1", "b": "2"})
    mirror.resolve_conflict(conflict.id, "1", resolved_by="prefer:a")

    with pytest.raises(StateTransitionError, match="already resolved by prefer:a"):
        mirror.resolve_conflict(conflict.id, "2", resolved_by="person")


def test_after_resolution_a_new_conflict_on_the_field_opens(mirror: Mirror) -> None:
    entity = mirror.new_entity()
    old = _open(mirror, entity, "email", {"a": "1", "b": "2"})
    mirror.resolve_conflict(old.id, "1", resolved_by="person")

    new = _open(mirror, entity, "email", {"a": "3", "b": "4"}, base="1")

    assert new.id != old.id
    assert [c.id for c in mirror.open_conflicts()] == [new.id]


def test_a_batch_of_conflicts_is_stored_as_one_by_one(mirror: Mirror, run_id: int, clock) -> None:
    """``record_conflicts`` (a run's batch) leaves what ``open_conflict`` and ``resolve_conflict``
    leave: a new open conflict, an open one updated with its unchanged side's first sighting kept,
    one settled by a rule at once (to null too), and one open before and settled now."""
    one, two = mirror.new_entity(), mirror.new_entity()
    earlier = clock.now - timedelta(hours=5)
    standing = _open(mirror, one, "title", {"apollo": "B", "cm": "C"}, base="A")
    settling = _open(mirror, two, "title", {"apollo": "X", "cm": "Y"}, base="W")
    clock.advance(hours=1)

    mirror.record_conflicts(
        [
            SeenConflict(one, "email", "o@x.com", {"apollo": "a@x.com", "cm": "c@x.com"}, "manual",
                         {"apollo": earlier}),
            SeenConflict(one, "title", "A", {"apollo": "B", "cm": "D"}, "manual", {}),
            SeenConflict(two, "phone", "1", {"apollo": "2", "cm": "3"}, "newest", {}, "rule:newest", None),
            SeenConflict(two, "title", "W", {"apollo": "X", "cm": "Z"}, "newest", {}, "rule:newest", "Z"),
        ],
        run_id=run_id,
    )  # fmt: skip

    still_open = {(c.entity_id, c.field): c for c in mirror.open_conflicts()}
    assert set(still_open) == {(one, "email"), (one, "title")}
    email = still_open[(one, "email")]
    assert (email.base_value, email.values, email.policy, email.run_id) == (
        "o@x.com", {"apollo": "a@x.com", "cm": "c@x.com"}, "manual", run_id,
    )  # fmt: skip
    assert email.first_seen_at == {"apollo": earlier, "cm": clock.now}
    title = still_open[(one, "title")]
    assert title.id == standing.id and title.values == {"apollo": "B", "cm": "D"}
    assert title.first_seen_at == {"apollo": standing.first_seen_at["apollo"], "cm": clock.now}
    settled = {c.field: c for c in mirror.conflicts(status="resolved")}
    assert set(settled) == {"phone", "title"}
    phone = settled["phone"]
    assert (phone.entity_id, phone.resolution_value, phone.resolved_by) == (two, None, "rule:newest")
    assert (phone.opened_at, phone.resolved_at, phone.resolved_run_id) == (clock.now, clock.now, run_id)
    assert settled["title"].id == settling.id
    assert (settled["title"].resolution_value, settled["title"].values) == ("Z", {"apollo": "X", "cm": "Z"})


def test_unknown_conflict_raises(mirror: Mirror) -> None:
    with pytest.raises(NotFoundError, match="conflict 999"):
        mirror.resolve_conflict(999, "x", resolved_by="person")


def test_a_persons_resolution_waits_for_a_run_to_apply_it(mirror: Mirror, run_id: int) -> None:
    e1, e2 = mirror.new_entities(2)
    sides = {"apollo": "B", "leadconnector": "C"}
    by_person = mirror.open_conflict(e1, "title", base_value="A", values=sides, policy="manual")
    by_rule = mirror.open_conflict(e2, "title", base_value="A", values=sides, policy="newest", run_id=run_id)
    mirror.resolve_conflict(by_person.id, "C", resolved_by="person")
    mirror.resolve_conflict(by_rule.id, "B", resolved_by="rule:newest", run_id=run_id)

    assert [c.id for c in mirror.pending_resolutions()] == [by_person.id]
    mirror.mark_resolution_applied(by_person.id, run_id=run_id)
    assert mirror.pending_resolutions() == []
    assert mirror.get_conflict(by_person.id).resolved_run_id == run_id


def test_conflicts_filter_by_status_field_and_run(mirror: Mirror, run_id: int) -> None:
    e1 = mirror.new_entity()
    first = mirror.open_conflict(e1, "title", base_value=None, values={"apollo": "B"}, policy="manual",
                                 run_id=run_id)  # fmt: skip
    mirror.open_conflict(e1, "city", base_value=None, values={"apollo": "X"}, policy="manual")
    mirror.resolve_conflict(first.id, "B", resolved_by="person")

    assert [c.field for c in mirror.conflicts(status="open")] == ["city"]
    assert [c.field for c in mirror.conflicts(field="title")] == ["title"]
    assert [c.id for c in mirror.conflicts(run_id=run_id)] == [first.id]
    assert len(mirror.conflicts()) == 2
