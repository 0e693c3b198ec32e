"""Contract tests of CorporateMerch's write validation: required fields, each value rule with its
Laravel-style 422 body, state codes per country and list/label ids (apis.md 3.4-3.7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim

TOKEN = "sim-cm-token-validation"
ADA = {
    "type": "client",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "country": "US",
    "address": "1 Main St",
    "city": "Austin",
    "state": "TX",
    "zip_code": "78701",
}
REQUIRED = ("type", "first_name", "last_name", "email", "country", "address", "city", "state", "zip_code")


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    sim = CorporateMerchSim(token=TOKEN)
    thread = ServerThread(sim.app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with thread, httpx.Client(base_url=thread.url, headers=headers, timeout=5) as client:
        yield client


@pytest.fixture
def cm(server: httpx.Client) -> httpx.Client:
    server.post("/__admin/reset").raise_for_status()
    server.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    server.post("/__admin/lists", json={"lists": [{"id": 3, "name": "Gift"}]}).raise_for_status()
    server.post("/__admin/labels", json={"labels": [{"id": 5, "name": "vip"}]}).raise_for_status()
    return server


def errors_of(cm: httpx.Client, **fields: Any) -> dict[str, list[str]]:
    response = cm.post("/v2/contacts", json={**ADA, **fields})
    assert response.status_code == 422, response.text
    return response.json()["errors"]


# ---------------------------------------------------------------------------- required fields


@pytest.mark.parametrize("field", REQUIRED)
def test_create_without_a_required_field_names_it(cm: httpx.Client, field: str) -> None:
    body = {k: v for k, v in ADA.items() if k != field}
    response = cm.post("/v2/contacts", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "message": f"The {field} field is required.",
        "errors": {field: [f"The {field} field is required."]},
    }


def test_a_null_required_field_counts_as_missing(cm: httpx.Client) -> None:
    assert errors_of(cm, email=None) == {"email": ["The email field is required."]}


def test_a_blank_required_field_counts_as_missing(cm: httpx.Client) -> None:
    assert errors_of(cm, city="   ") == {"city": ["The city field is required."]}


def test_create_needs_address_even_with_unit(cm: httpx.Client) -> None:
    body = {**{k: v for k, v in ADA.items() if k != "address"}, "unit": "Apt 4"}
    response = cm.post("/v2/contacts", json=body)
    assert response.json()["errors"] == {"address": ["The address field is required."]}


def test_the_message_counts_the_further_errors(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", json={"type": "client", "first_name": "Ada", "last_name": "L"})
    assert response.json()["message"] == "The email field is required. (and 5 more errors)"


def test_the_message_says_error_for_one_more(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", json={**ADA, "email": None, "city": None})
    assert response.json()["message"] == "The email field is required. (and 1 more error)"


def test_a_body_that_is_not_json_reads_as_empty(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == set(REQUIRED)


# ---------------------------------------------------------------------------- value rules


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("type", "lead", "The selected type is invalid."),
        ("gender", "other", "The selected gender is invalid."),
        ("shirt_size", "M", "The selected shirt_size is invalid."),
        ("email", "not-an-email", "The email field must be a valid email address."),
        ("first_name", 42, "The first_name field must be a string."),
        ("company_name", "x" * 256, "The company_name field must not be greater than 255 characters."),
        ("country", "USA", "The country field must be 2 characters."),
        ("country", "us", "The country field must be uppercase."),
        ("country", "ZZ", "The selected country is invalid."),
        ("birthday", "1990-1-15", "The birthday field must match the format Y-m-d."),
        ("birthday", "15/01/1990", "The birthday field must match the format Y-m-d."),
        ("start_date", "2023-02-30", "The start_date field must match the format Y-m-d."),
        ("wedding_anniversary", "2018-06-20T00:00:00Z",
         "The wedding_anniversary field must match the format Y-m-d."),
        ("client_since", "2020-13-01", "The client_since field must match the format Y-m-d."),
        ("address_validated", "yes", "The address_validated field must be true or false."),
        ("address_forced", 2, "The address_forced field must be true or false."),
        ("lists", 3, "The lists field must be an array."),
        ("lists", ["three"], "The lists.0 field must be an integer."),
        ("lists", [99], "The selected lists.0 is invalid."),
        ("labels", [5, 6], "The selected labels.1 is invalid."),
        ("labels", [True], "The labels.0 field must be an integer."),
    ],
)  # fmt: skip
def test_each_rule_answers_its_message(cm: httpx.Client, field: str, value: Any, message: str) -> None:
    errors = errors_of(cm, **{field: value})
    key = next(iter(errors))
    assert errors == {key: [message]}
    assert key.split(".")[0] == field


@pytest.mark.parametrize("value", [True, False, 1, 0, "1", "0"])
def test_booleans_take_laravels_spellings(cm: httpx.Client, value: Any) -> None:
    response = cm.post("/v2/contacts", json={**ADA, "address_verified": value})
    assert response.json()["data"]["address_verified"] is (value in (True, 1, "1"))


def test_a_leap_day_is_a_real_date(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", json={**ADA, "birthday": "2024-02-29"})
    assert response.json()["data"]["birthday"] == "2024-02-29"


def test_list_ids_may_be_digit_strings(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", json={**ADA, "lists": ["3"], "labels": [5, 5]})
    assert (response.json()["data"]["lists"], response.json()["data"]["labels"]) == ([3], [5])


def test_null_lists_are_empty_lists(cm: httpx.Client) -> None:
    assert cm.post("/v2/contacts", json={**ADA, "lists": None}).json()["data"]["lists"] == []


def test_the_email_keeps_its_case(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", json={**ADA, "email": "Ada.L@Example.COM"})
    assert response.json()["data"]["email"] == "Ada.L@Example.COM"


def test_phone_numbers_are_stored_as_typed(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", json={**ADA, "phone_number": "(512) 555-0147"})
    assert response.json()["data"]["phone_number"] == "(512) 555-0147"


# ---------------------------------------------------------------------------- state codes


@pytest.mark.parametrize(("country", "state"), [("US", "DC"), ("US", "WY"), ("CA", "QC"), ("CA", "YT")])
def test_us_and_canadian_codes_are_accepted(cm: httpx.Client, country: str, state: str) -> None:
    response = cm.post("/v2/contacts", json={**ADA, "country": country, "state": state})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("country", "state"), [("US", "ON"), ("US", "Texas"), ("US", "tx"), ("US", "PR"), ("CA", "TX")]
)
def test_a_code_outside_the_countrys_list_is_refused(cm: httpx.Client, country: str, state: str) -> None:
    assert errors_of(cm, country=country, state=state) == {"state": ["The selected state is invalid."]}


def test_other_countries_take_any_state_text(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", json={**ADA, "country": "DE", "state": "Bayern"})
    assert response.json()["data"]["state"] == "Bayern"


def test_other_countries_still_need_a_state(cm: httpx.Client) -> None:
    assert errors_of(cm, country="GB", state="") == {"state": ["The state field is required."]}
