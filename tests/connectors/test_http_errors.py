"""Non-2xx answers become typed errors that name system, method, path, status and the vendor's words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from syncengine.connectors.errors import (
    AuthError,
    ConfigError,
    DuplicateRecordError,
    MissingRecordError,
    Outcome,
    RecordError,
    Verdict,
    outcome_for_status,
)
from syncengine.connectors.http import HttpClient, RetryPolicy
from syncengine.connectors.ratelimit import ManualClock, RateLimiter
from syncengine.connectors.settings import Secret, SystemSettings
from syncengine.sim.core import ServerThread

hits: Counter[str] = Counter()

APOLLO_401 = "Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate."
# Vendor answers copied from the fact sheet (shared/apis.md 1.10, 2.4, 2.5, 3.7).
ANSWERS: dict[str, Response] = {
    "apollo-401": PlainTextResponse(APOLLO_401, status_code=401),
    "lc-403": JSONResponse(
        {"statusCode": 403, "message": "The token does not have access to this location."}, status_code=403
    ),
    "apollo-422": JSONResponse({"error": "Contact email is invalid"}, status_code=422),
    "apollo-deleted": JSONResponse({"error": "This contact has been deleted."}, status_code=422),
    "lc-422": JSONResponse(
        {"statusCode": 422, "message": ["property gender should not exist"], "error": "Unprocessable Entity"},
        status_code=422,
    ),
    "lc-duplicate": JSONResponse(
        {
            "statusCode": 400,
            "message": "This location does not allow duplicated contacts.",
            "meta": {"contactId": "Hc0xUAPbGk2bmLXbD3gF", "contactName": "Ada", "matchingField": "email"},
        },
        status_code=400,
    ),
    "lc-not-found": JSONResponse(
        {"statusCode": 400, "message": "Contact with id zzzzzzzzzzzzzzzzzzzz not found"}, status_code=400
    ),
    "cm-422": JSONResponse(
        {"message": "The given data was invalid.", "errors": {"email": ["The email field is required."]}},
        status_code=422,
    ),
    "404": JSONResponse({"message": "Not Found"}, status_code=404),
    "redirect": RedirectResponse("https://elsewhere.example/contacts", status_code=301),
    "html": Response("<html>login</html>", media_type="text/html"),
    "empty": Response(status_code=204),
}


async def answer(request: Request) -> Response:
    name = request.path_params["name"]
    hits[name] += 1
    return ANSWERS[name]


app = Starlette(routes=[Route("/answer/{name}", answer, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ServerThread(app) as server:
        yield server.url


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    hits.clear()


def client_for(url: str, system: str = "apollo") -> HttpClient:
    return HttpClient(
        SystemSettings(system, url, Secret("error-test-token"), location_id="loc"),
        limiter=RateLimiter(system, clock=ManualClock()),
        retry=RetryPolicy.without_backoff(attempts=3),
    )


def test_401_stops_with_an_auth_error_carrying_the_vendor_message(url: str) -> None:
    with client_for(url) as client, pytest.raises(AuthError) as caught:
        client.request("GET", "/answer/apollo-401")
    assert str(caught.value) == f"apollo GET /answer/apollo-401: HTTP 401 (credentials refused): {APOLLO_401}"
    assert hits["apollo-401"] == 1  # never retried


def test_403_is_an_auth_error(url: str) -> None:
    with client_for(url, "leadconnector") as client, pytest.raises(AuthError) as caught:
        client.request("GET", "/answer/lc-403")
    assert caught.value.status == 403
    assert caught.value.vendor_message == "The token does not have access to this location."


def test_422_is_a_record_error_with_the_body_message_and_record(url: str) -> None:
    with client_for(url) as client, pytest.raises(RecordError) as caught:
        client.request("PATCH", "/answer/apollo-422", json={"email": "x"}, remote_id="5f2a" * 6)
    error = caught.value
    assert type(error) is RecordError
    assert (error.system, error.status, error.remote_id) == ("apollo", 422, "5f2a" * 6)
    assert error.body == {"error": "Contact email is invalid"}
    assert str(error).endswith(": Contact email is invalid")
    assert "record " + "5f2a" * 6 in str(error)
    assert hits["apollo-422"] == 1


def test_leadconnector_whitelist_rejection_names_the_field(url: str) -> None:
    with client_for(url, "leadconnector") as client, pytest.raises(RecordError) as caught:
        client.request("PUT", "/answer/lc-422", json={"gender": "female"})
    assert caught.value.field == "gender"
    assert caught.value.vendor_message == "property gender should not exist"


def test_laravel_style_validation_names_the_field_and_its_message(url: str) -> None:
    with client_for(url, "corporatemerch") as client, pytest.raises(RecordError) as caught:
        client.request("PUT", "/answer/cm-422", json={})
    assert caught.value.field == "email"
    assert caught.value.vendor_message == "The given data was invalid. | email: The email field is required."


def test_leadconnector_duplicate_carries_the_existing_contact_id(url: str) -> None:
    with client_for(url, "leadconnector") as client, pytest.raises(DuplicateRecordError) as caught:
        client.request("POST", "/answer/lc-duplicate", json={"email": "ada@example.com"})
    assert caught.value.existing_id == "Hc0xUAPbGk2bmLXbD3gF"
    assert "existing record Hc0xUAPbGk2bmLXbD3gF" in str(caught.value)


def test_a_connector_maps_apollo_422_deleted_to_missing_record(url: str) -> None:
    def apollo_missing(response: httpx.Response) -> Outcome | None:
        deleted = response.status_code == 422 and "deleted" in response.text
        return Outcome.MISSING if deleted else None

    with client_for(url) as client, pytest.raises(MissingRecordError) as caught:
        client.request("GET", "/answer/apollo-deleted", remote_id="abc", classify=apollo_missing)
    assert caught.value.remote_id == "abc"
    assert caught.value.vendor_message == "This contact has been deleted."


def test_a_connector_maps_leadconnector_400_not_found_to_missing_record(url: str) -> None:
    def lc_missing(response: httpx.Response) -> Verdict | None:
        if response.status_code == 400 and "not found" in response.text:
            return Verdict(Outcome.MISSING, message="contact deleted in LeadConnector")
        return None

    with client_for(url, "leadconnector") as client, pytest.raises(MissingRecordError) as caught:
        client.request("GET", "/answer/lc-not-found", classify=lc_missing)
    assert caught.value.vendor_message == "contact deleted in LeadConnector"


def test_a_connector_maps_a_response_to_a_duplicate_of_a_known_record(url: str) -> None:
    def cm_duplicate(response: httpx.Response) -> Verdict | None:
        return (
            Verdict(Outcome.DUPLICATE, existing_id="42", field="email")
            if response.status_code == 422
            else None
        )

    with client_for(url, "corporatemerch") as client, pytest.raises(DuplicateRecordError) as caught:
        client.request("POST", "/answer/cm-422", json={}, classify=cm_duplicate)
    assert (caught.value.existing_id, caught.value.field) == ("42", "email")


def test_a_connector_can_read_a_refusal_as_success(url: str) -> None:
    with client_for(url, "leadconnector") as client:
        response = client.request("DELETE", "/answer/lc-not-found", classify=lambda r: Outcome.OK)
    assert response.status_code == 400


def test_404_for_an_addressed_record_means_missing(url: str) -> None:
    with client_for(url, "corporatemerch") as client, pytest.raises(MissingRecordError):
        client.request("GET", "/answer/404", remote_id="17")


def test_404_without_a_record_is_a_plain_record_error(url: str) -> None:
    with client_for(url, "corporatemerch") as client, pytest.raises(RecordError) as caught:
        client.request("GET", "/answer/404")
    assert type(caught.value) is RecordError


def test_a_redirect_is_not_followed_and_stops_the_system(url: str) -> None:
    with client_for(url) as client, pytest.raises(ConfigError) as caught:
        client.request("GET", "/answer/redirect")
    assert caught.value.status == 301


def test_the_message_names_the_path_without_its_query_string(url: str) -> None:
    with client_for(url) as client, pytest.raises(RecordError) as caught:
        client.request("GET", "/answer/apollo-422", params={"q_keywords": "ada"})
    assert caught.value.path == "/answer/apollo-422"
    assert "q_keywords" not in str(caught.value)


def test_request_json_refuses_a_page_that_is_not_json(url: str) -> None:
    with client_for(url) as client, pytest.raises(ConfigError) as caught:
        client.request_json("GET", "/answer/html")
    assert "text/html" in str(caught.value)


def test_request_json_reads_an_empty_body_as_none(url: str) -> None:
    with client_for(url) as client:
        assert client.request_json("DELETE", "/answer/empty") is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.OK),
        (201, Outcome.OK),
        (204, Outcome.OK),
        (301, Outcome.CONFIG),
        (400, Outcome.RECORD),
        (401, Outcome.AUTH),
        (403, Outcome.AUTH),
        (404, Outcome.RECORD),
        (408, Outcome.TRANSIENT),
        (409, Outcome.RECORD),
        (410, Outcome.RECORD),
        (422, Outcome.RECORD),
        (429, Outcome.RATE_LIMITED),
        (500, Outcome.TRANSIENT),
        (502, Outcome.TRANSIENT),
        (503, Outcome.TRANSIENT),
        (504, Outcome.TRANSIENT),
    ],
)
def test_outcome_table(status: int, outcome: Outcome) -> None:
    assert outcome_for_status(status) is outcome
