"""Contract tests of the LeadConnector simulator's ``PUT /contacts/{id}``: partial update with a
strict whitelist, whole-list tags, per-field custom-field merge and value validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

LOCATION = "SimLocation000000001"
TOKEN = "sim-lc-token-update"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Version": "2021-07-28"}
FIELDS = [
    {"id": "PinCodeField00000001", "name": "Pin code", "dataType": "TEXT"},
    {
        "id": "ShirtSizeField000001",
        "name": "Shirt size",
        "dataType": "SINGLE_OPTIONS",
        "picklistOptions": ["S", "M"],
    },
    {"id": "SeatsField0000000001", "name": "Seats", "dataType": "NUMERICAL"},
]


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    sim = LeadConnectorSim(token=TOKEN, location_id=LOCATION, seed=5)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers=HEADERS, timeout=5) as client:
        yield client


@pytest.fixture
def lc(server: httpx.Client) -> httpx.Client:
    server.post("/__admin/reset").raise_for_status()
    server.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    server.post("/__admin/customFields", json={"customFields": FIELDS}).raise_for_status()
    return server


@pytest.fixture
def contact(lc: httpx.Client) -> dict[str, Any]:
    body = {
        "locationId": LOCATION,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "city": "London",
        "postalCode": "W1",
        "tags": ["vip", "math"],
        "customFields": [
            {"id": "PinCodeField00000001", "field_value": "12345"},
            {"id": "SeatsField0000000001", "field_value": 3},
        ],
    }
    response = lc.post("/contacts/", json=body)
    assert response.status_code == 201, response.text
    return response.json()["contact"]


def put(lc: httpx.Client, contact_id: str, body: dict[str, Any]) -> httpx.Response:
    return lc.put(f"/contacts/{contact_id}", json=body)


def updated(lc: httpx.Client, contact_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = put(lc, contact_id, body)
    assert response.status_code == 200, response.text
    return response.json()["contact"]


def test_put_answers_succeded_and_the_contact(lc: httpx.Client, contact: dict[str, Any]) -> None:
    response = put(lc, contact["id"], {"city": "Paris"})
    assert response.status_code == 200
    assert response.json()["succeded"] is True
    assert response.json()["contact"]["id"] == contact["id"]


def test_put_changes_only_the_fields_sent(lc: httpx.Client, contact: dict[str, Any]) -> None:
    after = updated(lc, contact["id"], {"city": "Paris"})
    assert after["city"] == "Paris"
    assert after["firstName"] == "Ada"
    assert after["email"] == "ada@example.com"
    assert after["tags"] == ["vip", "math"]


@pytest.mark.parametrize(
    "key",
    ["gender", "locationId", "id", "emailLowerCase", "firstNameLowerCase", "lastNameLowerCase",
     "fullNameLowerCase", "additionalEmails", "favouriteColour"],
)  # fmt: skip
def test_put_refuses_a_key_outside_the_whitelist(lc: httpx.Client, contact: dict[str, Any], key: str) -> None:
    response = put(lc, contact["id"], {key: "x", "city": "Paris"})
    assert response.status_code == 422
    assert response.json() == {
        "statusCode": 422,
        "message": [f"property {key} should not exist"],
        "error": "Unprocessable Entity",
    }


def test_a_refused_put_changes_nothing(lc: httpx.Client, contact: dict[str, Any]) -> None:
    put(lc, contact["id"], {"gender": "male", "city": "Paris"})
    assert lc.get(f"/contacts/{contact['id']}").json()["contact"]["city"] == "London"


@pytest.mark.parametrize(
    ("key", "value"),
    [("companyName", "Engines Ltd"), ("keyword", "math"), ("ssn", "123"), ("type", "customer")],
)
def test_put_accepts_the_fields_the_live_api_accepts(
    lc: httpx.Client, contact: dict[str, Any], key: str, value: str
) -> None:
    assert updated(lc, contact["id"], {key: value})[key] == value


def test_put_tags_replace_all_tags(lc: httpx.Client, contact: dict[str, Any]) -> None:
    assert updated(lc, contact["id"], {"tags": ["returning"]})["tags"] == ["returning"]


def test_put_custom_fields_merge_per_field(lc: httpx.Client, contact: dict[str, Any]) -> None:
    after = updated(
        lc, contact["id"], {"customFields": [{"id": "PinCodeField00000001", "field_value": "999"}]}
    )
    assert {f["id"]: f["value"] for f in after["customFields"]} == {
        "PinCodeField00000001": "999",
        "SeatsField0000000001": 3,
    }


def test_put_custom_field_by_key_with_field_value_camel_case(
    lc: httpx.Client, contact: dict[str, Any]
) -> None:
    after = updated(lc, contact["id"], {"customFields": [{"key": "contact.shirt_size", "fieldValue": "M"}]})
    assert {"id": "ShirtSizeField000001", "value": "M"} in after["customFields"]


def test_put_custom_field_null_clears_it(lc: httpx.Client, contact: dict[str, Any]) -> None:
    after = updated(
        lc, contact["id"], {"customFields": [{"id": "SeatsField0000000001", "field_value": None}]}
    )
    assert after["customFields"] == [{"id": "PinCodeField00000001", "value": "12345"}]


def test_put_custom_field_value_of_the_wrong_type_is_refused(
    lc: httpx.Client, contact: dict[str, Any]
) -> None:
    response = put(
        lc, contact["id"], {"customFields": [{"id": "SeatsField0000000001", "field_value": "many"}]}
    )
    assert response.status_code == 422


def test_put_custom_field_option_outside_the_picklist_is_refused(
    lc: httpx.Client, contact: dict[str, Any]
) -> None:
    response = put(
        lc, contact["id"], {"customFields": [{"id": "ShirtSizeField000001", "field_value": "XXL"}]}
    )
    assert response.status_code == 422


def test_put_unknown_custom_field_is_ignored_by_default(lc: httpx.Client, contact: dict[str, Any]) -> None:
    after = updated(lc, contact["id"], {"customFields": [{"id": "NoSuchField000000001", "field_value": "x"}]})
    assert len(after["customFields"]) == 2
    assert after["dateUpdated"] == contact["dateUpdated"]


def test_put_unknown_custom_field_is_refused_when_switched(lc: httpx.Client, contact: dict[str, Any]) -> None:
    lc.put("/__admin/settings", json={"unknown_custom_field": "reject"}).raise_for_status()
    response = put(lc, contact["id"], {"customFields": [{"id": "NoSuchField000000001", "field_value": "x"}]})
    assert response.status_code == 422


def test_put_null_clears_a_nullable_field(lc: httpx.Client, contact: dict[str, Any]) -> None:
    after = updated(lc, contact["id"], {"city": None})
    assert "city" not in after


def test_put_null_on_a_field_that_is_not_nullable_is_refused(
    lc: httpx.Client, contact: dict[str, Any]
) -> None:
    response = put(lc, contact["id"], {"postalCode": None})
    assert response.status_code == 422
    assert response.json()["message"] == ["postalCode must be a string"]


def test_put_name_alone_sets_first_and_last_name(lc: httpx.Client, contact: dict[str, Any]) -> None:
    after = updated(lc, contact["id"], {"name": "Augusta Ada King"})
    assert (after["firstName"], after["lastName"]) == ("Augusta", "Ada King")


@pytest.mark.parametrize(
    ("given", "stored"), [("(415) 555-0100", "+14155550100"), ("+44 20 7946 0958", "+442079460958")]
)
def test_put_stores_the_phone_as_e164(
    lc: httpx.Client, contact: dict[str, Any], given: str, stored: str
) -> None:
    assert updated(lc, contact["id"], {"phone": given})["phone"] == stored


@pytest.mark.parametrize("phone", ["12", "call me"])
def test_put_an_impossible_phone_is_refused(lc: httpx.Client, contact: dict[str, Any], phone: str) -> None:
    response = put(lc, contact["id"], {"phone": phone})
    assert response.status_code == 422
    assert response.json()["message"] == ["phone must be a valid phone number"]


@pytest.mark.parametrize("country", ["AN", "XK", "US"])
def test_put_accepts_a_code_of_the_lc_country_list(
    lc: httpx.Client, contact: dict[str, Any], country: str
) -> None:
    assert updated(lc, contact["id"], {"country": country})["country"] == country


@pytest.mark.parametrize("country", ["BL", "BQ", "CW", "SS", "USA", "us", "United States"])
def test_put_refuses_a_country_outside_the_lc_list(
    lc: httpx.Client, contact: dict[str, Any], country: str
) -> None:
    response = put(lc, contact["id"], {"country": country})
    assert response.status_code == 422
    assert response.json()["message"] == ["country must be a valid country code"]


@pytest.mark.parametrize(
    "given",
    [
        "1990/09/25",
        "09/25/1990",
        "1990-09-25",
        "09-25-1990",
        "1990.09.25",
        "09.25.1990",
        "1990_09_25",
        "09_25_1990",
    ],
)
def test_put_accepts_each_documented_birth_date_format(
    lc: httpx.Client, contact: dict[str, Any], given: str
) -> None:
    assert updated(lc, contact["id"], {"dateOfBirth": given})["dateOfBirth"] == "1990-09-25T00:00:00.000Z"


@pytest.mark.parametrize("given", ["25 Sep 1990", "1990-02-30"])
def test_put_refuses_a_birth_date_it_cannot_read(
    lc: httpx.Client, contact: dict[str, Any], given: str
) -> None:
    response = put(lc, contact["id"], {"dateOfBirth": given})
    assert response.status_code == 422
    assert response.json()["message"] == ["dateOfBirth must be a valid date"]


def test_put_refuses_an_invalid_email(lc: httpx.Client, contact: dict[str, Any]) -> None:
    response = put(lc, contact["id"], {"email": "ada-at-example"})
    assert response.status_code == 422
    assert response.json()["message"] == ["email must be an email"]


def test_put_reports_every_problem_at_once(lc: httpx.Client, contact: dict[str, Any]) -> None:
    response = put(lc, contact["id"], {"email": "nope", "country": "ZZ", "gender": "x"})
    assert sorted(response.json()["message"]) == [
        "country must be a valid country code",
        "email must be an email",
        "property gender should not exist",
    ]


def test_put_dnd_settings_merge_per_channel(lc: httpx.Client, contact: dict[str, Any]) -> None:
    updated(lc, contact["id"], {"dndSettings": {"SMS": {"status": "active"}}})
    after = updated(lc, contact["id"], {"dndSettings": {"Email": {"status": "inactive", "message": "asked"}}})
    assert after["dndSettings"] == {
        "SMS": {"status": "active"},
        "Email": {"status": "inactive", "message": "asked"},
    }


def test_put_dnd_setting_with_an_unknown_status_is_refused(lc: httpx.Client, contact: dict[str, Any]) -> None:
    response = put(lc, contact["id"], {"dndSettings": {"SMS": {"status": "maybe"}}})
    assert response.status_code == 422


def test_put_without_a_real_change_keeps_date_updated(lc: httpx.Client, contact: dict[str, Any]) -> None:
    lc.post("/__admin/clock", json={"advance": 30})
    assert updated(lc, contact["id"], {"city": "London"})["dateUpdated"] == contact["dateUpdated"]


def test_put_with_a_real_change_moves_date_updated(lc: httpx.Client, contact: dict[str, Any]) -> None:
    lc.post("/__admin/clock", json={"advance": 30})
    assert updated(lc, contact["id"], {"city": "Paris"})["dateUpdated"] > contact["dateUpdated"]


def test_put_an_email_of_another_contact_is_a_duplicate(lc: httpx.Client, contact: dict[str, Any]) -> None:
    other = lc.post("/contacts/", json={"locationId": LOCATION, "email": "bob@example.com"}).json()["contact"]
    response = put(lc, other["id"], {"email": "ada@example.com"})
    assert response.status_code == 400
    assert response.json()["meta"]["contactId"] == contact["id"]


def test_put_on_an_unknown_contact_is_a_400(lc: httpx.Client) -> None:
    response = put(lc, "NoSuchContact0000000", {"city": "Paris"})
    assert response.status_code == 400
    assert response.json()["message"] == "Contact with id NoSuchContact0000000 not found"
