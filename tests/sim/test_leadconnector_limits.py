"""Contract tests of the LeadConnector simulator's rate limits, injected faults and journal."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

LOCATION = "SimLocation000000001"
TOKEN = "sim-lc-token-limits"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Version": "2021-07-28"}
NEW_CONTACT = {"locationId": LOCATION, "firstName": "Ada"}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, httpx.Client]]:
    sim = LeadConnectorSim(token=TOKEN, location_id=LOCATION, seed=3)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers=HEADERS, timeout=5) as client:
        yield thread.url, client


@pytest.fixture
def lc(server: tuple[str, httpx.Client]) -> httpx.Client:
    client = server[1]
    client.post("/__admin/reset").raise_for_status()
    client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    return client


@pytest.fixture
def fresh(server: tuple[str, httpx.Client], lc: httpx.Client) -> Iterator[httpx.Client]:
    """A client of its own, for faults that break or time out its connection."""
    with httpx.Client(base_url=server[0], headers=HEADERS, timeout=5) as client:
        yield client


def limit(lc: httpx.Client, **limits: Any) -> None:
    lc.put("/__admin/ratelimits", json={"enabled": True, **limits}).raise_for_status()


def faults(lc: httpx.Client, **config: Any) -> None:
    lc.put("/__admin/faults", json=config).raise_for_status()


def stored_names(lc: httpx.Client) -> list[str]:
    return [c["firstName"] for c in lc.get("/__admin/contacts").json()["contacts"]]


# ---------------------------------------------------------------------------- rate limits


def test_every_answer_carries_the_rate_limit_headers(lc: httpx.Client) -> None:
    limit(lc, burst=100, interval_ms=10_000, daily=200_000)
    response = lc.get("/contacts/NoSuchContact0000000")
    assert response.status_code == 400
    assert response.headers["X-RateLimit-Limit-Daily"] == "200000"
    assert response.headers["X-RateLimit-Daily-Remaining"] == "199999"
    assert response.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
    assert response.headers["X-RateLimit-Max"] == "100"
    assert response.headers["X-RateLimit-Remaining"] == "99"
    assert 0 < int(response.headers["x-ratelimit-daily-reset"]) <= 86_400_000


def test_the_remaining_count_goes_down_per_request(lc: httpx.Client) -> None:
    limit(lc, burst=5)
    remaining = [lc.get("/contacts/NoSuchContact0000000").headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["4", "3", "2"]


def test_a_request_over_the_burst_gets_429_with_its_body(lc: httpx.Client) -> None:
    limit(lc, burst=3)
    for _ in range(3):
        lc.get("/contacts/NoSuchContact0000000")
    response = lc.get("/contacts/NoSuchContact0000000")
    assert response.status_code == 429
    assert response.json() == {"statusCode": 429, "message": "Too Many Requests"}
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_a_429_has_no_retry_after_by_default(lc: httpx.Client) -> None:
    limit(lc, burst=1)
    lc.get("/contacts/NoSuchContact0000000")
    assert "Retry-After" not in lc.get("/contacts/NoSuchContact0000000").headers


def test_a_429_has_retry_after_when_switched_on(lc: httpx.Client) -> None:
    limit(lc, burst=1, interval_ms=10_000, send_retry_after=True)
    lc.get("/contacts/NoSuchContact0000000")
    response = lc.get("/contacts/NoSuchContact0000000")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 10


def test_a_refused_request_changes_nothing(lc: httpx.Client) -> None:
    limit(lc, burst=1)
    lc.get("/contacts/NoSuchContact0000000")
    assert lc.post("/contacts/", json=NEW_CONTACT).status_code == 429
    assert stored_names(lc) == []


def test_the_burst_window_rolls_after_the_interval(lc: httpx.Client) -> None:
    limit(lc, burst=2, interval_ms=10_000)
    for _ in range(2):
        lc.get("/contacts/NoSuchContact0000000")
    assert lc.get("/contacts/NoSuchContact0000000").status_code == 429
    lc.post("/__admin/clock", json={"advance": 10})
    assert lc.get("/contacts/NoSuchContact0000000").status_code == 400


def test_the_daily_limit_outlasts_the_burst_window(lc: httpx.Client) -> None:
    limit(lc, burst=100, daily=2)
    for _ in range(2):
        lc.get("/contacts/NoSuchContact0000000")
    lc.post("/__admin/clock", json={"advance": 10})
    assert lc.get("/contacts/NoSuchContact0000000").status_code == 429
    lc.post("/__admin/clock", json={"advance": 86_400})
    assert lc.get("/contacts/NoSuchContact0000000").status_code == 400


def test_admin_requests_are_not_rate_limited(lc: httpx.Client) -> None:
    limit(lc, burst=1)
    for _ in range(3):
        assert lc.get("/__admin/contacts").status_code == 200
    assert lc.get("/contacts/NoSuchContact0000000").headers["X-RateLimit-Remaining"] == "0"


def test_auth_failures_do_not_use_the_budget(lc: httpx.Client) -> None:
    limit(lc, burst=2)
    for _ in range(3):
        assert lc.get("/contacts/x", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert lc.get("/contacts/NoSuchContact0000000").headers["X-RateLimit-Remaining"] == "1"


def test_with_rate_limits_off_nothing_is_refused(lc: httpx.Client) -> None:
    lc.put("/__admin/ratelimits", json={"enabled": False, "burst": 1}).raise_for_status()
    statuses = {lc.get("/contacts/NoSuchContact0000000").status_code for _ in range(4)}
    assert statuses == {400}


def test_an_unknown_limit_setting_is_refused(lc: httpx.Client) -> None:
    response = lc.put("/__admin/ratelimits", json={"per_minute": 3})
    assert response.status_code == 400
    assert "per_minute" in response.json()["error"]


def test_reading_the_limits_does_not_restart_the_counters(lc: httpx.Client) -> None:
    limit(lc, burst=3)
    lc.get("/contacts/NoSuchContact0000000")
    assert lc.get("/__admin/ratelimits").json()["burst"] == 3
    assert lc.get("/contacts/NoSuchContact0000000").headers["X-RateLimit-Remaining"] == "1"


def test_the_defaults_are_the_documented_figures(lc: httpx.Client) -> None:
    lc.post("/__admin/reset").raise_for_status()
    settings = lc.put("/__admin/ratelimits", json={"enabled": True}).json()
    assert {k: settings[k] for k in ("burst", "interval_ms", "daily")} == {
        "burst": 100,
        "interval_ms": 10_000,
        "daily": 200_000,
    }
    assert [lc.get("/contacts/NoSuchContact0000000").status_code for _ in range(101)][-2:] == [400, 429]


def test_a_429_carries_the_rate_limit_headers(lc: httpx.Client) -> None:
    limit(lc, burst=1, interval_ms=10_000, daily=50)
    lc.get("/contacts/NoSuchContact0000000")
    headers = lc.get("/contacts/NoSuchContact0000000").headers
    assert {
        k: headers[k] for k in ("X-RateLimit-Max", "X-RateLimit-Remaining", "X-RateLimit-Limit-Daily")
    } == {
        "X-RateLimit-Max": "1",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Limit-Daily": "50",
    }
    assert headers["X-RateLimit-Daily-Remaining"] == "49"
    assert headers["X-RateLimit-Interval-Milliseconds"] == "10000"


def second_token(lc: httpx.Client) -> dict[str, str]:
    assert lc.put("/__admin/tokens", json={"tokens": [f"{TOKEN}-second"]}).json() == {"tokens": 2}
    return {"Authorization": f"Bearer {TOKEN}-second"}


def test_a_further_token_of_the_location_is_accepted(lc: httpx.Client) -> None:
    other = second_token(lc)
    assert lc.post("/contacts/", json=NEW_CONTACT, headers=other).status_code == 201
    assert lc.get("/__admin/tokens").json() == {"tokens": 2}
    lc.post("/__admin/reset").raise_for_status()
    assert lc.get("/contacts/x", headers=other).status_code == 401


def test_each_token_has_its_own_burst_window(lc: httpx.Client) -> None:
    other = second_token(lc)
    limit(lc, burst=2)
    for _ in range(2):
        lc.get("/contacts/NoSuchContact0000000")
    assert lc.get("/contacts/NoSuchContact0000000").status_code == 429
    answer = lc.get("/contacts/NoSuchContact0000000", headers=other)
    assert (answer.status_code, answer.headers["X-RateLimit-Remaining"]) == (400, "1")


def test_all_tokens_of_the_location_share_the_daily_window(lc: httpx.Client) -> None:
    other = second_token(lc)
    limit(lc, burst=100, daily=3)
    lc.get("/contacts/NoSuchContact0000000")
    lc.get("/contacts/NoSuchContact0000000", headers=other)
    answer = lc.get("/contacts/NoSuchContact0000000")
    assert answer.headers["X-RateLimit-Daily-Remaining"] == "0"
    refused = lc.get("/contacts/NoSuchContact0000000", headers=other)
    assert (refused.status_code, refused.headers["X-RateLimit-Daily-Remaining"]) == (429, "0")
    assert refused.headers["X-RateLimit-Remaining"] == "99"  # its burst is not what ran out


def test_the_token_admin_never_answers_a_token(lc: httpx.Client) -> None:
    second_token(lc)
    assert TOKEN not in lc.get("/__admin/tokens").text


def test_a_token_list_with_a_blank_token_is_refused(lc: httpx.Client) -> None:
    assert lc.put("/__admin/tokens", json={"tokens": [" "]}).status_code == 400


# ---------------------------------------------------------------------------- faults


def test_an_injected_error_answers_the_configured_status(lc: httpx.Client) -> None:
    faults(lc, error_rate=1.0, error_status=502)
    response = lc.post("/contacts/", json=NEW_CONTACT)
    assert response.status_code == 502
    assert stored_names(lc) == []


def test_injected_latency_delays_the_answer(lc: httpx.Client) -> None:
    faults(lc, latency_ms=150)
    started = time.perf_counter()
    lc.get("/contacts/NoSuchContact0000000")
    assert time.perf_counter() - started >= 0.15


def test_an_injected_timeout_still_applies_the_write(lc: httpx.Client, fresh: httpx.Client) -> None:
    faults(lc, timeout_rate=1.0, timeout_seconds=0.3)
    with pytest.raises(httpx.ReadTimeout):
        fresh.post("/contacts/", json=NEW_CONTACT, timeout=0.1)
    deadline = time.monotonic() + 3
    while not stored_names(lc) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_names(lc) == ["Ada"]


def test_an_injected_drop_closes_the_connection_before_the_write(
    lc: httpx.Client, fresh: httpx.Client
) -> None:
    faults(lc, drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        fresh.post("/contacts/", json=NEW_CONTACT)
    assert stored_names(lc) == []


def test_an_injected_drop_after_loses_the_answer_of_a_write_that_landed(
    lc: httpx.Client, fresh: httpx.Client
) -> None:
    faults(lc, drop_after_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        fresh.post("/contacts/", json=NEW_CONTACT)
    assert stored_names(lc) == ["Ada"]


def test_an_injected_429_burst_answers_the_vendor_429_then_recovers(lc: httpx.Client) -> None:
    faults(lc, burst_429=2)
    answers = [lc.get("/contacts/NoSuchContact0000000") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 400]
    assert answers[0].json() == {"statusCode": 429, "message": "Too Many Requests"}
    assert "X-RateLimit-Remaining" in answers[0].headers


def test_faults_can_target_one_path(lc: httpx.Client) -> None:
    faults(lc, error_rate=1.0, paths=["/contacts/search"])
    assert lc.post("/contacts/search", json={"locationId": LOCATION, "pageLimit": 1}).status_code == 503
    assert lc.post("/contacts/", json=NEW_CONTACT).status_code == 201


# ---------------------------------------------------------------------------- journal


def test_the_journal_never_holds_the_token(lc: httpx.Client) -> None:
    lc.post("/contacts/", json=NEW_CONTACT)
    lc.get("/contacts/x", headers={"Authorization": f"Bearer {TOKEN}-wrong"})
    journal = lc.get("/__admin/journal").json()
    assert [e["headers"]["authorization"] for e in journal["entries"]] == ["***", "***"]
    assert TOKEN not in json.dumps(journal)


def test_the_journal_records_each_vendor_call_with_body_and_status(lc: httpx.Client) -> None:
    lc.post("/contacts/", json=NEW_CONTACT)
    [entry] = lc.get("/__admin/journal").json()["entries"]
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/contacts/", 201)
    assert entry["body"] == NEW_CONTACT
