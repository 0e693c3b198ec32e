"""Entities and the identity map: one record per system per entity, one entity per record."""

from __future__ import annotations

import pytest
from mirror_support import raw_engine
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from syncengine.mirror import LinkConflictError, Mirror, NotFoundError


def test_link_makes_the_record_findable_both_ways(mirror: Mirror) -> None:
    entity = mirror.new_entity()

    mirror.link(entity, "apollo", "a1")

    assert mirror.entity_for("apollo", "a1") == entity
    assert mirror.links_of(entity) == {"apollo": "a1"}


def test_new_entities_are_distinct(mirror: Mirror) -> None:
    ids = [*mirror.new_entities(3), mirror.new_entity()]

    assert len(set(ids)) == 4


def test_unlinked_record_has_no_entity(mirror: Mirror) -> None:
    assert mirror.entity_for("apollo", "a1") is None


def test_linking_the_same_pair_again_changes_nothing(mirror: Mirror) -> None:
    entity = mirror.new_entity()
    mirror.link(entity, "apollo", "a1")

    mirror.link(entity, "apollo", "a1")

    assert mirror.links_of(entity) == {"apollo": "a1"}


def test_an_entity_holds_one_record_per_system(mirror: Mirror) -> None:
    entity = mirror.new_entity()
    mirror.link(entity, "apollo", "a1")

    with pytest.raises(LinkConflictError, match=f"entity {entity}: already linked to apollo record a1"):
        mirror.link(entity, "apollo", "a2")
    assert mirror.entity_for("apollo", "a2") is None


def test_a_record_belongs_to_one_entity(mirror: Mirror) -> None:
    first, second = mirror.new_entities(2)
    mirror.link(first, "apollo", "a1")

    with pytest.raises(LinkConflictError, match=f"apollo record a1: already linked to entity {first}"):
        mirror.link(second, "apollo", "a1")


def test_link_many_is_all_or_nothing(mirror: Mirror) -> None:
    first, second = mirror.new_entities(2)
    mirror.link(first, "apollo", "taken")

    with pytest.raises(LinkConflictError):
        mirror.link_many([(second, "leadconnector", "l1"), (second, "apollo", "taken")])

    assert mirror.links_of(second) == {}


def test_link_many_refuses_two_records_of_one_system_in_its_own_input(mirror: Mirror) -> None:
    entity = mirror.new_entity()

    with pytest.raises(LinkConflictError, match="two apollo records"):
        mirror.link_many([(entity, "apollo", "a1"), (entity, "apollo", "a2")])


def test_link_many_links_thousands_in_one_call(mirror: Mirror) -> None:
    entities = mirror.new_entities(3000)

    mirror.link_many([(entity, "apollo", f"a{i}") for i, entity in enumerate(entities)])

    found = mirror.entities_for("apollo", [f"a{i}" for i in range(3000)])
    assert found == {f"a{i}": entity for i, entity in enumerate(entities)}


def test_link_to_unknown_entity_raises(mirror: Mirror) -> None:
    with pytest.raises(NotFoundError, match="entity nobody"):
        mirror.link("nobody", "apollo", "a1")


def test_unlink_frees_both_sides(mirror: Mirror) -> None:
    first, second = mirror.new_entities(2)
    mirror.link(first, "apollo", "a1")

    assert mirror.unlink("apollo", "a1") == first
    mirror.link(second, "apollo", "a1")
    assert mirror.entity_for("apollo", "a1") == second


def test_the_database_itself_refuses_a_second_record_per_system(mirror: Mirror, mirror_target: str) -> None:
    entity = mirror.new_entity()
    mirror.link(entity, "apollo", "a1")
    engine = raw_engine(mirror_target)
    insert = text(
        "INSERT INTO links (system, remote_id, entity_id, linked_at) VALUES ('apollo', 'a2', :e, :at)"
    )
    try:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"e": entity, "at": "2025-01-01T00:00:00.000000+00:00"})
    finally:
        engine.dispose()


def test_all_links_gives_the_whole_identity_map(mirror: Mirror) -> None:
    first, second, unlinked = mirror.new_entities(3)
    mirror.link_many([(first, "apollo", "a1"), (first, "leadconnector", "l1"), (second, "apollo", "a2")])

    assert mirror.all_links() == {first: {"apollo": "a1", "leadconnector": "l1"}, second: {"apollo": "a2"}}
    assert unlinked not in mirror.all_links()


def test_links_for_reads_only_the_entities_asked_for_and_counts_links_per_system(mirror: Mirror) -> None:
    first, second, unlinked = mirror.new_entities(3)
    mirror.link_many([(first, "apollo", "a1"), (first, "leadconnector", "l1"), (second, "apollo", "a2")])

    assert mirror.links_for([first, unlinked, "no-such-entity"]) == {
        first: {"apollo": "a1", "leadconnector": "l1"}
    }
    assert mirror.links_for([]) == {}
    assert mirror.link_counts() == {"apollo": 2, "leadconnector": 1}
