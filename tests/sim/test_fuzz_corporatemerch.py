"""Fuzzing of the CorporateMerch simulator's contact endpoints, which no OpenAPI document covers.

Bodies are drawn from the fields the vendor documents (apis.md 3.4-3.5: names, enums, ``Y-m-d``
dates, 2-letter countries, state codes, int32 list and label ids), each holding either a value of
its documented kind or an arbitrary JSON value, plus unknown keys; whole bodies are also arbitrary
JSON or bytes. Whatever arrives, the answer is never 5xx. Runs are bounded and derandomized.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fuzz_values import JSON_VALUES, QUERY_TEXT, TEXT
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim

TOKEN = "sim-cm-token-fuzz"
FUZZ = settings(
    max_examples=75,
    deadline=None,
    derandomize=True,
    database=None,
    # ``cm`` resets the simulator once per test; the examples share it, as requests share a system.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
LIST_IDS = (3, 4)
LABEL_IDS = (5,)

DATES = st.one_of(
    st.dates().map(lambda d: d.strftime("%Y-%m-%d")),
    st.sampled_from(["2024-02-30", "1990-1-5", "15/01/1990", "0000-00-00", "１９９０-01-15"]),
)
IDS = st.one_of(
    st.sampled_from([*LIST_IDS, *LABEL_IDS, 0, -1, 2**31, "3", " 4 ", "²"]),
    st.integers(),
    JSON_VALUES,
)
STRINGS = st.one_of(TEXT, st.text(min_size=250, max_size=260), st.sampled_from(["Gr\ud800ce", "\udfff "]))
# What the vendor documents for each field.
DOCUMENTED: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["employee", "client", "Client", ""]),
    "first_name": STRINGS,
    "last_name": STRINGS,
    "email": st.one_of(st.emails(), st.sampled_from(["ada@example.test", "a@b", "@x.com", " a@x.io "])),
    "phone_number": STRINGS,
    "gender": st.sampled_from(["male", "female", "other"]),
    "shirt_size": st.sampled_from(["XS", "SM", "MD", "LG", "XL", "2XL", "3XL", "XXL"]),
    "birthday": DATES,
    "country": st.sampled_from(["US", "CA", "DE", "us", "USA", "ZZ", ""]),
    "address": STRINGS,
    "unit": STRINGS,
    "address2": STRINGS,
    "city": STRINGS,
    "state": st.sampled_from(["TX", "ON", "PR", "Bavaria", "tx", ""]),
    "zip_code": st.one_of(STRINGS, st.integers()),
    "department": STRINGS,
    "position": STRINGS,
    "employment_type": STRINGS,
    "employment_status": st.sampled_from(["active", "inactive"]),
    "start_date": DATES,
    "company_name": STRINGS,
    "wedding_anniversary": DATES,
    "client_since": DATES,
    "classification": STRINGS,
    "address_validated": st.sampled_from([True, False, 1, 0, "1", "0", "true", 2]),
    "address_forced": st.sampled_from([True, False, "yes"]),
    "address_verified": st.sampled_from([True, None, ""]),
    "lists": st.lists(IDS, max_size=4),
    "labels": st.lists(IDS, max_size=4),
}
VALID = {
    "type": "client", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
    "country": "US", "address": "1 Main St", "city": "Austin", "state": "TX", "zip_code": "78701",
}  # fmt: skip
FIELDS = {name: st.one_of(kind, JSON_VALUES) for name, kind in DOCUMENTED.items()}
# Any subset of the fields, plus unknown keys...
ANY_FIELDS = st.fixed_dictionaries({}, optional=FIELDS).flatmap(
    lambda body: st.dictionaries(TEXT, JSON_VALUES, max_size=2).map(lambda extra: {**extra, **body})
)
# ...or a valid contact with one or two values changed, which is stored and then read back.
NEAR_VALID = st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=2, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({name: FIELDS[name] for name in names})
).map(lambda changes: {**VALID, **changes})
CONTACTS = st.one_of(ANY_FIELDS, NEAR_VALID)
BODIES = st.one_of(CONTACTS, JSON_VALUES, st.binary(max_size=40))
CONTACT_IDS = st.one_of(
    st.sampled_from(["1", "2", "0", "01", "-1", "99999999999999999999", "1.0"]), QUERY_TEXT
)
SETTINGS = {
    "defaults": {},
    "switched": {
        "reject_unknown": True,
        "secondary_line": "address2",
        "string_ids": True,
        "us_territories": True,
        "foreign_state_required": False,
        "clear_omitted": False,
        "list_memberships": False,
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    sim = CorporateMerchSim(token=TOKEN)
    thread = ServerThread(sim.app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with thread, httpx.Client(base_url=thread.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture(params=list(SETTINGS))
def cm(server: httpx.Client, request: pytest.FixtureRequest) -> httpx.Client:
    server.post("/__admin/reset").raise_for_status()
    server.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    server.put("/__admin/settings", json=SETTINGS[request.param]).raise_for_status()
    server.post("/__admin/lists", json={"lists": [{"id": i, "name": f"List {i}"} for i in LIST_IDS]})
    server.post("/__admin/labels", json={"labels": [{"id": i, "name": f"Label {i}"} for i in LABEL_IDS]})
    server.post("/v2/contacts", json=VALID).raise_for_status()
    return server


def send(cm: httpx.Client, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
    if isinstance(body, bytes):
        content = body
    else:
        content = None if body is None else json.dumps(body).encode()  # lone surrogates as \\u escapes
    note(f"sent {method} {path} params={params!r} body={content!r}")
    headers = {"Content-Type": "application/json"}
    response = cm.request(method, path, content=content, params=params or None, headers=headers)
    assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
    return response


@FUZZ
@given(body=BODIES, version=st.sampled_from(["v2", "v1"]))
def test_create_never_answers_5xx(cm: httpx.Client, body: Any, version: str) -> None:
    send(cm, "POST", f"/{version}/contacts", body)


@FUZZ
@given(contact_id=CONTACT_IDS, body=BODIES)
def test_update_never_answers_5xx(cm: httpx.Client, contact_id: str, body: Any) -> None:
    send(cm, "PUT", f"/v2/contacts/{quote(contact_id, safe='')}", body)


@FUZZ
@given(contact_id=CONTACT_IDS, method=st.sampled_from(["GET", "DELETE", "PATCH", "POST"]))
def test_reading_and_deleting_never_answer_5xx(cm: httpx.Client, contact_id: str, method: str) -> None:
    send(cm, method, f"/v2/contacts/{quote(contact_id, safe='')}")


@FUZZ
@given(page=QUERY_TEXT, limit=QUERY_TEXT, path=st.sampled_from(["/v2/contacts", "/v2/lists", "/v2/labels"]))
def test_listing_never_answers_5xx(cm: httpx.Client, page: str, limit: str, path: str) -> None:
    send(cm, "GET", path, page=page, limit=limit)
