"""Identity resolution: link by email, then phone, then name and company; never guess."""

from __future__ import annotations

import time

from syncengine.match import Candidate, EntityKeys, match
from syncengine.rules import Rules


def c(system: str, rid: str, **values: str) -> Candidate:
    return Candidate(system, rid, values)


def test_a_record_links_to_the_entity_with_its_email() -> None:
    known = [EntityKeys("e1", frozenset({"apollo"}), [{"email": "ada@x.io"}])]
    result = match(known, [c("leadconnector", "l1", email="ada@x.io")], Rules())
    assert [(link.entity_id, link.remote_id, link.key) for link in result.links] == [("e1", "l1", "email")]


def test_phone_then_name_and_company_link_when_email_finds_nothing() -> None:
    known = [
        EntityKeys("e1", frozenset({"apollo"}), [{"phone": "+15125550147"}]),
        EntityKeys("e2", frozenset({"apollo"}), [{"first_name": "Ada", "last_name": "L", "company": "AE"}]),
    ]
    records = [
        c("leadconnector", "l1", phone="+15125550147"),
        c("leadconnector", "l2", first_name="ada", last_name="l", company="ae"),
    ]
    result = match(known, records, Rules())
    assert {(link.entity_id, link.key) for link in result.links} == {("e1", "phone"), ("e2", "name_company")}


def test_a_record_matching_two_entities_is_a_conflict_and_stays_unlinked() -> None:
    known = [
        EntityKeys("e1", frozenset({"apollo"}), [{"phone": "+15125550147"}]),
        EntityKeys("e2", frozenset({"apollo"}), [{"phone": "+15125550147"}]),
    ]
    result = match(known, [c("leadconnector", "l1", phone="+15125550147")], Rules())
    assert result.links == [] and result.new_entities == []
    assert result.conflicts[0].candidates == ("e1", "e2")


def test_an_entity_never_gets_a_second_record_of_one_system() -> None:
    known = [EntityKeys("e1", frozenset({"leadconnector"}), [{"email": "ada@x.io"}])]
    result = match(known, [c("leadconnector", "l2", email="ada@x.io")], Rules())
    assert result.links == [] and "already has" in result.conflicts[0].reason


def test_records_found_nowhere_group_into_new_entities_across_systems() -> None:
    records = [
        c("apollo", "a1", email="bob@x.io"),
        c("leadconnector", "l1", email="BOB@x.io"),
        c("apollo", "a2", email="cy@x.io"),
    ]
    result = match([], records, Rules())
    groups = sorted(tuple(m.remote_id for m in g) for g in result.new_entities)
    assert groups == [("a1", "l1"), ("a2",)]


def test_two_records_of_one_system_sharing_a_key_are_not_merged() -> None:
    records = [c("apollo", "a1", email="dup@x.io"), c("apollo", "a2", email="dup@x.io")]
    result = match([], records, Rules())
    assert result.new_entities == [] and {x.remote_id for x in result.conflicts} == {"a1", "a2"}


def test_the_match_keys_follow_the_rules_order() -> None:
    known = [EntityKeys("e1", frozenset({"apollo"}), [{"email": "ada@x.io"}])]
    only_phone = Rules(match_keys=("phone",))
    assert match(known, [c("leadconnector", "l1", email="ada@x.io")], only_phone).links == []


def test_a_hundred_thousand_records_match_in_seconds() -> None:
    known = [EntityKeys(f"e{i}", frozenset({"apollo"}), [{"email": f"p{i}@x.io"}]) for i in range(100_000)]
    records = [c("leadconnector", f"l{i}", email=f"p{i}@x.io") for i in range(100_000)]
    started = time.perf_counter()
    result = match(known, records, Rules())
    assert len(result.links) == 100_000
    assert time.perf_counter() - started < 30  # a pairwise comparison would take hours
