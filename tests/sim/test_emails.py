"""Each simulator accepts the email addresses its vendor accepts and refuses the ones it refuses.

LeadConnector follows validator.js ``isEmail`` with its default options (class-validator
``@IsEmail()``, whose message ``email must be an email`` the API answers); the tables are
validator.js's own test cases (``test/validators/isEmail.test.js``, default options) plus the
special-use domains email-validator refuses and validator.js does not. Apollo and CorporateMerch
document no rule beyond "valid email"; they take email-validator's syntax without its refusal of
special-use domains.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim
from syncengine.sim.emails import is_address, is_email
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

VALIDATOR_JS_ACCEPTS = [
    "foo@bar.com",
    "x@x.au",
    "foo@bar.com.au",
    "foo+bar@bar.com",
    "hans.m端ller@test.com",
    "hans@m端ller.com",
    "test|123@m端ller.com",
    "test123+ext@gmail.com",
    "some.name.midd.leNa.me.and.locality+extension@GoogleMail.com",
    '"foobar"@example.com',
    '"  foo  m端ller "@example.com',
    '"foo\\@bar"@example.com',
    f"{'a' * 64}@{'a' * 63}.com",
    f"{'a' * 31}@gmail.com",
    "test@gmail.com",
    "test.1@gmail.com",
    "test@1337.com",
    # special-use names, which validator.js does not know
    "name@company.test",
    "name@host.local",
    "name@service.onion",
    "name@box.localhost",
    "name@reverse.arpa",
    "name@nothing.invalid",
    "a@xn--bcher-kva.ch",
    "a@b\U0001f600.com",  # a surrogate pair in a label passes the label pattern
]
VALIDATOR_JS_REFUSES = [
    "invalidemail@",
    "invalid.com",
    "@invalid.com",
    "foo@bar.com.",
    "foo@_bar.com",
    "somename@ｇｍａｉｌ.com",
    "foo@bar.co.uk.",
    "z@co.c",
    "ｇｍａｉｌｇｍａｉｌｇｍａｉｌｇｍａｉｌｇｍａｉｌ@gmail.com",  # 75 UTF-8 bytes before the @
    f"{'a' * 64}@{'a' * 251}.com",
    f"{'a' * 65}@{'a' * 250}.com",
    f"{'a' * 64}@{'a' * 64}.com",
    f"{'a' * 64}@{'a' * 63}.{'a' * 63}.{'a' * 63}.{'a' * 58}.com",
    "test1@invalid.co m",
    "test12@invalid.co\u3000m",
    "test13@invalid.co\u2002m",
    "test14@invalid.co\ufeffm",
    "multiple..dots@stillinvalid.com",
    "test123+invalid! sub_address@gmail.com",
    "gmail...ignores...dots...@gmail.com",
    "ends.with.dot.@gmail.com",
    'wrong()[]",:;<>@@gmail.com',
    '"wrong()[]",:;<>@@gmail.com',
    "username@domain.com\ufffd",
    "username@domain.com©",
    "nbsp\u00a0test@test.com",
    "nbsp_test@te st.com",
    '"foobar@gmail.com',
    '"foo"bar@gmail.com',
    'foo"bar"@gmail.com',
    "\ud800@example.com",
    "\udc00@example.com",
    "name@localhost",  # no TLD
    "name@1.2.3.4",  # allow_ip_domain is off
    "\U0001f600@example.com",  # a surrogate pair is outside the local part's ranges
    "a@b.co\U0001f600",
]


@pytest.mark.parametrize("address", VALIDATOR_JS_ACCEPTS)
def test_is_email_accepts_what_validator_js_accepts(address: str) -> None:
    assert is_email(address)


@pytest.mark.parametrize("address", VALIDATOR_JS_REFUSES)
def test_is_email_refuses_what_validator_js_refuses(address: str) -> None:
    assert not is_email(address)


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("name@company.test", True),
        ("name@host.local", True),
        ("name@service.onion", True),
        ("ada@example.com", True),
        (" ada@example.com ", True),
        ("name@localhost", False),
        ("name@", False),
        ("z@co", False),
        ('"quoted"@example.com', False),
        ("a..b@example.com", False),
        (f"a@{'b' * 64}.test", False),  # the stand-in label keeps the 63-character limit
    ],
)
def test_is_address_is_email_validator_without_the_special_use_refusal(address: str, valid: bool) -> None:
    assert is_address(address) is valid


# ---------------------------------------------------------------------------- through the APIs


@pytest.fixture(scope="module")
def lc() -> Iterator[httpx.Client]:
    sim = LeadConnectorSim(token="lc-token")
    headers = {"Authorization": "Bearer lc-token", "Version": "2021-07-28"}
    with ServerThread(sim.app) as thread, httpx.Client(base_url=thread.url, headers=headers) as client:
        client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
        yield client


@pytest.mark.parametrize("address", ["name@company.test", "ops@printer.local", '"j doe"@example.com'])
def test_leadconnector_stores_an_address_validator_js_accepts(lc: httpx.Client, address: str) -> None:
    body = {"locationId": "SimLocation000000001", "email": address}
    created = lc.post("/contacts/", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["contact"]["email"] == address
    updated = lc.put(f"/contacts/{created.json()['contact']['id']}", json={"email": address})
    assert updated.status_code == 200, updated.text


@pytest.mark.parametrize("address", ["z@co.c", "name@localhost", "foo@bar.com."])
def test_leadconnector_refuses_what_validator_js_refuses(lc: httpx.Client, address: str) -> None:
    response = lc.post("/contacts/upsert", json={"locationId": "SimLocation000000001", "email": address})
    assert response.status_code == 422, response.text
    assert response.json()["message"] == ["email must be an email"]


def test_apollo_keeps_an_address_on_a_special_use_domain() -> None:
    sim = ApolloSim(api_key="key")
    with ServerThread(sim.app) as thread, httpx.Client(base_url=f"{thread.url}/api/v1") as client:
        response = client.post("/contacts", json={"first_name": "Ada", "email": "name@company.test"},
                               headers={"x-api-key": "key"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["contact"]["email"] == "name@company.test"


def test_corporatemerch_accepts_an_address_on_a_special_use_domain() -> None:
    sim = CorporateMerchSim(token="cm-token")
    body = {
        "type": "client", "first_name": "Ada", "last_name": "Lovelace", "email": "name@company.test",
        "country": "US", "address": "1 Main St", "city": "Austin", "state": "TX", "zip_code": "78701",
    }  # fmt: skip
    with ServerThread(sim.app) as thread, httpx.Client(base_url=thread.url) as client:
        response = client.post("/v2/contacts", json=body, headers={"Authorization": "Bearer cm-token"})
    assert response.status_code == 201, response.text
    assert response.json()["data"]["email"] == "name@company.test"
