"""Malformed requests get each vendor's 4xx, never a 5xx: the cases fuzzing found, pinned.

Wrong JSON types deep inside a body (unhashable where an id or a name goes), strings that
``str.isdigit`` takes but ``int`` refuses ("²"), dates outside the calendar once in UTC, the
non-standard JSON literals ``NaN``/``Infinity``, numbers beyond the double range, lone UTF-16
surrogates, and nesting deeper than the parser's stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

LOCATION = "SimLocation000000001"
LC_HEADERS = {"Authorization": "Bearer lc-token", "Version": "2021-07-28", "Content-Type": "application/json"}
APOLLO_HEADERS = {"x-api-key": "apollo-key", "Content-Type": "application/json"}
CM_HEADERS = {"Authorization": "Bearer cm-token", "Content-Type": "application/json"}
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def lc() -> Iterator[tuple[httpx.Client, str]]:
    sim = LeadConnectorSim(token="lc-token", location_id=LOCATION)
    sim.seed_custom_fields([{"id": "ScoreField0000000001", "name": "Score", "dataType": "NUMERICAL"}])
    contact_id = sim.seed_contacts([{"firstName": "Ada", "email": "ada@example.com"}])[0]["id"]
    with ServerThread(sim.app) as thread, httpx.Client(base_url=thread.url, headers=LC_HEADERS) as client:
        client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
        yield client, contact_id


@pytest.fixture(scope="module")
def apollo() -> Iterator[httpx.Client]:
    sim = ApolloSim(api_key="apollo-key")
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=f"{thread.url}/api/v1", headers=APOLLO_HEADERS) as client:
        client.put(f"{thread.url}/__admin/ratelimits", json={"enabled": False}).raise_for_status()
        yield client


@pytest.fixture(scope="module")
def cm() -> Iterator[httpx.Client]:
    sim = CorporateMerchSim(token="cm-token")
    with ServerThread(sim.app) as thread, httpx.Client(base_url=thread.url, headers=CM_HEADERS) as client:
        client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
        yield client


def search(extra: str) -> str:
    return f'{{"locationId": "{LOCATION}", "pageLimit": 10, {extra}}}'


# (method, path with {id} for the stored contact, raw body, status, expected message)
LC_CASES: dict[str, tuple[str, str, str, int, str]] = {
    "custom field id is an object": (
        "PUT", "/contacts/{id}", '{"customFields": [{"id": {}}]}', 422, "customFields.0.id must be a string"
    ),
    "custom field id is an array (create)": (
        "POST", "/contacts/", f'{{"locationId": "{LOCATION}", "customFields": [{{"id": []}}]}}', 422,
        "customFields.0.id must be a string",
    ),
    "custom field key is an object (upsert)": (
        "POST", "/contacts/upsert",
        f'{{"locationId": "{LOCATION}", "email": "ada@example.com", "customFields": [{{"key": {{}}}}]}}',
        422, "customFields.0.key must be a string",
    ),
    "dnd message is an object": (
        "PUT", "/contacts/{id}", '{"dndSettings": {"SMS": {"status": "active", "message": {}}}}', 422,
        "dndSettings.SMS.message must be a string",
    ),
    "sort field is an object": (
        "POST", "/contacts/search", search('"sort": [{"field": {}}]'), 422, "sort.0.field {} is not sortable"
    ),
    "filter field is an array": (
        "POST", "/contacts/search", search('"filters": [{"field": [], "operator": "eq", "value": "x"}]'),
        422, "filters.0.field [] is not a searchable field",
    ),
    "filter operator is an object": (
        "POST", "/contacts/search", search('"filters": [{"field": "city", "operator": {}, "value": "x"}]'),
        422, "filters.0.operator {} is not supported",
    ),
    "date beyond year 9999 in UTC": (
        "POST", "/contacts/search",
        search('"filters": [{"field": "dateAdded", "operator": "eq", "value": "9999-12-31T23:59:59-23:59"}]'),
        422, "is not a representable date",
    ),
    "number beyond the double range": (
        "POST", "/contacts/search",
        search('"filters": [{"field": "dateAdded", "operator": "eq", "value": 1e400}]'), 400,
        "Unexpected token in JSON",
    ),
    "NaN literal": (
        "POST", "/contacts/",
        f'{{"locationId": "{LOCATION}", "customFields": [{{"id": "ScoreField0000000001", '
        '"field_value": NaN}]}',
        400, "Unexpected token in JSON",
    ),
    "nesting deeper than the parser's stack": (
        "PUT", "/contacts/{id}", DEEP, 400, "Unexpected token in JSON"
    ),
    "limit in superscript digits": (
        "GET", f"/contacts/?locationId={LOCATION}&limit=%C2%B2", "", 422, "limit"
    ),
    "startAfter in superscript digits": (
        "GET", f"/contacts/?locationId={LOCATION}&startAfter=%C2%B2", "", 422, "startAfter"
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(LC_CASES))
def test_leadconnector_answers_malformed_input_with_its_4xx(lc: tuple[httpx.Client, str], name: str) -> None:
    client, contact_id = lc
    method, path, body, status, message = LC_CASES[name]
    response = client.request(method, path.format(id=contact_id), content=body.encode())
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["statusCode"] == status
    assert answer["error"] == ("Bad Request" if status == 400 else "Unprocessable Entity")
    messages = answer["message"] if isinstance(answer["message"], list) else [answer["message"]]
    assert any(message in m for m in messages), messages


def test_leadconnector_keeps_a_lone_surrogate_as_the_replacement_character(
    lc: tuple[httpx.Client, str],
) -> None:
    client, _ = lc
    body = f'{{"locationId": "{LOCATION}", "firstName": "Gr\\ud800ce", "tags": ["\\udc00"]}}'
    created = client.post("/contacts/", content=body.encode())
    assert created.status_code == 201, created.text
    contact = client.get(f"/contacts/{created.json()['contact']['id']}").json()["contact"]
    assert (contact["firstName"], contact["tags"]) == ("Gr\ufffdce", ["\ufffd"])
    assert client.get(f"/locations/{LOCATION}/tags").status_code == 200
    refused = client.post("/contacts/search", content=search('"\\ud800": 1').encode())
    assert refused.status_code == 422
    assert refused.json()["message"] == ["property \ufffd should not exist"]


APOLLO_CASES: dict[str, tuple[str, str, str, int, Any]] = {
    "sort field is an object": ("POST", "/contacts/search", '{"sort_by_field": {}}', 200, None),
    "page in superscript digits": ("POST", "/contacts/search", '{"page": "\u00b2"}', 200, None),
    "per_page in superscript digits": ("POST", "/contacts/search", '{"per_page": "\u00b2"}', 200, None),
    "bulk owner is an object": (
        "POST", "/contacts/bulk_create", '{"contacts": [{"first_name": "A"}], "owner_id": {}}', 422,
        "Parameters misconfigured. {} is not a valid ID",
    ),
    "dedupe on a name that is a number": (
        "POST", "/contacts/bulk_create", '{"contacts": [{"name": 5}], "run_dedupe": true}', 200, None
    ),
    "dedupe on a name that is an object": (
        "POST", "/contacts", '{"name": {}, "run_dedupe": true}', 200, None
    ),
    "NaN literal": ("POST", "/contacts", '{"first_name": NaN}', 400, "Invalid JSON in request body"),
    "nesting deeper than the parser's stack": (
        "POST", "/contacts/bulk_create", DEEP, 400, "Invalid JSON in request body"
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(APOLLO_CASES))
def test_apollo_answers_malformed_input_with_its_answer(apollo: httpx.Client, name: str) -> None:
    method, path, body, status, error = APOLLO_CASES[name]
    response = apollo.request(method, path, content=body.encode())
    assert response.status_code == status, response.text
    if error is not None:
        assert response.json()["error"].startswith(error)


def test_apollo_keeps_a_lone_surrogate_as_the_replacement_character(apollo: httpx.Client) -> None:
    created = apollo.post("/contacts/bulk_create", content=b'{"contacts": [{"first_name": "Gr\\ud800ce"}]}')
    assert created.status_code == 200, created.text
    contact_id = created.json()["created_contacts"][0]["id"]
    assert apollo.get(f"/contacts/{contact_id}").json()["contact"]["first_name"] == "Gr\ufffdce"


@pytest.mark.parametrize(
    "body",
    ['{"first_name": "Gr\\ud800ce"}', '{"first_name": NaN}', '{"first_name": 1e400}', DEEP],
    ids=["lone surrogate", "NaN", "beyond double range", "deep nesting"],
)
def test_corporatemerch_reads_a_body_php_cannot_decode_as_no_input(cm: httpx.Client, body: str) -> None:
    response = cm.post("/v2/contacts", content=body.encode())
    assert response.status_code == 422, response.text
    assert response.json()["errors"]["first_name"] == ["The first_name field is required."]


def test_corporatemerch_orders_an_unknown_key_with_odd_digits(cm: httpx.Client) -> None:
    cm.put("/__admin/settings", json={"reject_unknown": True}).raise_for_status()
    try:
        response = cm.post("/v2/contacts", json={"lists.\u00b2": 1})
        assert response.status_code == 422, response.text
        assert response.json()["errors"]["lists.\u00b2"] == ["The lists.\u00b2 field is prohibited."]
    finally:
        cm.put("/__admin/settings", json={"reject_unknown": False}).raise_for_status()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/__admin/journal?since=x", ""),
        ("POST", "/__admin/clock", "{bad"),
        ("POST", "/__admin/clock", '{"advance": "soon"}'),
        ("PUT", "/__admin/ratelimits", "null"),
        ("PUT", "/__admin/faults", "[]"),
        ("PUT", "/__admin/state", "[]"),
    ],
)
def test_the_admin_surface_answers_bad_input_with_400(
    cm: httpx.Client, method: str, path: str, body: str
) -> None:
    response = cm.request(method, path, content=body.encode())
    assert response.status_code == 400, response.text
    assert response.json()["error"]
