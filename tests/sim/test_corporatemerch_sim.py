"""Contract tests of the CorporateMerch simulator: auth, contacts, full-replacement updates,
delete, catalogues and routing, written from apis.md section 3."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim

TOKEN = "sim-cm-token-contract"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ADA = {
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
    with thread, httpx.Client(base_url=thread.url, headers=HEADERS, timeout=5) as client:
        yield sim, client


@pytest.fixture
def sim(server: tuple[CorporateMerchSim, httpx.Client]) -> CorporateMerchSim:
    return server[0]


@pytest.fixture
def cm(server: tuple[CorporateMerchSim, httpx.Client]) -> httpx.Client:
    client = server[1]
    client.post("/__admin/reset").raise_for_status()
    client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    client.post("/__admin/lists", json={"lists": [{"id": 1, "name": "Gift"}, {"id": 2, "name": "Kit"}]})
    client.post("/__admin/labels", json={"labels": [{"id": 7, "name": "vip"}]})
    return client


def create(cm: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = cm.post("/v2/contacts", json={**ADA, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]


# ---------------------------------------------------------------------------- auth


def test_missing_token_gets_401_unauthenticated(cm: httpx.Client) -> None:
    response = cm.get("/v2/contacts", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


def test_wrong_token_gets_401(cm: httpx.Client) -> None:
    response = cm.get("/v2/contacts", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert response.status_code == 401


def test_token_without_bearer_scheme_gets_401(cm: httpx.Client) -> None:
    response = cm.get("/v2/contacts", headers={"Authorization": TOKEN})
    assert response.status_code == 401


def test_a_refused_create_stores_nothing(cm: httpx.Client, sim: CorporateMerchSim) -> None:
    cm.post("/v2/contacts", json=ADA, headers={"Authorization": "Bearer nope"})
    assert sim.contacts() == []


# ---------------------------------------------------------------------------- create and get


def test_create_answers_201_with_the_whole_contact(cm: httpx.Client) -> None:
    contact = create(cm, lists=[2, 1], labels=[7])
    assert contact["id"] == 1
    assert {k: contact[k] for k in ADA} == ADA
    assert (contact["lists"], contact["labels"]) == ([2, 1], [7])
    assert contact["phone_number"] is None and contact["client_since"] is None


def test_create_stamps_created_and_updated_at_in_ms_utc(cm: httpx.Client) -> None:
    contact = create(cm)
    assert ISO_MS_Z.match(contact["created_at"])
    assert contact["updated_at"] == contact["created_at"]


def test_ids_count_up_in_creation_order(cm: httpx.Client) -> None:
    assert [create(cm)["id"] for _ in range(3)] == [1, 2, 3]


def test_create_keeps_optional_fields(cm: httpx.Client) -> None:
    extra = {"phone_number": "+1 512 555 0147", "gender": "female", "shirt_size": "2XL",
             "birthday": "1815-12-10", "unit": "Apt 4", "department": "R&D", "position": "Analyst",
             "employment_type": "Full-Time", "start_date": "2024-01-15", "company_name": "Engines",
             "wedding_anniversary": "2018-06-20", "employment_status": "active",
             "client_since": "2020-03-01", "classification": "VIP", "address_validated": True,
             "address_forced": False, "address_verified": True}  # fmt: skip
    contact = create(cm, **extra)
    assert {k: contact[k] for k in extra} == extra


def test_create_trims_strings_and_reads_empty_ones_as_null(cm: httpx.Client) -> None:
    contact = create(cm, first_name="  Ada ", department="")
    assert (contact["first_name"], contact["department"]) == ("Ada", None)


def test_create_does_not_refuse_a_duplicate_email(cm: httpx.Client) -> None:
    assert create(cm)["id"] != create(cm)["id"]


def test_get_answers_the_contact_in_data(cm: httpx.Client) -> None:
    contact = create(cm)
    response = cm.get(f"/v2/contacts/{contact['id']}")
    assert response.status_code == 200
    assert response.json() == {"data": contact}


def test_get_of_an_unknown_id_is_404(cm: httpx.Client) -> None:
    response = cm.get("/v2/contacts/999")
    assert response.status_code == 404
    assert response.json() == {"message": "Contact not found."}


def test_get_of_a_non_numeric_id_is_404(cm: httpx.Client) -> None:
    assert cm.get("/v2/contacts/abc").status_code == 404


def test_v1_answers_like_v2(cm: httpx.Client) -> None:
    contact = create(cm)
    assert cm.get(f"/v1/contacts/{contact['id']}").json() == {"data": contact}


# ---------------------------------------------------------------------------- update


def test_update_replaces_the_record_and_clears_omitted_optionals(cm: httpx.Client) -> None:
    contact = create(cm, phone_number="512-555-0147", position="Analyst", lists=[1], labels=[7])
    response = cm.put(f"/v2/contacts/{contact['id']}", json={**ADA, "first_name": "Augusta"})
    assert response.status_code == 200
    updated = response.json()["data"]
    assert updated["first_name"] == "Augusta"
    assert (updated["phone_number"], updated["position"]) == (None, None)
    assert (updated["lists"], updated["labels"]) == ([], [])


def test_update_is_what_a_later_get_reads(cm: httpx.Client) -> None:
    contact = create(cm)
    updated = cm.put(f"/v2/contacts/{contact['id']}", json={**ADA, "city": "Dallas"}).json()["data"]
    assert cm.get(f"/v2/contacts/{contact['id']}").json()["data"] == updated


def test_update_moves_updated_at_and_keeps_created_at(cm: httpx.Client) -> None:
    contact = create(cm)
    cm.post("/__admin/clock", json={"advance": 5})
    updated = cm.put(f"/v2/contacts/{contact['id']}", json=ADA).json()["data"]
    assert updated["created_at"] == contact["created_at"]
    assert updated["updated_at"] > contact["updated_at"]


def test_update_accepts_unit_instead_of_address(cm: httpx.Client) -> None:
    contact = create(cm)
    body = {**{k: v for k, v in ADA.items() if k != "address"}, "unit": "Suite 9"}
    updated = cm.put(f"/v2/contacts/{contact['id']}", json=body).json()["data"]
    assert (updated["address"], updated["unit"]) == (None, "Suite 9")


def test_update_without_address_and_unit_is_422_on_both(cm: httpx.Client) -> None:
    contact = create(cm)
    body = {k: v for k, v in ADA.items() if k != "address"}
    response = cm.put(f"/v2/contacts/{contact['id']}", json=body)
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "address": ["The address field is required when unit is not present."],
        "unit": ["The unit field is required when address is not present."],
    }


def test_update_needs_the_whole_required_set(cm: httpx.Client) -> None:
    contact = create(cm)
    response = cm.put(f"/v2/contacts/{contact['id']}", json={"first_name": "Augusta"})
    assert response.status_code == 422
    assert response.json()["errors"]["email"] == ["The email field is required."]


def test_a_refused_update_changes_nothing(cm: httpx.Client) -> None:
    contact = create(cm)
    cm.put(f"/v2/contacts/{contact['id']}", json={**ADA, "first_name": "Augusta", "email": "nope"})
    assert cm.get(f"/v2/contacts/{contact['id']}").json()["data"] == contact


def test_update_of_an_unknown_id_is_404(cm: httpx.Client) -> None:
    response = cm.put("/v2/contacts/999", json=ADA)
    assert response.status_code == 404
    assert response.json() == {"message": "Contact not found."}


def test_update_ignores_unknown_and_read_only_keys(cm: httpx.Client) -> None:
    contact = create(cm)
    body = {**contact, "id": 77, "created_at": "2001-01-01T00:00:00.000Z", "nickname": "Ada"}
    updated = cm.put(f"/v2/contacts/{contact['id']}", json=body).json()["data"]
    assert (updated["id"], updated["created_at"]) == (contact["id"], contact["created_at"])
    assert "nickname" not in updated


def test_patch_is_not_a_method_of_a_contact(cm: httpx.Client) -> None:
    contact = create(cm)
    response = cm.patch(f"/v2/contacts/{contact['id']}", json={"first_name": "A"})
    assert response.status_code == 405
    assert "PATCH method is not supported" in response.json()["message"]


# ---------------------------------------------------------------------------- delete


def test_delete_answers_204_and_the_contact_is_gone(cm: httpx.Client) -> None:
    contact = create(cm)
    response = cm.delete(f"/v2/contacts/{contact['id']}")
    assert (response.status_code, response.content) == (204, b"")
    assert cm.get(f"/v2/contacts/{contact['id']}").status_code == 404


def test_a_deleted_contact_leaves_the_list(cm: httpx.Client) -> None:
    first, second = create(cm), create(cm)
    cm.delete(f"/v2/contacts/{first['id']}")
    assert [c["id"] for c in cm.get("/v2/contacts").json()["data"]] == [second["id"]]


def test_delete_of_an_unknown_id_is_404(cm: httpx.Client) -> None:
    assert cm.delete("/v2/contacts/999").status_code == 404


def test_a_deleted_contacts_id_is_not_reused(cm: httpx.Client) -> None:
    contact = create(cm)
    cm.delete(f"/v2/contacts/{contact['id']}")
    assert create(cm)["id"] == contact["id"] + 1


# ---------------------------------------------------------------------------- catalogues and routes


def test_lists_catalogue_answers_ids_and_names(cm: httpx.Client) -> None:
    response = cm.get("/v2/lists")
    assert response.status_code == 200
    assert response.json() == {"data": [{"id": 1, "name": "Gift"}, {"id": 2, "name": "Kit"}]}


def test_labels_catalogue_answers_ids_and_names(cm: httpx.Client) -> None:
    assert cm.get("/v2/labels").json() == {"data": [{"id": 7, "name": "vip"}]}


def test_catalogues_need_the_token(cm: httpx.Client) -> None:
    assert cm.get("/v2/labels", headers={"Authorization": ""}).status_code == 401


def test_an_unknown_path_is_404_with_laravels_message(cm: httpx.Client) -> None:
    response = cm.get("/v2/companies")
    assert response.status_code == 404
    assert response.json() == {"message": "The route v2/companies could not be found."}


def test_an_unknown_version_is_404(cm: httpx.Client) -> None:
    assert cm.get("/v3/contacts").status_code == 404
