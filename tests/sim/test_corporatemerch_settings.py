"""The CorporateMerch simulator's switches for the open questions (apis.md section 6, 19-24), each
set over ``PUT /__admin/settings`` or the constructor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim

TOKEN = "sim-cm-token-settings"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
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
def server() -> Iterator[httpx.Client]:
    sim = CorporateMerchSim(token=TOKEN)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers=HEADERS, timeout=5) as client:
        yield client


@pytest.fixture
def cm(server: httpx.Client) -> httpx.Client:
    server.post("/__admin/reset").raise_for_status()
    server.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    server.post("/__admin/labels", json={"labels": [{"id": 1, "name": "vip"}]}).raise_for_status()
    return server


def settings(cm: httpx.Client, **values: Any) -> None:
    cm.put("/__admin/settings", json=values).raise_for_status()


def create(cm: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = cm.post("/v2/contacts", json={**ADA, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_the_defaults_follow_the_documentation(cm: httpx.Client) -> None:
    assert cm.get("/__admin/settings").json() == {
        "clear_omitted": True,
        "reject_unknown": False,
        "delete_enabled": True,
        "list_memberships": True,
        "secondary_line": "unit",
        "string_ids": False,
        "us_territories": False,
        "foreign_state_required": True,
        "versions": ["v1", "v2"],
    }


def test_an_unknown_setting_is_refused_by_name(cm: httpx.Client) -> None:
    response = cm.put("/__admin/settings", json={"clear_omited": False})
    assert response.status_code == 400
    assert "clear_omited" in response.json()["error"]


def test_a_bad_value_changes_no_setting(cm: httpx.Client) -> None:
    response = cm.put("/__admin/settings", json={"reject_unknown": True, "secondary_line": "line2"})
    assert response.status_code == 400
    assert cm.get("/__admin/settings").json()["reject_unknown"] is False


def test_constructor_settings_are_the_simulators_defaults() -> None:
    sim = CorporateMerchSim(delete_enabled=False)
    sim.configure({"delete_enabled": True})
    sim.reset()
    assert sim.settings.delete_enabled is False


def test_update_keeps_omitted_optionals_when_clearing_is_off(cm: httpx.Client) -> None:
    settings(cm, clear_omitted=False)
    contact = create(cm, position="Analyst", labels=[1])
    updated = cm.put(f"/v2/contacts/{contact['id']}", json={**ADA, "city": "Dallas"}).json()["data"]
    assert (updated["city"], updated["position"], updated["labels"]) == ("Dallas", "Analyst", [1])


def test_with_clearing_off_a_null_still_clears(cm: httpx.Client) -> None:
    settings(cm, clear_omitted=False)
    contact = create(cm, position="Analyst")
    updated = cm.put(f"/v2/contacts/{contact['id']}", json={**ADA, "position": None}).json()["data"]
    assert updated["position"] is None


def test_unknown_keys_get_422_each_when_rejected(cm: httpx.Client) -> None:
    settings(cm, reject_unknown=True)
    response = cm.post("/v2/contacts", json={**ADA, "nickname": "A", "id": 3})
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "nickname": ["The nickname field is prohibited."],
        "id": ["The id field is prohibited."],
    }


def test_delete_answers_405_when_disabled(cm: httpx.Client) -> None:
    settings(cm, delete_enabled=False)
    contact = create(cm)
    response = cm.delete(f"/v2/contacts/{contact['id']}")
    assert response.status_code == 405
    assert response.json()["message"].endswith("Supported methods: GET, PUT.")
    assert cm.get(f"/v2/contacts/{contact['id']}").status_code == 200


def test_the_list_can_leave_out_memberships(cm: httpx.Client) -> None:
    settings(cm, list_memberships=False)
    contact = create(cm, labels=[1])
    [listed] = cm.get("/v2/contacts").json()["data"]
    assert "labels" not in listed and "lists" not in listed
    assert cm.get(f"/v2/contacts/{contact['id']}").json()["data"]["labels"] == [1]


def test_the_secondary_line_can_be_named_address2(cm: httpx.Client) -> None:
    settings(cm, secondary_line="address2")
    contact = create(cm, address2="Suite 9")
    body = {**{k: v for k, v in ADA.items() if k != "address"}, "address2": "Suite 10"}
    updated = cm.put(f"/v2/contacts/{contact['id']}", json=body).json()["data"]
    assert (updated["address2"], updated["address"], "unit" in updated) == ("Suite 10", None, False)


def test_under_address2_the_unit_key_is_unknown(cm: httpx.Client) -> None:
    settings(cm, secondary_line="address2")
    contact = create(cm)
    body = {**{k: v for k, v in ADA.items() if k != "address"}, "unit": "Suite 9"}
    response = cm.put(f"/v2/contacts/{contact['id']}", json=body)
    assert set(response.json()["errors"]) == {"address", "address2"}


def test_ids_can_be_strings(cm: httpx.Client) -> None:
    settings(cm, string_ids=True)
    contact = create(cm)
    assert contact["id"] == "1"
    assert cm.get("/v2/contacts").json()["data"][0]["id"] == "1"


def test_us_territories_can_be_accepted(cm: httpx.Client) -> None:
    settings(cm, us_territories=True)
    assert create(cm, state="PR")["state"] == "PR"


def test_foreign_states_can_be_optional(cm: httpx.Client) -> None:
    settings(cm, foreign_state_required=False)
    assert create(cm, country="SG", state=None)["state"] is None


def test_us_state_stays_required_when_foreign_ones_are_optional(cm: httpx.Client) -> None:
    settings(cm, foreign_state_required=False)
    response = cm.post("/v2/contacts", json={**ADA, "state": None})
    assert response.json()["errors"] == {"state": ["The state field is required."]}


def test_one_version_can_be_switched_off(cm: httpx.Client) -> None:
    settings(cm, versions=["v2"])
    assert cm.get("/v1/contacts").status_code == 404
    assert cm.get("/v2/contacts").status_code == 200
