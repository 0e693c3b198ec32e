"""What every request carries, where it goes, connection reuse and the call counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncengine.connectors.errors import RecordError
from syncengine.connectors.http import USER_AGENT, HttpClient, RetryPolicy, endpoint_template
from syncengine.connectors.ratelimit import ManualClock, RateLimiter
from syncengine.connectors.settings import Secret, SystemSettings
from syncengine.sim.core import ServerThread


async def echo(request: Request) -> Response:
    """The request as the server saw it."""
    assert request.client is not None
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "headers": dict(request.headers),
            "body": (await request.json()) if await request.body() else None,
            "port": request.client.port,
        },
        status_code=int(request.query_params.get("status", "200")),
    )


app = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ServerThread(app) as server:
        yield server.url


def client_for(base_url: str, system: str, token: str = "client-test-token") -> HttpClient:
    return HttpClient(
        SystemSettings(system, base_url, Secret(token), location_id="loc"),
        limiter=RateLimiter(system, clock=ManualClock()),
        retry=RetryPolicy.without_backoff(),
    )


def test_apollo_authenticates_with_x_api_key(url: str) -> None:
    with client_for(url, "apollo", "apollo-key-123") as client:
        headers = client.request("GET", "/contacts/1").json()["headers"]
    assert headers["x-api-key"] == "apollo-key-123"
    assert "authorization" not in headers


def test_leadconnector_sends_bearer_and_version(url: str) -> None:
    with client_for(url, "leadconnector", "lc-token-123") as client:
        headers = client.request("GET", "/contacts/1").json()["headers"]
    assert headers["authorization"] == "Bearer lc-token-123"
    assert headers["version"] == "2021-07-28"


def test_corporatemerch_sends_bearer_only(url: str) -> None:
    with client_for(url, "corporatemerch", "cm-token-123") as client:
        headers = client.request("GET", "/contacts").json()["headers"]
    assert headers["authorization"] == "Bearer cm-token-123"
    assert "version" not in headers and "x-api-key" not in headers


def test_every_request_announces_json_and_our_user_agent(url: str) -> None:
    with client_for(url, "apollo") as client:
        headers = client.request("GET", "/contacts/1").json()["headers"]
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("syncengine/")


def test_paths_are_joined_to_the_base_url_path(url: str) -> None:
    with client_for(f"{url}/api/v1", "apollo") as client:
        seen = client.request("POST", "/contacts/search", json={"page": 2}, params={"per_page": 100}).json()
    assert seen["path"] == "/api/v1/contacts/search"
    assert seen["query"] == {"per_page": "100"}
    assert seen["body"] == {"page": 2}


def test_connections_are_kept_alive_and_reused(url: str) -> None:
    with client_for(url, "apollo") as client:
        ports = {client.request("GET", f"/contacts/{n}").json()["port"] for n in range(5)}
    assert len(ports) == 1


def test_stats_count_calls_by_endpoint_and_outcome(url: str) -> None:
    with client_for(url, "apollo") as client:
        client.request("POST", "/contacts/search", json={}, endpoint="POST /contacts/search")
        client.request("POST", "/contacts/search", json={}, endpoint="POST /contacts/search")
        client.request("GET", "/contacts/5f2a5f2a5f2a5f2a5f2a5f2a")
        client.request("GET", "/contacts/6a1b6a1b6a1b6a1b6a1b6a1b")
        with pytest.raises(RecordError, match="HTTP 422"):
            client.request("PATCH", "/contacts/6a1b6a1b6a1b6a1b6a1b6a1b?status=422", json={})
        stats = client.stats
    assert stats.calls == {"POST /contacts/search": 2, "GET /contacts/{id}": 2, "PATCH /contacts/{id}": 1}
    assert stats.outcomes == {"2xx": 4, "4xx": 1}
    assert stats.total_calls == 5
    assert stats.system == "apollo"


def test_stats_are_a_snapshot(url: str) -> None:
    with client_for(url, "apollo") as client:
        before = client.stats
        client.request("GET", "/contacts")
    assert before.total_calls == 0
    assert client.stats.total_calls == 1


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("get", "/contacts/5f2a5f2a5f2a5f2a5f2a5f2a", "GET /contacts/{id}"),
        ("POST", "/contacts/Hc0xUAPbGk2bmLXbD3gF/tags", "POST /contacts/{id}/tags"),
        ("PUT", "/contacts/1234567", "PUT /contacts/{id}"),
        ("POST", "/contacts/search", "POST /contacts/search"),
        ("POST", "/contacts/bulk_create", "POST /contacts/bulk_create"),
        ("GET", "/contacts?page=2", "GET /contacts"),
        ("GET", "/v2/contacts/123", "GET /v2/contacts/{id}"),
        ("PUT", "/contacts/cCOwUxmGQAeHUdtTbaNB", "PUT /contacts/{id}"),
        ("GET", "/locations/SimLocation000000001/customFields", "GET /locations/{id}/customFields"),
        ("POST", "/labels/add_entity_ids_to_label_names", "POST /labels/add_entity_ids_to_label_names"),
    ],
)
def test_endpoint_template_folds_ids(method: str, path: str, template: str) -> None:
    assert endpoint_template(method, path) == template


@pytest.mark.parametrize("path", ["https://elsewhere.example/contacts", "contacts"])
def test_only_paths_below_the_base_url_are_accepted(url: str, path: str) -> None:
    with client_for(url, "apollo") as client, pytest.raises(ValueError, match="relative to the base URL"):
        client.request("GET", path)
