"""The CorporateMerch simulator's admin surface and Python side: seeding contacts and catalogues,
UI edits and deletes, reset, state export/import, and the sample data the runner seeds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim
from syncengine.sim.sampledata import catalogues, edits, generate

TOKEN = "sim-cm-token-admin"
ADA = {
    "id": None,
    "type": "employee",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "country": "US",
    "address": "1 Main St",
    "city": "Austin",
    "state": "TX",
    "zip_code": "78701",
}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[CorporateMerchSim, httpx.Client]]:
    sim = CorporateMerchSim(token=TOKEN)
    thread = ServerThread(sim.app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with thread, httpx.Client(base_url=thread.url, headers=headers, timeout=5) as client:
        yield sim, client


@pytest.fixture
def sim(server: tuple[CorporateMerchSim, httpx.Client]) -> CorporateMerchSim:
    return server[0]


@pytest.fixture
def cm(server: tuple[CorporateMerchSim, httpx.Client]) -> httpx.Client:
    client = server[1]
    client.post("/__admin/reset").raise_for_status()
    client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    return client


def seed(cm: httpx.Client, *records: dict[str, Any]) -> httpx.Response:
    return cm.post("/__admin/contacts", json={"contacts": list(records)})


def sample(count: int = 40, seed: int = 5) -> list[dict[str, Any]]:
    return generate(count, seed=seed, systems=("corporatemerch",))["corporatemerch"]


def seed_catalogues(cm: httpx.Client) -> None:
    for kind, items in catalogues()["corporatemerch"].items():
        cm.post(f"/__admin/{kind}", json={kind: items}).raise_for_status()


# ---------------------------------------------------------------------------- seeding contacts


def test_a_seeded_contact_without_id_gets_the_next_number(cm: httpx.Client) -> None:
    [first, second] = seed(cm, ADA, {**ADA, "email": "b@example.com"}).json()["contacts"]
    assert (first["id"], second["id"]) == (1, 2)


def test_seeding_keeps_given_ids_and_timestamps(cm: httpx.Client) -> None:
    record = {**ADA, "id": 41, "created_at": "2021-05-01T08:00:00Z", "updated_at": "2022-01-02T03:04:05.678Z"}
    [stored] = seed(cm, record).json()["contacts"]
    assert (stored["id"], stored["created_at"], stored["updated_at"]) == (
        41, "2021-05-01T08:00:00.000Z", "2022-01-02T03:04:05.678Z",
    )  # fmt: skip


def test_the_api_numbers_on_after_the_highest_seeded_id(cm: httpx.Client) -> None:
    seed(cm, {**ADA, "id": 41})
    body = {k: v for k, v in ADA.items() if k != "id"}
    assert cm.post("/v2/contacts", json=body).json()["data"]["id"] == 42


def test_seeding_is_all_or_nothing(cm: httpx.Client, sim: CorporateMerchSim) -> None:
    response = seed(cm, ADA, {**ADA, "state": "Texas"})
    assert response.status_code == 400
    assert sim.contacts() == []


def test_a_refused_seed_names_the_record_and_field(cm: httpx.Client) -> None:
    response = seed(cm, {**ADA, "id": 7, "shirt_size": "huge"})
    assert response.json()["error"] == "contact 7: field 'shirt_size': The selected shirt_size is invalid."


def test_seeding_an_unknown_field_is_refused(cm: httpx.Client) -> None:
    assert "'nickname'" in seed(cm, {**ADA, "nickname": "A"}).json()["error"]


def test_seeding_a_taken_id_is_refused(cm: httpx.Client) -> None:
    seed(cm, {**ADA, "id": 3})
    assert "already taken" in seed(cm, {**ADA, "id": 3}).json()["error"]


def test_seeding_unknown_list_ids_is_refused(cm: httpx.Client) -> None:
    response = seed(cm, {**ADA, "lists": [4]})
    assert response.json()["error"] == "contact (new): field 'lists.0': The selected lists.0 is invalid."


def test_a_seeded_deleted_contact_is_hidden_from_the_api(cm: httpx.Client) -> None:
    seed(cm, {**ADA, "id": 5, "deleted": True})
    assert cm.get("/v2/contacts/5").status_code == 404
    assert [c["id"] for c in cm.get("/__admin/contacts?include_deleted=1").json()["contacts"]] == [5]


def test_the_runners_sample_contacts_are_accepted(cm: httpx.Client, sim: CorporateMerchSim) -> None:
    seed_catalogues(cm)
    records = sample()
    sim.seed_contacts(records)
    body = cm.get("/v2/contacts", params={"limit": 50}).json()
    assert body["pagination"]["total"] == len(records) > 0
    stored = {c["id"]: c for c in body["data"]}
    assert all(stored[r["id"]] == {**stored[r["id"]], **r} for r in records)


def test_the_sample_ui_edits_are_accepted(cm: httpx.Client, sim: CorporateMerchSim) -> None:
    seed_catalogues(cm)
    stored = sim.seed_contacts(sample())
    for edit in edits({"corporatemerch": stored}, share=1.0, seed=2)["corporatemerch"]:
        updated = sim.ui_edit(edit.contact_id, edit.changes)
        assert {k: updated[k] for k in edit.changes} == edit.changes


# ---------------------------------------------------------------------------- UI edits and deletes


def test_a_ui_edit_changes_the_field_and_moves_updated_at(cm: httpx.Client) -> None:
    [stored] = seed(cm, {**ADA, "updated_at": "2020-01-01T00:00:00.000Z"}).json()["contacts"]
    response = cm.patch(f"/__admin/contacts/{stored['id']}", json={"position": "Engineer"})
    edited = response.json()["contact"]
    assert edited["position"] == "Engineer"
    assert edited["updated_at"] > stored["updated_at"]


def test_a_ui_edit_keeps_the_other_fields(cm: httpx.Client) -> None:
    [stored] = seed(cm, {**ADA, "phone_number": "512-555-0147", "labels": []}).json()["contacts"]
    edited = cm.patch(f"/__admin/contacts/{stored['id']}", json={"city": "Dallas"}).json()["contact"]
    assert edited == {**stored, "city": "Dallas", "updated_at": edited["updated_at"]}


def test_a_ui_edit_is_validated_like_the_api(cm: httpx.Client) -> None:
    [stored] = seed(cm, ADA).json()["contacts"]
    response = cm.patch(f"/__admin/contacts/{stored['id']}", json={"email": None})
    assert response.status_code == 400
    assert response.json()["error"] == "contact 1: field 'email': The email field is required."


def test_a_ui_edit_of_a_read_only_field_is_refused(cm: httpx.Client) -> None:
    [stored] = seed(cm, ADA).json()["contacts"]
    response = cm.patch(f"/__admin/contacts/{stored['id']}", json={"created_at": "2020-01-01T00:00:00Z"})
    assert response.status_code == 400


def test_a_ui_edit_of_an_unknown_contact_is_404(cm: httpx.Client) -> None:
    assert cm.patch("/__admin/contacts/9", json={"city": "Dallas"}).status_code == 404


def test_a_ui_delete_hides_the_contact_from_the_api(cm: httpx.Client) -> None:
    [stored] = seed(cm, ADA).json()["contacts"]
    cm.delete(f"/__admin/contacts/{stored['id']}").raise_for_status()
    assert cm.get(f"/v2/contacts/{stored['id']}").status_code == 404


# ---------------------------------------------------------------------------- catalogues


def test_catalogue_items_without_id_are_numbered_on(cm: httpx.Client) -> None:
    cm.post("/__admin/labels", json={"labels": [{"id": 4, "name": "vip"}]})
    response = cm.post("/__admin/labels", json={"labels": [{"name": "partner"}]})
    assert response.json() == {"labels": [{"id": 4, "name": "vip"}, {"id": 5, "name": "partner"}]}


def test_a_catalogue_item_without_name_is_refused(cm: httpx.Client) -> None:
    response = cm.post("/__admin/lists", json={"lists": [{"id": 1}]})
    assert response.status_code == 400
    assert cm.get("/__admin/lists").json() == {"lists": []}


def test_seeded_catalogue_ids_validate_writes(cm: httpx.Client) -> None:
    cm.post("/__admin/lists", json={"lists": [{"id": 9, "name": "Kit"}]})
    [stored] = seed(cm, {**ADA, "lists": [9]}).json()["contacts"]
    assert stored["lists"] == [9]


# ---------------------------------------------------------------------------- reset and state


def test_reset_forgets_contacts_catalogues_and_numbering(cm: httpx.Client) -> None:
    cm.post("/__admin/lists", json={"lists": [{"name": "Kit"}]})
    seed(cm, ADA, ADA)
    cm.post("/__admin/reset")
    assert cm.get("/__admin/contacts").json() == {"contacts": []}
    assert cm.get("/v2/lists").json() == {"data": []}
    assert seed(cm, ADA).json()["contacts"][0]["id"] == 1


def test_reset_restores_the_settings(cm: httpx.Client) -> None:
    cm.put("/__admin/settings", json={"clear_omitted": False})
    cm.post("/__admin/reset")
    assert cm.get("/__admin/settings").json()["clear_omitted"] is True


def test_export_then_import_restores_the_same_data(cm: httpx.Client) -> None:
    seed_catalogues(cm)
    seed(cm, *sample(20))
    cm.delete("/__admin/contacts/2")
    cm.put("/__admin/settings", json={"reject_unknown": True})
    exported = cm.get("/__admin/state").json()
    before = cm.get("/v2/contacts", params={"limit": 50}).json()["data"]
    cm.post("/__admin/reset")
    cm.put("/__admin/state", json=exported).raise_for_status()
    assert cm.get("/__admin/state").json() == exported
    assert cm.get("/v2/contacts", params={"limit": 50}).json()["data"] == before


def test_after_an_import_new_ids_continue_the_numbering(cm: httpx.Client) -> None:
    seed(cm, ADA, ADA, ADA)
    cm.delete("/__admin/contacts/3")
    exported = cm.get("/__admin/state").json()
    cm.post("/__admin/reset")
    cm.put("/__admin/state", json=exported)
    body = {k: v for k, v in ADA.items() if k != "id"}
    assert cm.post("/v2/contacts", json=body).json()["data"]["id"] == 4
