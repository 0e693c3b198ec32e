"""Contract tests of the CorporateMerch simulator's rate limit (40/min, apis.md 3.8), the injected
faults and the journal."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim

TOKEN = "sim-cm-token-limits"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
ADA = {
    "type": "client",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "country": "DE",
    "address": "Hauptstr. 1",
    "city": "Berlin",
    "state": "Berlin",
    "zip_code": "10115",
}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, httpx.Client]]:
    sim = CorporateMerchSim(token=TOKEN)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers=HEADERS, timeout=5) as client:
        yield thread.url, client


@pytest.fixture
def cm(server: tuple[str, httpx.Client]) -> httpx.Client:
    client = server[1]
    client.post("/__admin/reset").raise_for_status()
    return client


@pytest.fixture
def fresh(server: tuple[str, httpx.Client], cm: httpx.Client) -> Iterator[httpx.Client]:
    """A client of its own, for faults that break or time out its connection."""
    with httpx.Client(base_url=server[0], headers=HEADERS, timeout=5) as client:
        yield client


def limit(cm: httpx.Client, **limits: Any) -> None:
    cm.put("/__admin/ratelimits", json={"enabled": True, **limits}).raise_for_status()


def faults(cm: httpx.Client, **config: Any) -> None:
    cm.put("/__admin/faults", json=config).raise_for_status()


def stored_names(cm: httpx.Client) -> list[str]:
    return [c["first_name"] for c in cm.get("/__admin/contacts").json()["contacts"]]


# ---------------------------------------------------------------------------- rate limit


def test_the_documented_limit_is_40_per_minute(cm: httpx.Client) -> None:
    assert cm.get("/__admin/ratelimits").json() == {"enabled": True, "per_minute": 40, "window_seconds": 60}


def test_every_answer_carries_the_four_headers(cm: httpx.Client) -> None:
    cm.post("/__admin/clock", json={"freeze": True})
    response = cm.get("/v2/contacts/999")
    now = time.time()
    assert response.status_code == 404
    assert response.headers["X-RateLimit-Limit"] == "40"
    assert response.headers["X-RateLimit-Remaining"] == "39"
    assert response.headers["Retry-After"] == "60"
    assert abs(int(response.headers["X-RateLimit-Reset"]) - (now + 60)) <= 2


def test_a_validation_error_carries_the_headers_too(cm: httpx.Client) -> None:
    response = cm.post("/v2/contacts", json={})
    assert (response.status_code, response.headers["X-RateLimit-Remaining"]) == (422, "39")


def test_the_remaining_count_goes_down_per_request(cm: httpx.Client) -> None:
    remaining = [cm.get("/v2/lists").headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["39", "38", "37"]


def test_the_41st_request_in_a_minute_gets_429(cm: httpx.Client) -> None:
    for _ in range(40):
        assert cm.get("/v2/lists").status_code == 200
    response = cm.get("/v2/lists")
    assert response.status_code == 429
    assert response.json() == {"message": "Too Many Attempts."}
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_a_429_says_how_long_to_wait(cm: httpx.Client) -> None:
    cm.post("/__admin/clock", json={"freeze": True})
    limit(cm, per_minute=2)
    cm.get("/v2/lists")
    cm.post("/__admin/clock", json={"advance": 20})
    cm.get("/v2/lists")
    response = cm.get("/v2/lists")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "40"


def test_the_window_reopens_after_the_clock_passes_it(cm: httpx.Client) -> None:
    limit(cm, per_minute=2)
    cm.get("/v2/lists")
    cm.get("/v2/lists")
    assert cm.get("/v2/lists").status_code == 429
    cm.post("/__admin/clock", json={"advance": 60})
    response = cm.get("/v2/lists")
    assert (response.status_code, response.headers["X-RateLimit-Remaining"]) == (200, "1")


def test_a_refused_request_changes_nothing(cm: httpx.Client) -> None:
    limit(cm, per_minute=1)
    cm.get("/v2/lists")
    assert cm.post("/v2/contacts", json=ADA).status_code == 429
    assert stored_names(cm) == []


def test_auth_failures_do_not_use_the_budget(cm: httpx.Client) -> None:
    for _ in range(3):
        assert cm.get("/v2/lists", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert cm.get("/v2/lists").headers["X-RateLimit-Remaining"] == "39"


def test_admin_requests_are_not_rate_limited(cm: httpx.Client) -> None:
    limit(cm, per_minute=1)
    for _ in range(3):
        assert cm.get("/__admin/contacts").status_code == 200
    assert cm.get("/v2/lists").headers["X-RateLimit-Remaining"] == "0"


def test_with_rate_limits_off_nothing_is_refused(cm: httpx.Client) -> None:
    cm.put("/__admin/ratelimits", json={"enabled": False, "per_minute": 1}).raise_for_status()
    assert {cm.get("/v2/lists").status_code for _ in range(4)} == {200}


def test_an_unknown_limit_setting_is_refused(cm: httpx.Client) -> None:
    response = cm.put("/__admin/ratelimits", json={"burst": 3})
    assert response.status_code == 400
    assert "burst" in response.json()["error"]


def test_a_non_positive_limit_is_refused(cm: httpx.Client) -> None:
    assert cm.put("/__admin/ratelimits", json={"per_minute": 0}).status_code == 400


# ---------------------------------------------------------------------------- faults


def test_an_injected_error_answers_the_configured_status(cm: httpx.Client) -> None:
    faults(cm, error_rate=1.0, error_status=502)
    assert cm.post("/v2/contacts", json=ADA).status_code == 502
    assert stored_names(cm) == []


def test_an_error_rate_hits_about_that_share(cm: httpx.Client) -> None:
    cm.put("/__admin/ratelimits", json={"enabled": False})
    faults(cm, error_rate=0.5, seed=7)
    statuses = [cm.get("/v2/lists").status_code for _ in range(40)]
    assert 10 <= statuses.count(503) <= 30
    assert set(statuses) == {200, 503}


def test_injected_latency_delays_the_answer(cm: httpx.Client) -> None:
    faults(cm, latency_ms=150)
    started = time.perf_counter()
    cm.get("/v2/lists")
    assert time.perf_counter() - started >= 0.15


def test_an_injected_timeout_still_applies_the_write(cm: httpx.Client, fresh: httpx.Client) -> None:
    faults(cm, timeout_rate=1.0, timeout_seconds=0.3)
    with pytest.raises(httpx.ReadTimeout):
        fresh.post("/v2/contacts", json=ADA, timeout=0.1)
    deadline = time.monotonic() + 3
    while not stored_names(cm) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_names(cm) == ["Ada"]


def test_an_injected_drop_closes_the_connection_before_the_write(
    cm: httpx.Client, fresh: httpx.Client
) -> None:
    faults(cm, drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        fresh.post("/v2/contacts", json=ADA)
    assert stored_names(cm) == []


def test_an_injected_drop_after_loses_the_answer_of_a_write_that_landed(
    cm: httpx.Client, fresh: httpx.Client
) -> None:
    faults(cm, drop_after_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        fresh.post("/v2/contacts", json=ADA)
    assert stored_names(cm) == ["Ada"]


def test_an_injected_429_burst_answers_the_vendor_429_then_recovers(cm: httpx.Client) -> None:
    faults(cm, burst_429=2)
    answers = [cm.get("/v2/lists") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json() == {"message": "Too Many Attempts."}
    assert "Retry-After" in answers[0].headers and "X-RateLimit-Reset" in answers[0].headers


def test_faults_can_target_one_path(cm: httpx.Client) -> None:
    faults(cm, error_rate=1.0, paths=["/v2/labels"])
    assert cm.get("/v2/labels").status_code == 503
    assert cm.get("/v2/lists").status_code == 200


def test_counters_count_calls_and_injected_faults(cm: httpx.Client) -> None:
    faults(cm, burst_429=1)
    cm.get("/v2/lists")
    cm.get("/v2/lists")
    counters = cm.get("/__admin/counters").json()
    assert counters["calls"]["GET /v2/lists"] == 2
    assert counters["faults_injected"] == {"burst": 1}


# ---------------------------------------------------------------------------- journal


def test_the_journal_never_holds_the_token(cm: httpx.Client) -> None:
    cm.post("/v2/contacts", json=ADA)
    cm.get("/v2/lists", headers={"Authorization": f"Bearer {TOKEN}-wrong"})
    journal = cm.get("/__admin/journal").json()
    assert [e["headers"]["authorization"] for e in journal["entries"]] == ["***", "***"]
    assert TOKEN not in json.dumps(journal)


def test_the_journal_records_each_vendor_call_with_body_and_status(cm: httpx.Client) -> None:
    cm.post("/v2/contacts", json=ADA)
    [entry] = cm.get("/__admin/journal").json()["entries"]
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v2/contacts", 201)
    assert entry["body"] == ADA
