"""Rate limits over real HTTP: honoured 429s, proactive waits from live headers, visible waits."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncengine.connectors.errors import RateLimitedError
from syncengine.connectors.http import HttpClient, RateLimitWait, RetryPolicy
from syncengine.connectors.ratelimit import (
    LimitSpec,
    ManualClock,
    RateLimiter,
    Window,
    default_limits,
    leadconnector_limits,
)
from syncengine.connectors.settings import Secret, SystemSettings
from syncengine.sim.core import FaultConfig, FaultMiddleware, FixedWindow, ServerThread, SimState

hits: Counter[str] = Counter()


async def limited_once(request: Request) -> Response:
    """A 429 with the headers given in the query string on the first call of a key, then 200."""
    key = request.path_params["key"]
    hits[key] += 1
    if hits[key] == 1:
        headers = dict(request.query_params)
        if headers.pop("retry_date", None):
            headers["Retry-After"] = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
        if headers.pop("reset_in", None):
            headers["X-RateLimit-Reset"] = str(int(time.time()) + 7)
        return JSONResponse({"message": "Too many requests"}, status_code=429, headers=headers)
    return JSONResponse({"ok": True})


async def announce(request: Request) -> Response:
    """200 with the headers given in the query string (a server announcing its budget)."""
    hits[request.url.path] += 1
    headers = dict(request.query_params)
    if headers.pop("reset_in", None):
        headers["X-RateLimit-Reset"] = str(int(time.time()) + 5)
    return JSONResponse({"ok": True}, headers=headers)


window = FixedWindow(limit=3, seconds=0.5)
window_lock = threading.Lock()
strict_statuses: Counter[int] = Counter()


async def strict(request: Request) -> Response:
    """A LeadConnector-like server enforcing 3 calls per 0.5 s, announced in its headers."""
    with window_lock:
        now = time.monotonic()
        allowed = window.would_allow(now)
        if allowed:
            window.hit(now)
        headers = {
            "X-RateLimit-Max": "3",
            "X-RateLimit-Remaining": str(window.remaining(now)),
            "X-RateLimit-Interval-Milliseconds": "500",
        }
    status = 200 if allowed else 429
    strict_statuses[status] += 1
    return JSONResponse({"ok": allowed}, status_code=status, headers=headers)


class _TinyBackend:
    name = "tiny"

    def __init__(self) -> None:
        self.state = SimState()

    def too_many_requests(self) -> Response:
        return JSONResponse({"message": "Too many"}, status_code=429, headers={"Retry-After": "2"})


backend = _TinyBackend()
routes = [
    Route("/limited/{key}", limited_once, methods=["GET", "POST"]),
    Route("/announce/{key:path}", announce, methods=["GET", "POST"]),
    Route("/strict", strict),
    Route("/burst", lambda request: JSONResponse({"ok": True})),
]
app = FaultMiddleware(Starlette(routes=routes), backend)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ServerThread(app) as server:
        yield server.url


class Waits(list[RateLimitWait]):
    def __call__(self, event: RateLimitWait) -> None:
        self.append(event)


def client_for(
    url: str, system: str = "apollo", spec: LimitSpec | None = None, **policy: float
) -> HttpClient:
    clock = ManualClock()
    return HttpClient(
        SystemSettings(system, url, Secret("rate-limit-test-token"), location_id="loc"),
        limiter=RateLimiter(system, spec if spec is not None else default_limits(system), clock=clock),
        retry=RetryPolicy.without_backoff(attempts=3, **policy),
        on_wait=Waits(),
    )


def slept(client: HttpClient) -> list[float]:
    assert isinstance(client.limiter.clock, ManualClock)
    return client.limiter.clock.sleeps


def test_429_with_retry_after_waits_that_long_then_succeeds(url: str) -> None:
    with client_for(url) as client:
        assert client.request("GET", "/limited/a?Retry-After=1").json() == {"ok": True}
        assert slept(client) == [1.0]
        assert client.stats.outcomes == {"429": 1, "2xx": 1, "retries": 1}
        assert client.stats.waited_seconds == 1.0


def test_the_wait_is_reported_to_the_callback_in_words(url: str) -> None:
    with client_for(url) as client:
        client.request("GET", "/limited/b?Retry-After=3")
        assert isinstance(client.on_wait, Waits)
        assert [str(w) for w in client.on_wait] == [
            "waiting 3.0 s for apollo rate limit (server answered 429)"
        ]


def test_retry_after_zero_never_spins(url: str) -> None:
    with client_for(url, min_rate_limit_wait=1.5) as client:
        client.request("GET", "/limited/c?Retry-After=0")
        assert slept(client) == [1.5]
    assert hits["c"] == 2


def test_retry_after_as_http_date(url: str) -> None:
    with client_for(url) as client:
        client.request("GET", "/limited/d?retry_date=1")
        assert 3.5 <= slept(client)[0] <= 5.5


def test_corporatemerch_429_waits_for_the_announced_reset(url: str) -> None:
    with client_for(url, "corporatemerch") as client:
        client.request("GET", "/limited/e?reset_in=1")
        assert 5.5 <= slept(client)[0] <= 7.5


def test_leadconnector_429_without_hints_waits_for_its_interval(url: str) -> None:
    with client_for(url, "leadconnector") as client:
        client.request("GET", "/limited/f")
        assert slept(client) == [10.0]


def test_wait_longer_than_the_policy_allows_is_raised_at_once(url: str) -> None:
    with client_for(url, max_wait=60) as client:
        with pytest.raises(RateLimitedError) as caught:
            client.request("GET", "/limited/g?Retry-After=3600")
        assert caught.value.retry_after == 3600
        assert slept(client) == []
        with pytest.raises(RateLimitedError, match="budget spent"):
            client.request("GET", "/limited/g")  # the bucket stays blocked: no doomed request is sent
    assert hits["g"] == 1


def test_a_create_is_resent_after_a_429_because_nothing_was_created(url: str) -> None:
    with client_for(url) as client:
        assert client.request("POST", "/limited/h?Retry-After=1", json={}).status_code == 200
    assert hits["h"] == 2


def test_no_requests_left_makes_the_next_call_wait_before_sending(url: str) -> None:
    with client_for(url) as client:
        client.request("GET", "/announce/i?x-minute-requests-left=0", endpoint="GET /announce")
        assert slept(client) == []
        client.request("GET", "/announce/i", endpoint="GET /announce")
        assert slept(client) == [60.0]
        assert "minute window" in client.on_wait[0].reason  # type: ignore[index]
    assert hits["/announce/i"] == 2


def test_apollo_counts_each_endpoint_apart(url: str) -> None:
    with client_for(url) as client:
        client.request("POST", "/announce/j?x-minute-requests-left=0", endpoint="POST /contacts/search")
        client.request("GET", "/announce/j", endpoint="GET /contacts/{id}")
        assert slept(client) == []


def test_apollo_24_hour_header_spelling_is_read(url: str) -> None:
    with client_for(url) as client:
        client.request("GET", "/announce/k?x-24-hour-requests-left=0", endpoint="GET /k")
        with pytest.raises(RateLimitedError) as caught:
            client.request("GET", "/announce/k", endpoint="GET /k")
        assert caught.value.retry_after == pytest.approx(86400)
    assert hits["/announce/k"] == 1  # the spent day budget was not probed with a doomed request


def test_corporatemerch_waits_until_the_announced_reset(url: str) -> None:
    with client_for(url, "corporatemerch") as client:
        client.request("GET", "/announce/l?X-RateLimit-Remaining=0&reset_in=1")
        client.request("GET", "/announce/l")
        assert 3.5 <= slept(client)[0] <= 5.5


def test_leadconnector_waits_for_the_announced_interval(url: str) -> None:
    with client_for(url, "leadconnector") as client:
        client.request("GET", "/announce/m?X-RateLimit-Remaining=0&X-RateLimit-Interval-Milliseconds=2000")
        client.request("GET", "/announce/m")
        assert slept(client) == [2.0]


def test_injected_429_burst_is_waited_out(url: str) -> None:
    backend.state.faults.configure(FaultConfig(burst_429=2, paths=["/burst"]))
    with client_for(url, "corporatemerch") as client:
        assert client.request("GET", "/burst").json() == {"ok": True}
        assert slept(client) == [2.0, 2.0]
        assert client.stats.outcomes["429"] == 2


def test_a_burst_of_40_429s_with_a_short_retry_after_is_waited_out(url: str) -> None:
    # A 429 is the server pacing us, not a failure: it spends none of the 3 attempts.
    backend.state.faults.configure(FaultConfig(burst_429=40, paths=["/burst"]))
    with client_for(url, "corporatemerch") as client:
        assert client.request("GET", "/burst").json() == {"ok": True}
        assert slept(client) == [2.0] * 40
        assert client.stats.outcomes["429"] == 40
        assert client.stats.waited_seconds == 80.0
        assert client.stats.outcomes.get("gave up") is None


def test_a_429_storm_waits_at_most_the_timeout_in_all_then_raises_with_retry_after(url: str) -> None:
    backend.state.faults.configure(FaultConfig(burst_429=40, paths=["/burst"]))
    with client_for(url, "corporatemerch", timeout=9) as client:
        with pytest.raises(RateLimitedError) as caught:
            client.request("GET", "/burst")
        assert slept(client) == [2.0] * 4  # a fifth wait would pass 9 s in all
        assert (caught.value.status, caught.value.retry_after) == (429, 2.0)
        assert client.stats.outcomes["429"] == 5

        # The storm spans requests: while the server's wait lasts, the next one is not even sent...
        with pytest.raises(RateLimitedError, match="8 s waited in this 429 storm"):
            client.request("GET", "/burst")
        assert client.stats.outcomes["429"] == 5
        # ...and once it is over, one request probes, and the storm still holds it to 9 s in all.
        client.limiter.clock.advance(2.0)  # type: ignore[attr-defined]
        with pytest.raises(RateLimitedError):
            client.request("GET", "/burst")
        assert client.stats.outcomes["429"] == 6 and len(slept(client)) == 4

        # Another answer ends the storm: the next burst has the whole bound again.
        backend.state.faults.configure(FaultConfig(paths=["/burst"]))
        client.limiter.clock.advance(2.0)  # type: ignore[attr-defined]
        client.request("GET", "/burst")
        backend.state.faults.configure(FaultConfig(burst_429=4, paths=["/burst"]))
        assert client.request("GET", "/burst").json() == {"ok": True}
        assert slept(client) == [2.0] * 8


def test_a_long_retry_after_within_the_bound_is_waited_as_asked(url: str) -> None:
    with client_for(url) as client:
        assert client.request("GET", "/limited/o?Retry-After=90").json() == {"ok": True}
        assert slept(client) == [90.0]


def test_a_run_within_the_limit_never_provokes_a_429(url: str) -> None:
    spec = leadconnector_limits(per_interval=3, interval_seconds=0.5)
    client = HttpClient(
        SystemSettings("leadconnector", url, Secret("strict-server-token"), location_id="loc"),
        limiter=RateLimiter("leadconnector", spec),
        retry=RetryPolicy.without_backoff(attempts=1),
    )
    with client:
        started = time.monotonic()
        for _ in range(9):
            client.request("GET", "/strict")
        elapsed = time.monotonic() - started
    assert strict_statuses == {200: 9}
    assert 0.9 <= elapsed < 3.0  # three windows of 0.5 s: waited, but no longer than needed
    assert client.stats.rate_limit_waits >= 2


def test_without_a_documented_limit_the_headers_alone_hold_the_client(url: str) -> None:
    spec = LimitSpec(windows=(Window("minute", None, 60, remaining_headers=("x-left",)),))
    with client_for(url, "corporatemerch", spec=spec) as client:
        client.request("GET", "/announce/n?x-left=0")
        client.request("GET", "/announce/n")
        assert slept(client) == [60.0]


def test_the_strict_server_does_answer_429_to_a_client_that_ignores_its_headers(url: str) -> None:
    client = HttpClient(
        SystemSettings("leadconnector", url, Secret("strict-server-token"), location_id="loc"),
        limiter=RateLimiter("leadconnector", LimitSpec(windows=())),
        retry=RetryPolicy.without_backoff(attempts=1, max_wait=0),  # a 429 is raised, never waited for
    )
    with client, pytest.raises(RateLimitedError):
        for _ in range(9):
            client.request("GET", "/strict")
