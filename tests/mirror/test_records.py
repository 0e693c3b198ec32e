"""Storing pulled records: new/changed/unchanged by content hash, tombstones, reading back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mirror_support import Pulled, contact, json_values

from syncengine.mirror import Mirror, NotFoundError


def test_first_upsert_reports_every_record_as_new(mirror: Mirror, run_id: int) -> None:
    result = mirror.upsert_records("apollo", [contact("a"), contact("b")], run_id=run_id)

    assert (result.new, result.changed, result.unchanged) == (("a", "b"), (), ())


def test_reupsert_detects_changed_and_unchanged_by_content(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("a"), contact("b")], run_id=run_id)
    second = mirror.start_run().id

    pulled = [contact("a"), contact("b", title="CTO"), contact("c")]

    result = mirror.upsert_records("apollo", pulled, run_id=second)

    assert (result.new, result.changed, result.unchanged) == (("c",), ("b",), ("a",))
    assert result.touched == ("c", "b")


def test_key_order_of_raw_json_does_not_count_as_a_change(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [Pulled("a", {"x": 1, "y": [1, 2]})], run_id=run_id)
    second = mirror.start_run().id

    result = mirror.upsert_records("apollo", [Pulled("a", {"y": [1, 2], "x": 1})], run_id=second)

    assert result.unchanged == ("a",)


def test_same_record_twice_in_one_pull_counts_once(mirror: Mirror, run_id: int) -> None:
    pulled = [contact("a"), contact("a", title="CTO")]

    result = mirror.upsert_records("apollo", pulled, run_id=run_id)

    assert (result.new, result.changed) == (("a",), ())
    assert mirror.get_record("apollo", "a").raw["title"] == "CTO"


def test_repeat_across_chunks_keeps_the_last_content(mirror: Mirror, run_id: int) -> None:
    pulled = [contact(f"r{i}") for i in range(2500)] + [contact("r1", title="later")]

    result = mirror.upsert_records("apollo", pulled, run_id=run_id)

    assert len(result.new) == 2500
    assert mirror.get_record("apollo", "r1").raw["title"] == "later"


def test_stored_record_keeps_raw_hash_times_and_run(mirror: Mirror, run_id: int, clock) -> None:
    updated = datetime(2025, 2, 1, 9, 30, tzinfo=timezone(timedelta(hours=-8)))
    mirror.upsert_records("apollo", [Pulled("a", {"id": "a", "n": 1}, updated)], run_id=run_id)

    stored = mirror.get_record("apollo", "a")

    assert stored.raw == {"id": "a", "n": 1}
    assert len(stored.content_hash) == 32
    assert stored.remote_updated_at == updated
    assert stored.remote_updated_at.utcoffset() == timedelta(0)
    assert stored.first_seen_at == stored.last_seen_at == stored.changed_at == clock.now
    assert stored.changed_run_id == run_id
    assert stored.entity_id is None and not stored.is_deleted


def test_unchanged_record_is_seen_again_but_keeps_its_change_time(mirror: Mirror, run_id: int, clock) -> None:
    mirror.upsert_records("apollo", [contact("a")], run_id=run_id)
    first_seen = clock.now
    later = clock.advance(hours=1)
    second = mirror.start_run().id

    mirror.upsert_records("apollo", [contact("a")], run_id=second)

    stored = mirror.get_record("apollo", "a")
    assert (stored.first_seen_at, stored.changed_at, stored.last_seen_at) == (first_seen, first_seen, later)
    assert stored.changed_run_id == run_id


def test_changed_records_returns_what_changed_in_that_run_or_later(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("a"), contact("b")], run_id=run_id)
    second = mirror.start_run().id
    mirror.upsert_records("apollo", [contact("a"), contact("b", title="CTO")], run_id=second)

    assert [r.remote_id for r in mirror.changed_records("apollo", second)] == ["b"]
    assert [r.remote_id for r in mirror.changed_records("apollo", run_id)] == ["a", "b"]
    assert mirror.changed_records("leadconnector", run_id) == []


def test_records_of_one_system_do_not_touch_another(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("same-id")], run_id=run_id)

    result = mirror.upsert_records("leadconnector", [contact("same-id", title="x")], run_id=run_id)

    assert result.new == ("same-id",)
    assert "title" not in mirror.get_record("apollo", "same-id").raw


def test_unlinked_records_leave_out_linked_and_deleted_ones(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("a"), contact("b"), contact("c")], run_id=run_id)
    mirror.link(mirror.new_entity(), "apollo", "a")
    mirror.tombstone("apollo", "c", "full_scan", run_id=run_id)

    assert [r.remote_id for r in mirror.unlinked_records("apollo")] == ["b"]


def test_get_record_of_unknown_id_is_none(mirror: Mirror) -> None:
    assert mirror.get_record("apollo", "nope") is None


def test_get_records_returns_known_ids_only(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("a"), contact("b")], run_id=run_id)

    assert sorted(mirror.get_records("apollo", ["a", "b", "zz"])) == ["a", "b"]


def test_bad_records_are_reported_and_kept_while_good_ones_are_stored(mirror: Mirror, run_id: int) -> None:
    pulled = [
        contact("good"),
        Pulled("naive", {"id": "naive"}, datetime(2025, 1, 1)),
        Pulled("nan", {"score": float("nan")}),
        Pulled("", {"id": ""}),
    ]

    result = mirror.upsert_records("apollo", pulled, run_id=run_id)

    assert result.new == ("good",)
    assert [(p.remote_id, p.field) for p in result.rejected] == [
        ("naive", "updated_at"), ("nan", "raw"), ("", "remote_id"),
    ]
    assert "apollo record naive: updated_at" in result.rejected[0].message
    stored = mirror.record_errors(run_id=run_id)
    assert [(p.system, p.remote_id, p.field, p.message) for p in stored] == [
        (p.system, p.remote_id, p.field, p.message) for p in result.rejected
    ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.dictionaries(st.text(), json_values, max_size=6))
def test_any_json_object_round_trips_and_is_unchanged_when_pulled_again(mirror: Mirror, raw: dict) -> None:
    run_id = mirror.start_run().id
    mirror.upsert_records("apollo", [Pulled("r", raw)], run_id=run_id)

    again = mirror.upsert_records("apollo", [Pulled("r", raw)], run_id=run_id)

    assert mirror.get_record("apollo", "r").raw == raw
    assert again.unchanged == ("r",)


def test_unicode_and_long_text_survive(mirror: Mirror, run_id: int) -> None:
    raw = {
        "name": "Zoë Ñandú 北京 🚀 \u0000 nul \u200b",
        "notes": "Grüße " * 20_000,
        "lone_surrogate": "\ud800",
        "big": 2**70,
        "float": 0.1,
    }
    long_id = "x" * 600

    mirror.upsert_records("apollo", [Pulled(long_id, raw)], run_id=run_id)

    assert mirror.get_record("apollo", long_id).raw == raw


def test_tombstone_keeps_the_content_and_says_how_it_was_found(mirror: Mirror, run_id: int, clock) -> None:
    mirror.upsert_records("apollo", [contact("a")], run_id=run_id)
    when = clock.advance(minutes=5)
    second = mirror.start_run().id

    stored = mirror.tombstone("apollo", "a", "full_scan", run_id=second)

    assert (stored.deleted_at, stored.deleted_by, stored.is_deleted) == (when, "full_scan", True)
    assert stored.raw == contact("a").raw
    assert [r.remote_id for r in mirror.changed_records("apollo", second)] == ["a"]


def test_second_tombstone_keeps_the_first(mirror: Mirror, run_id: int, clock) -> None:
    mirror.upsert_records("apollo", [contact("a")], run_id=run_id)
    first = mirror.tombstone("apollo", "a", "webhook", run_id=run_id)
    clock.advance(minutes=1)

    again = mirror.tombstone("apollo", "a", "full_scan", run_id=run_id)

    assert (again.deleted_at, again.deleted_by) == (first.deleted_at, "webhook")


def test_tombstone_of_unknown_record_raises(mirror: Mirror, run_id: int) -> None:
    with pytest.raises(NotFoundError, match="apollo record nope"):
        mirror.tombstone("apollo", "nope", "webhook", run_id=run_id)


def test_deleted_record_that_comes_back_is_changed_and_alive(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("a")], run_id=run_id)
    mirror.tombstone("apollo", "a", "full_scan", run_id=run_id)

    result = mirror.upsert_records("apollo", [contact("a")], run_id=mirror.start_run().id)

    assert result.changed == ("a",)
    assert not mirror.get_record("apollo", "a").is_deleted


def test_not_seen_since_lists_live_records_a_full_scan_missed(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("a"), contact("b"), contact("c")], run_id=run_id)
    mirror.tombstone("apollo", "c", "webhook", run_id=run_id)
    scan = mirror.start_run().id

    mirror.upsert_records("apollo", [contact("a")], run_id=scan)

    assert mirror.not_seen_since("apollo", scan) == ["b"]


def test_records_for_entity_by_system(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("a")], run_id=run_id)
    mirror.upsert_records("leadconnector", [contact("l")], run_id=run_id)
    entity = mirror.new_entity()
    mirror.link(entity, "apollo", "a")
    mirror.link(entity, "leadconnector", "l")

    found = mirror.records_for_entity(entity)

    assert {system: r.remote_id for system, r in found.items()} == {"apollo": "a", "leadconnector": "l"}
    assert {r.entity_id for r in found.values()} == {entity}


def test_a_preview_shows_new_and_changed_records_and_writes_nothing(mirror: Mirror, run_id: int) -> None:
    mirror.upsert_records("apollo", [contact("a"), contact("b")], run_id=run_id)
    entity = mirror.new_entity()
    mirror.link(entity, "apollo", "b")

    preview = mirror.preview_records("apollo", [contact("a"), contact("b", title="CTO"), contact("c")])

    assert [(r.remote_id, r.entity_id) for r in preview] == [("b", entity), ("c", None)]
    assert preview[0].raw["title"] == "CTO"
    assert mirror.get_record("apollo", "c") is None
    assert "title" not in mirror.get_record("apollo", "b").raw
