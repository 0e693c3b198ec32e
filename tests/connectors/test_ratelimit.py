"""The rate limiter's budget arithmetic, on a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncengine.connectors.ratelimit import (
    LimitSpec,
    ManualClock,
    RateLimiter,
    Window,
    apollo_limits,
    corporatemerch_limits,
    default_limits,
    leadconnector_limits,
    parse_retry_after,
)

EPOCH = 1_700_000_000.0


def limiter(*windows: Window, per_endpoint: bool = False) -> RateLimiter:
    return RateLimiter(
        "test", LimitSpec(windows=windows, per_endpoint=per_endpoint), clock=ManualClock(EPOCH)
    )


def grant_all(rl: RateLimiter, n: int, bucket: str = "*") -> None:
    for _ in range(n):
        assert rl.acquire(bucket) is None


def advance(rl: RateLimiter, seconds: float) -> None:
    assert isinstance(rl.clock, ManualClock)
    rl.clock.advance(seconds)


def test_grants_up_to_the_limit_then_holds_for_the_rest_of_the_window() -> None:
    rl = limiter(Window("minute", 3, 60))
    grant_all(rl, 3)
    advance(rl, 20)
    hold = rl.acquire()
    assert hold is not None
    assert hold.seconds == pytest.approx(40)
    assert "minute window" in hold.reason


def test_the_window_slides_call_by_call() -> None:
    rl = limiter(Window("w", 2, 10))
    grant_all(rl, 1)
    advance(rl, 5)
    grant_all(rl, 1)
    advance(rl, 5)  # the first call left the window
    grant_all(rl, 1)
    hold = rl.acquire()
    assert hold is not None and hold.seconds == pytest.approx(5)


def test_every_window_must_allow_the_call() -> None:
    rl = limiter(Window("minute", 200, 60), Window("hour", 2, 3600))
    grant_all(rl, 2)
    hold = rl.acquire()
    assert hold is not None and hold.seconds == pytest.approx(3600) and "hour" in hold.reason


def test_server_count_of_zero_holds_one_window_length_when_no_reset_is_announced() -> None:
    rl = limiter(Window("minute", 200, 60, remaining_headers=("x-left",)))
    grant_all(rl, 1)
    rl.observe("*", {"X-Left": "0"})
    hold = rl.acquire()
    assert hold is not None and hold.seconds == pytest.approx(60) and "(server)" in hold.reason
    advance(rl, 60)
    assert rl.acquire() is None


def test_server_count_wins_over_our_own_log_so_the_budget_is_used_fully() -> None:
    rl = limiter(Window("minute", 3, 60, remaining_headers=("x-left",)))
    grant_all(rl, 3)
    rl.observe("*", {"x-left": "2"})  # the server's window restarted: two more are allowed
    grant_all(rl, 2)
    assert rl.acquire() is not None


def test_announced_reset_timestamp_ends_the_hold() -> None:
    rl = limiter(Window("minute", 40, 60, remaining_headers=("left",), reset_headers=("reset",)))
    rl.observe("*", {"left": "0", "reset": str(int(EPOCH) + 12)})
    hold = rl.acquire()
    assert hold is not None and hold.seconds == pytest.approx(12)


def test_a_small_reset_value_is_read_as_seconds_from_now() -> None:
    rl = limiter(Window("minute", 40, 60, remaining_headers=("left",), reset_headers=("reset",)))
    rl.observe("*", {"left": "0", "reset": "9"})
    hold = rl.acquire()
    assert hold is not None and hold.seconds == pytest.approx(9)


def test_an_empty_limit_header_announces_an_unlimited_window() -> None:
    rl = RateLimiter("apollo", apollo_limits(per_minute=1), clock=ManualClock(EPOCH))
    rl.observe("b", {"x-rate-limit-minute": ""})
    grant_all(rl, 5, "b")
    assert rl.remaining("b")["minute"] is None


def test_a_limit_header_corrects_the_documented_limit() -> None:
    rl = RateLimiter("corporatemerch", corporatemerch_limits(), clock=ManualClock(EPOCH))
    rl.observe("*", {"X-RateLimit-Limit": "2"})
    grant_all(rl, 2)
    assert rl.acquire() is not None


def test_the_announced_interval_length_replaces_the_documented_one() -> None:
    rl = RateLimiter("leadconnector", leadconnector_limits(), clock=ManualClock(EPOCH))
    rl.observe("*", {"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "2500"})
    hold = rl.acquire()
    assert hold is not None and hold.seconds == pytest.approx(2.5)


def test_per_endpoint_systems_keep_buckets_apart() -> None:
    rl = limiter(Window("minute", 1, 60), per_endpoint=True)
    grant_all(rl, 1, "POST /contacts/search")
    assert rl.acquire("POST /contacts/search") is not None
    assert rl.acquire("PATCH /contacts/{id}") is None


def test_other_systems_share_one_bucket() -> None:
    rl = limiter(Window("minute", 1, 60))
    grant_all(rl, 1, "POST /contacts/search")
    assert rl.acquire("PATCH /contacts/{id}") is not None


def test_block_holds_the_whole_bucket() -> None:
    rl = limiter(Window("minute", 100, 60))
    rl.block("*", 7)
    hold = rl.acquire()
    assert hold is not None and hold.seconds == pytest.approx(7) and hold.reason == "server answered 429"
    advance(rl, 7)
    assert rl.acquire() is None


def test_wait_after_429_prefers_retry_after() -> None:
    rl = RateLimiter("apollo", apollo_limits(), clock=ManualClock(EPOCH))
    assert rl.wait_after_429("b", {"retry-after": "17"}) == 17


def test_wait_after_429_reads_a_reset_timestamp() -> None:
    rl = RateLimiter("corporatemerch", corporatemerch_limits(), clock=ManualClock(EPOCH))
    assert rl.wait_after_429("*", {"X-RateLimit-Reset": str(int(EPOCH) + 30)}) == pytest.approx(30)


def test_wait_after_429_uses_the_window_the_headers_showed_spent() -> None:
    rl = RateLimiter("apollo", apollo_limits(), clock=ManualClock(EPOCH))
    headers = {"x-minute-requests-left": "150", "x-hourly-requests-left": "0"}
    rl.observe("b", headers)
    assert rl.wait_after_429("b", headers) == pytest.approx(3600)


def test_wait_after_429_without_hints_waits_for_the_shortest_window() -> None:
    rl = RateLimiter("leadconnector", leadconnector_limits(), clock=ManualClock(EPOCH))
    assert rl.wait_after_429("*", {}) == pytest.approx(10)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5", 5.0), ("0", 0.0), ("2.5", 2.5), ("-3", 0.0), ("", None), ("soon", None), (None, None)],
)
def test_parse_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, EPOCH) == seconds


def test_parse_retry_after_http_date() -> None:
    at = datetime.fromtimestamp(EPOCH, UTC) + timedelta(seconds=120)
    assert parse_retry_after(format_datetime(at, usegmt=True), EPOCH) == pytest.approx(120)


def test_parse_retry_after_date_in_the_past_is_zero() -> None:
    at = datetime.fromtimestamp(EPOCH, UTC) - timedelta(hours=1)
    assert parse_retry_after(format_datetime(at, usegmt=True), EPOCH) == 0


def test_documented_defaults() -> None:
    apollo = {w.name: (w.limit, w.seconds) for w in default_limits("apollo").windows}
    assert apollo == {"minute": (200, 60), "hour": (600, 3600), "day": (6000, 86400)}
    assert default_limits("apollo").per_endpoint
    lc = {w.name: (w.limit, w.seconds) for w in default_limits("leadconnector").windows}
    assert lc == {"interval": (100, 10), "day": (200_000, 86400)}
    assert [(w.limit, w.seconds) for w in default_limits("corporatemerch").windows] == [(40, 60)]
    assert default_limits("unknown").windows == ()


def test_remaining_reports_what_is_left_per_window() -> None:
    rl = RateLimiter("apollo", apollo_limits(), clock=ManualClock(EPOCH))
    grant_all(rl, 3, "b")
    assert rl.remaining("b") == {"minute": 197, "hour": 597, "day": 5997}
    rl.observe("b", {"x-minute-requests-left": "10"})
    assert rl.remaining("b")["minute"] == 10


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=8),
    seconds=st.integers(min_value=1, max_value=30),
    gaps=st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=60),
)
def test_never_more_than_limit_calls_in_any_window_span(limit: int, seconds: int, gaps: list[float]) -> None:
    rl = limiter(Window("w", limit, seconds))
    clock = rl.clock
    granted: list[float] = []
    for gap in gaps:
        advance(rl, gap)
        while (hold := rl.acquire()) is not None:
            clock.sleep(hold.seconds)
        granted.append(clock.monotonic())
    for i, start in enumerate(granted):
        in_span = [t for t in granted[i:] if t < start + seconds]
        assert len(in_span) <= limit
