"""Transient failures over real HTTP: 5xx, timeouts, refused and dropped connections."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from syncengine.connectors.errors import OutcomeUnknownError, TransientError
from syncengine.connectors.http import HttpClient, HttpOptions, RetryPolicy
from syncengine.connectors.ratelimit import ManualClock, RateLimiter
from syncengine.connectors.settings import Secret, SystemSettings
from syncengine.sim.core import FaultConfig, FaultMiddleware, ServerThread, SimState, SimulatedDrop

hits: Counter[str] = Counter()


async def flaky(request: Request) -> Response:
    """Answers ``status`` for the first ``n`` calls of a key, then 200."""
    key, n = request.path_params["key"], int(request.path_params["n"])
    hits[key] += 1
    if hits[key] <= n:
        status = int(request.query_params.get("status", "503"))
        headers = (
            {"Retry-After": request.query_params["retry_after"]}
            if "retry_after" in request.query_params
            else {}
        )
        return JSONResponse({"message": "Service Unavailable"}, status_code=status, headers=headers)
    return JSONResponse({"ok": True, "calls": hits[key]})


async def sequence(request: Request) -> Response:
    """Answers the ``statuses`` listed, one per call of a key (429s with ``Retry-After: 1``), then 200."""
    key = request.path_params["key"]
    statuses = [int(s) for s in request.query_params["statuses"].split(",")]
    hits[key] += 1
    if hits[key] <= len(statuses):
        status = statuses[hits[key] - 1]
        headers = {"Retry-After": "1"} if status == 429 else {}
        return JSONResponse({"message": "not now"}, status_code=status, headers=headers)
    return JSONResponse({"ok": True, "calls": hits[key]})


async def slow(request: Request) -> Response:
    hits[request.path_params["key"]] += 1
    await asyncio.sleep(0.4)
    return JSONResponse({"ok": True})


async def create(request: Request) -> Response:
    hits[request.path_params["key"]] += 1
    return JSONResponse({"id": "new"}, status_code=201)


class _DropFirstCall:
    """Closes the connection mid-answer on the first call of each ``/drop-once/<key>`` path."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/drop-once/"):
            hits[path] += 1
            if hits[path] == 1:
                await send(
                    {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
                )
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                raise SimulatedDrop()
            await JSONResponse({"ok": True})(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _TinyBackend:
    """Just enough of a simulator backend for ``FaultMiddleware``."""

    name = "tiny"

    def __init__(self) -> None:
        self.state = SimState()

    def too_many_requests(self) -> Response:
        return JSONResponse({"message": "Too many requests"}, status_code=429)


backend = _TinyBackend()
# Every POST under /lost/ runs its handler, then the reply is lost.
backend.state.faults.configure(FaultConfig(drop_after_rate=1.0, paths=["/lost/"], methods=["POST"]))

routes = [
    Route("/flaky/{key}/{n}", flaky, methods=["GET", "POST"]),
    Route("/sequence/{key}", sequence),
    Route("/slow/{key}", slow),
    Route("/lost/{key}", create, methods=["POST"]),
]
app = FaultMiddleware(_DropFirstCall(Starlette(routes=routes)), backend)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ServerThread(app) as server:
        yield server.url


def client_for(
    url: str, *, attempts: int = 3, timeout: float = 30, policy: RetryPolicy | None = None, **options: float
) -> HttpClient:
    settings = SystemSettings("corporatemerch", url, Secret("cm-token-for-retry-tests"))
    return HttpClient(
        settings,
        limiter=RateLimiter("corporatemerch", clock=ManualClock()),
        retry=policy or RetryPolicy.without_backoff(attempts=attempts, timeout=timeout),
        options=HttpOptions(**options),
    )


def test_503_twice_then_200_is_retried_to_success(url: str) -> None:
    with client_for(url) as client:
        response = client.request("GET", "/flaky/a/2")
        assert response.json() == {"ok": True, "calls": 3}
        assert client.stats.outcomes == {"5xx": 2, "2xx": 1, "retries": 2}


def test_persistent_5xx_gives_up_after_the_configured_attempts(url: str) -> None:
    with client_for(url, attempts=4) as client, pytest.raises(TransientError) as caught:
        client.request("GET", "/flaky/b/99?status=502")
    assert hits["b"] == 4
    assert caught.value.attempts == 4
    assert caught.value.status == 502
    assert client.stats.outcomes["gave up"] == 1


def test_408_is_transient(url: str) -> None:
    with client_for(url) as client:
        assert client.request("GET", "/flaky/c/1?status=408").status_code == 200
    assert hits["c"] == 2


def test_post_500_is_not_resent_because_it_may_have_created_the_record(url: str) -> None:
    with client_for(url) as client, pytest.raises(OutcomeUnknownError) as caught:
        client.request("POST", "/flaky/d/1?status=500", json={"email": "a@example.com"})
    assert hits["d"] == 1
    assert "may have been applied" in str(caught.value)


def test_post_503_is_resent_because_the_server_did_not_act(url: str) -> None:
    with client_for(url) as client:
        assert client.request("POST", "/flaky/e/1?status=503", json={}).status_code == 200
    assert hits["e"] == 2


def test_idempotent_post_such_as_a_search_is_retried_after_500(url: str) -> None:
    with client_for(url) as client:
        client.request("POST", "/flaky/f/1?status=500", json={}, idempotent=True)
    assert hits["f"] == 2


def test_server_retry_after_on_503_is_honoured(url: str) -> None:
    with client_for(url) as client:
        started = time.monotonic()
        client.request("GET", "/flaky/g/1?retry_after=1")
        assert time.monotonic() - started >= 0.95


def test_read_timeout_is_transient_and_retried_up_to_the_bound(url: str) -> None:
    with client_for(url, attempts=2, read_timeout=0.1) as client, pytest.raises(TransientError) as caught:
        client.request("GET", "/slow/h")
    assert hits["h"] == 2
    assert "timeout" in str(caught.value)
    assert client.stats.outcomes["timeout"] == 2


def test_retries_stop_at_the_total_time_bound(url: str) -> None:
    with client_for(url, attempts=50, timeout=0.35, read_timeout=0.1) as client:
        started = time.monotonic()
        with pytest.raises(TransientError):
            client.request("GET", "/slow/total")
        assert time.monotonic() - started < 1.0
    assert 2 <= hits["total"] <= 6


def test_dropped_connection_is_retried_for_a_get(url: str) -> None:
    with client_for(url) as client:
        assert client.request("GET", "/drop-once/i").json() == {"ok": True}
        assert client.stats.outcomes["connection dropped"] == 1


def test_create_whose_reply_was_lost_is_reported_not_resent(url: str) -> None:
    with client_for(url) as client, pytest.raises(OutcomeUnknownError) as caught:
        client.request("POST", "/lost/j", json={"email": "j@example.com"})
    assert hits["j"] == 1  # the handler ran once: the record exists, the client must look it up
    assert caught.value.method == "POST"
    assert caught.value.path == "/lost/j"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection_is_retried_even_for_a_create() -> None:
    with client_for(f"http://127.0.0.1:{_closed_port()}", attempts=3) as client:
        with pytest.raises(TransientError) as caught:
            client.request("POST", "/contacts", json={})
        assert type(caught.value) is TransientError  # never sent, so never "outcome unknown"
        assert caught.value.attempts == 3
        assert client.stats.outcomes["connection failed"] == 3


def test_429s_spend_none_of_the_attempts_meant_for_server_errors(url: str) -> None:
    with client_for(url, attempts=3) as client:
        response = client.request("GET", "/sequence/k?statuses=429,503,429,429,503")
        assert response.json() == {"ok": True, "calls": 6}
        assert client.limiter.clock.sleeps == [1.0, 1.0, 1.0]  # type: ignore[attr-defined]
        assert client.stats.outcomes == {"429": 3, "5xx": 2, "2xx": 1, "retries": 5}


def test_the_default_backoff_is_short(url: str) -> None:
    with client_for(url, policy=RetryPolicy()) as client:
        started = time.monotonic()
        assert client.request("GET", "/flaky/l/4").json() == {"ok": True, "calls": 5}
        assert time.monotonic() - started < 3.5  # at most 0.1 + 0.2 + 0.4 + 0.8 s, plus jitter


def test_retries_are_logged_at_debug_only(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with client_for(url) as client:
        client.request("GET", "/flaky/m/2")
        client.request("GET", "/sequence/m429?statuses=429,429")
    retries = [r for r in caplog.records if "retr" in r.getMessage()]
    assert any("retrying" in r.getMessage() for r in retries)
    assert any(r.getMessage().startswith("stamina.retry_scheduled") for r in retries)
    assert {r.levelno for r in retries} == {logging.DEBUG}
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_retries_leave_the_terminal_quiet_at_the_default_log_level(url: str) -> None:
    """In a process without logging set up, as the command line runs, nothing reaches stderr."""
    script = textwrap.dedent(
        f"""
        from syncengine.connectors.http import HttpClient, RetryPolicy
        from syncengine.connectors.ratelimit import ManualClock, RateLimiter
        from syncengine.connectors.settings import Secret, SystemSettings

        settings = SystemSettings("corporatemerch", {url!r}, Secret("cm-token-for-quiet-retries"))
        limiter = RateLimiter("corporatemerch", clock=ManualClock())
        with HttpClient(settings, limiter=limiter, retry=RetryPolicy.without_backoff(3)) as client:
            client.request("GET", "/flaky/quiet/2")
            client.request("GET", "/sequence/quiet429?statuses=429,503,429")
            print(client.stats.outcomes["retries"])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    assert done.stderr == ""
