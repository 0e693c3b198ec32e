"""Identity resolution: link by email, then phone, then name and company; never guess."""

from __future__ import annotations

import time

import pytest

from syncengine.match import Candidate, EntityKeys, company_key, match
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


def test_a_group_member_of_another_system_is_held_back_with_the_pair() -> None:
    records = [
        c("apollo", "a1", email="dup@x.io"),
        c("apollo", "a2", email="dup@x.io"),
        c("leadconnector", "l1", email="dup@x.io"),
    ]
    result = match([], records, Rules())
    assert result.new_entities == [] and {x.remote_id for x in result.conflicts} == {"a1", "a2", "l1"}


def test_a_record_reaching_a_full_group_through_another_key_conflicts_alone() -> None:
    records = [
        c("apollo", "a1", email="ada@x.io", phone="+15125550147"),
        c("leadconnector", "l1", email="ada@x.io"),
        c("leadconnector", "l2", email="other@x.io", phone="+15125550147"),
    ]
    result = match([], records, Rules())
    assert [tuple(m.remote_id for m in g) for g in result.new_entities] == [("a1", "l1")]
    assert [(x.remote_id, x.key) for x in result.conflicts] == [("l2", "phone")]


def test_the_first_key_kind_that_finds_anything_decides() -> None:
    known = [
        EntityKeys("e1", frozenset({"apollo"}), [{"email": "ada@x.io"}]),
        EntityKeys("e2", frozenset({"apollo"}), [{"phone": "+15125550147"}]),
    ]
    result = match(known, [c("leadconnector", "l1", email="ada@x.io", phone="+15125550147")], Rules())
    assert [(link.entity_id, link.key) for link in result.links] == [("e1", "email")]
    assert result.conflicts == []


def test_two_records_of_one_system_claiming_one_entity_are_both_reported() -> None:
    known = [EntityKeys("e1", frozenset({"apollo"}), [{"email": "ada@x.io"}])]
    records = [c("leadconnector", "l1", email="ada@x.io"), c("leadconnector", "l2", email="ADA@x.io")]
    result = match(known, records, Rules())
    assert result.links == [] and [x.remote_id for x in result.conflicts] == ["l1", "l2"]


def test_name_and_company_need_all_three_parts() -> None:
    known = [EntityKeys("e1", frozenset({"apollo"}), [{"first_name": "Ada", "last_name": "L"}])]
    result = match(known, [c("leadconnector", "l1", first_name="Ada", last_name="L")], Rules())
    assert result.links == [] and len(result.new_entities) == 1


def test_the_output_does_not_depend_on_the_input_order() -> None:
    known = [EntityKeys("e1", frozenset({"apollo"}), [{"email": "ada@x.io"}])]
    records = [
        c("leadconnector", "l1", email="ada@x.io"),
        c("corporatemerch", "m1", phone="+15125550147"),
        c("apollo", "a2", phone="+15125550147"),
        c("leadconnector", "l2", email="bob@x.io"),
        c("apollo", "a3", email="bob@x.io"),
    ]
    assert match(known, records, Rules()) == match(known, list(reversed(records)), Rules())


def test_unreadable_emails_and_phones_are_not_keys() -> None:
    records = [
        c("apollo", "a1", email="n/a", phone="none"),
        c("leadconnector", "l1", email="n/a", phone="none"),
    ]
    result = match([], records, Rules())
    assert len(result.new_entities) == 2 and result.conflicts == []


def test_the_match_keys_follow_the_rules_order() -> None:
    known = [EntityKeys("e1", frozenset({"apollo"}), [{"email": "ada@x.io"}])]
    only_phone = Rules(match_keys=("phone",))
    assert match(known, [c("leadconnector", "l1", email="ada@x.io")], only_phone).links == []


def test_a_hundred_thousand_records_match_in_seconds() -> None:
    known = [EntityKeys(f"e{i}", frozenset({"apollo"}), [{"email": f"p{i}@x.io"}]) for i in range(50_000)]
    linked = [c("leadconnector", f"l{i}", email=f"p{i}@x.io") for i in range(50_000)]
    fresh = [
        c(s, f"{s}{i}", phone=f"+1512555{i:04d}") for i in range(10_000) for s in ("apollo", "corporatemerch")
    ]
    alone = [c("apollo", f"n{i}", email=f"n{i}@x.io") for i in range(30_000)]
    started = time.perf_counter()
    result = match(known, linked + fresh + alone, Rules())
    elapsed = time.perf_counter() - started
    assert (len(result.links), len(result.new_entities), result.conflicts) == (50_000, 40_000, [])
    assert elapsed < 15  # a pairwise comparison would take hours


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Granite Security Inc.", "granite security"),
        ("granite security", "granite security"),
        ("Acme, LLC", "acme"),
        ("Smith & Co. Ltd", "smith"),
        ("Co", "co"),  # never every word
        ("Inc Magazine", "inc magazine"),  # only trailing legal forms
    ],
)
def test_a_company_matches_without_punctuation_and_trailing_legal_forms(typed: str, key: str) -> None:
    assert company_key(typed) == key
