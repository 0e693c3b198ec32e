"""An API key never shows in an error message, a log line or a repr, whatever goes wrong."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from syncengine.connectors.errors import AuthError, ConnectorError, RecordError, TransientError
from syncengine.connectors.http import HttpClient, RetryPolicy
from syncengine.connectors.ratelimit import ManualClock, RateLimiter
from syncengine.connectors.settings import Secret, SystemSettings
from syncengine.sim.core import ServerThread


async def echo_key_401(request: Request) -> Response:
    """A careless server that quotes the credentials it refused."""
    return PlainTextResponse(f"Invalid API key {request.headers.get('x-api-key')}", status_code=401)


async def echo_key_422(request: Request) -> Response:
    return JSONResponse({"error": "bad request", "headers": dict(request.headers)}, status_code=422)


async def echo_key_503(request: Request) -> Response:
    return JSONResponse(
        {"message": f"down; your token {request.headers.get('authorization')}"}, status_code=503
    )


app = Starlette(
    routes=[
        Route("/401", echo_key_401),
        Route("/422", echo_key_422, methods=["GET", "POST"]),
        Route("/503", echo_key_503),
    ]
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ServerThread(app) as server:
        yield server.url


@pytest.fixture
def key() -> str:
    return f"sk-{uuid.uuid4().hex}"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def client_for(base_url: str, system: str, key: str, attempts: int = 2) -> HttpClient:
    return HttpClient(
        SystemSettings(system, base_url, Secret(key), location_id="loc"),
        limiter=RateLimiter(system, clock=ManualClock()),
        retry=RetryPolicy.without_backoff(attempts=attempts),
    )


def assert_nowhere(key: str, error: ConnectorError, logs: pytest.LogCaptureFixture) -> None:
    assert key not in str(error)
    assert key not in repr(error)
    assert key not in repr(vars(error))  # attributes too: body, vendor message
    assert logs.records, "the scenario should have logged something"
    assert key not in logs.text
    assert all(key not in record.getMessage() for record in logs.records)


def test_401_quoting_the_key_does_not_leak_it(url: str, key: str, logs: pytest.LogCaptureFixture) -> None:
    with client_for(url, "apollo", key) as client, pytest.raises(AuthError) as caught:
        client.request("GET", "/401")
    assert "Invalid API key ***" in str(caught.value)
    assert_nowhere(key, caught.value, logs)


def test_record_error_body_echoing_headers_does_not_leak_the_key(
    url: str, key: str, logs: pytest.LogCaptureFixture
) -> None:
    with client_for(url, "leadconnector", key) as client, pytest.raises(RecordError) as caught:
        client.request("POST", "/422", json={})
    assert caught.value.body["headers"]["authorization"] == "***"
    assert_nowhere(key, caught.value, logs)


def test_retry_log_lines_do_not_leak_the_token(url: str, key: str, logs: pytest.LogCaptureFixture) -> None:
    with (
        client_for(url, "corporatemerch", key, attempts=3) as client,
        pytest.raises(TransientError) as caught,
    ):
        client.request("GET", "/503")
    assert any("retrying" in record.getMessage() for record in logs.records)
    assert_nowhere(key, caught.value, logs)


def test_connection_error_does_not_leak_the_key(key: str, logs: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        client_for(f"http://127.0.0.1:{port}", "apollo", key) as client,
        pytest.raises(TransientError) as caught,
    ):
        client.request("GET", "/contacts")
    assert caught.value.__cause__ is None  # the transport error, holding our headers, is not attached
    assert_nowhere(key, caught.value, logs)


def test_key_passed_as_a_query_parameter_stays_out_of_messages_and_logs(
    url: str, key: str, logs: pytest.LogCaptureFixture
) -> None:
    with client_for(url, "apollo", key) as client, pytest.raises(RecordError) as caught:
        client.request("GET", "/422", params={"api_key": key})
    assert any("HTTP Request" in record.getMessage() for record in logs.records)  # httpx's own line
    assert_nowhere(key, caught.value, logs)


def test_reprs_of_client_and_settings_hide_the_key(url: str, key: str) -> None:
    settings = SystemSettings("apollo", url, Secret(key))
    with HttpClient(settings) as client:
        shown = [repr(client), repr(settings), str(settings), repr(client.settings.secret)]
    assert all(key not in text for text in shown)
    assert "Secret('***')" in repr(settings)
