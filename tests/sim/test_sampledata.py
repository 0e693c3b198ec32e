"""The sample data generator: deterministic, sized and overlapping as asked, in each vendor's shape."""

from __future__ import annotations

import re

import pytest

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.leadconnector.simulator import LeadConnectorSim
from syncengine.sim.sampledata import SYSTEMS, catalogues, edits, generate, generate_sample

ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CREATED = {"apollo": "created_at", "leadconnector": "dateAdded", "corporatemerch": "created_at"}
UPDATED = {"apollo": "updated_at", "leadconnector": "dateUpdated", "corporatemerch": "updated_at"}


@pytest.fixture(scope="module")
def sample():
    return generate_sample(400, overlap=0.5, seed=3)


def test_same_seed_gives_the_same_records_and_another_seed_does_not() -> None:
    assert generate(50, seed=7) == generate(50, seed=7)
    assert generate(50, seed=7) != generate(50, seed=8)


def test_counts_per_system_follow_n_and_the_corporatemerch_share(sample) -> None:
    assert {s: len(r) for s, r in sample.records.items()} == {
        "apollo": 400,
        "leadconnector": 400,
        "corporatemerch": 80,
    }
    assert len(generate(10, cm_share=0.5)["corporatemerch"]) == 5


def test_overlap_is_the_share_of_people_in_several_systems(sample) -> None:
    shared = sum(1 for links in sample.people if len(links) > 1)
    assert shared / len(sample.people) == pytest.approx(0.5, abs=0.02)
    assert not any(len(links) > 1 for links in generate_sample(100, overlap=0.0).people)


def test_every_person_links_to_records_that_exist(sample) -> None:
    ids = {s: {r["id"] for r in rows} for s, rows in sample.records.items()}
    linked = [(s, i) for links in sample.people for s, i in links.items()]
    assert len(linked) == sum(len(v) for v in ids.values())
    assert all(i in ids[s] for s, i in linked)


def test_ids_have_each_vendor_form_and_are_unique(sample) -> None:
    apollo = [r["id"] for r in sample.records["apollo"]]
    lc = [r["id"] for r in sample.records["leadconnector"]]
    cm = [r["id"] for r in sample.records["corporatemerch"]]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in apollo) and len(set(apollo)) == len(apollo)
    assert all(re.fullmatch(r"[A-Za-z0-9]{20}", i) for i in lc) and len(set(lc)) == len(lc)
    assert cm == list(range(1, len(cm) + 1))


def test_timestamps_are_iso_ms_z_and_updated_is_not_before_created(sample) -> None:
    for system, rows in sample.records.items():
        for row in rows:
            created, updated = row[CREATED[system]], row[UPDATED[system]]
            assert ISO_MS_Z.match(created) and ISO_MS_Z.match(updated), (system, row["id"])
            assert updated >= created, (system, row["id"])


def test_shared_people_sometimes_differ_between_systems(sample) -> None:
    assert sum(sample.differences.values()) > 0
    assert set(sample.differences) <= {
        "title", "address", "tags", "phone", "blank", "email_case", "first_name", "company", "email",
    }  # fmt: skip


def test_emails_are_unique_within_a_system(sample) -> None:
    for system, rows in sample.records.items():
        emails = [r["email"].lower() for r in rows]
        assert len(set(emails)) == len(emails), system


def test_only_the_asked_systems_are_generated() -> None:
    assert set(generate(20, systems=("apollo", "leadconnector"))) == {"apollo", "leadconnector"}


@pytest.mark.parametrize(
    "kwargs",
    [{"n": -1}, {"n": 5, "overlap": 1.5}, {"n": 5, "cm_share": -0.1}, {"n": 5, "systems": ("hubspot",)}],
)
def test_bad_arguments_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        generate(**kwargs)


def test_catalogues_cover_every_tag_and_custom_field_the_records_use(sample) -> None:
    cats = catalogues()
    assert set(cats) == set(SYSTEMS)
    label_names = {label["name"] for label in cats["apollo"]["labels"]}
    assert {t for r in sample.records["apollo"] for t in r["label_names"]} <= label_names
    lc_fields = {f["id"] for f in cats["leadconnector"]["customFields"]}
    assert {f["id"] for r in sample.records["leadconnector"] for f in r.get("customFields", [])} <= lc_fields
    cm_labels = {label["id"] for label in cats["corporatemerch"]["labels"]}
    assert {i for r in sample.records["corporatemerch"] for i in r["labels"]} <= cm_labels


def test_edits_touch_the_asked_share_deterministically(sample) -> None:
    first = edits(sample.records, 0.05, seed=1)
    assert first == edits(sample.records, 0.05, seed=1)
    assert {s: len(e) for s, e in first.items()} == {"apollo": 20, "leadconnector": 20, "corporatemerch": 4}
    ids = {s: {str(r["id"]) for r in rows} for s, rows in sample.records.items()}
    for system, items in first.items():
        assert all(e.changes and e.contact_id in ids[system] for e in items)


def test_edits_refuse_a_share_outside_zero_to_one(sample) -> None:
    with pytest.raises(ValueError):
        edits(sample.records, 2.0)


def test_the_apollo_and_leadconnector_simulators_accept_the_records_and_their_edits(sample) -> None:
    cats = catalogues()
    apollo = ApolloSim(seed=1)
    apollo.seed_labels(cats["apollo"]["labels"])
    apollo.seed_stages(cats["apollo"]["contact_stages"])
    apollo.seed_custom_fields(cats["apollo"]["typed_custom_fields"])
    lc = LeadConnectorSim(seed=1)
    lc.seed_tags(cats["leadconnector"]["tags"])
    lc.seed_custom_fields(cats["leadconnector"]["customFields"])
    assert len(apollo.seed_contacts(sample.records["apollo"])) == 400
    assert len(lc.seed_contacts(sample.records["leadconnector"])) == 400
    stored = {"apollo": apollo.contacts(), "leadconnector": lc.contacts()}
    changes = edits(stored, 0.02, seed=2)
    for edit in changes["apollo"]:
        before = next(r for r in stored["apollo"] if r["id"] == edit.contact_id)
        after = apollo.ui_edit(edit.contact_id, edit.changes)
        assert after["updated_at"] >= before["updated_at"]
    for edit in changes["leadconnector"]:
        lc.ui_edit(edit.contact_id, edit.changes)
