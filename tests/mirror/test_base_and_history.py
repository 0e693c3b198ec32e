"""The merge base per entity and canonical field, and the history of overwritten values."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from mirror_support import json_values

from syncengine.mirror import HistoryEntry, Mirror, MirrorValueError


def test_base_round_trips_json_values(mirror: Mirror, run_id: int) -> None:
    entity = mirror.new_entity()
    values = {
        "tags": ["vip", "customer"],
        "address": {"city": "Zürich", "lines": ["Bahnhofstr. 1", None]},
        "first_name": "Zoë 北京",
        "phone_mobile": None,
        "score": 1.5,
        "dnd": False,
    }

    mirror.set_base(entity, values, run_id=run_id)

    assert mirror.get_base([entity]) == {entity: values}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_any_json_value_round_trips_through_the_base(mirror: Mirror, value: object) -> None:
    entity = mirror.new_entity()

    mirror.set_base(entity, {"field": value}, run_id=None)

    assert mirror.get_base([entity])[entity]["field"] == value


def test_setting_some_fields_keeps_the_others(mirror: Mirror, run_id: int) -> None:
    entity = mirror.new_entity()
    mirror.set_base(entity, {"email": "a@x.com", "tags": ["a"]}, run_id=run_id)

    mirror.set_base(entity, {"tags": ["a", "b"]}, run_id=run_id)

    assert mirror.get_base([entity])[entity] == {"email": "a@x.com", "tags": ["a", "b"]}


def test_entity_without_base_maps_to_empty(mirror: Mirror) -> None:
    entity = mirror.new_entity()

    assert mirror.get_base([entity, "unknown"]) == {entity: {}, "unknown": {}}


def test_set_base_many_stores_several_entities(mirror: Mirror, run_id: int) -> None:
    first, second = mirror.new_entities(2)

    mirror.set_base_many({first: {"email": "f@x.com"}, second: {"email": None}}, run_id=run_id)

    assert mirror.get_base([first, second]) == {first: {"email": "f@x.com"}, second: {"email": None}}


def test_unstorable_base_value_names_entity_and_field(mirror: Mirror) -> None:
    entity = mirror.new_entity()

    with pytest.raises(MirrorValueError, match=f"entity {entity}: field score") as caught:
        mirror.set_base(entity, {"score": float("inf")}, run_id=None)
    assert caught.value.field == "score"


def test_history_keeps_every_overwritten_value_in_order(mirror: Mirror, run_id: int, clock) -> None:
    entity = mirror.new_entity()
    entries = [
        HistoryEntry(entity, "email", "old@x.com", "new@x.com", "prefer:apollo", "leadconnector", run_id),
        HistoryEntry(entity, "tags", ["a"], ["a", "b"], "union", None, run_id),
    ]

    assert mirror.add_history(entries) == 2

    stored = mirror.history(entity_id=entity)
    assert [(e.field, e.old_value, e.new_value, e.reason, e.system, e.run_id) for e in stored] == [
        ("email", "old@x.com", "new@x.com", "prefer:apollo", "leadconnector", run_id),
        ("tags", ["a"], ["a", "b"], "union", None, run_id),
    ]
    assert {e.at for e in stored} == {clock.now}


def test_history_filters_by_run(mirror: Mirror, run_id: int) -> None:
    entity = mirror.new_entity()
    other_run = mirror.start_run().id
    mirror.add_history([
        HistoryEntry(entity, "email", None, "a@x.com", "fill_blank", "apollo", run_id),
        HistoryEntry(entity, "email", "a@x.com", "b@x.com", "newest", "apollo", other_run),
    ])

    assert [e.new_value for e in mirror.history(run_id=other_run)] == ["b@x.com"]
