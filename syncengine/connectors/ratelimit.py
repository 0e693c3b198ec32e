"""Proactive rate limiting: spend each system's budget fully without provoking a 429.

A ``RateLimiter`` keeps, per bucket, one state per documented window (Apollo: minute, hour and
day per endpoint action; LeadConnector: 100 per 10 s and 200,000 per day; CorporateMerch: 40 per
minute). Before a call, ``acquire`` either grants it or returns the ``Hold`` to wait; the HTTP
client does the waiting so that it can report it.

Two sources decide, per window:

* the live headers of the latest response (``observe``): the server counts every client of the
  account, so its "requests left" wins whenever it is current. A window announced with no reset
  time is assumed to reset at the latest one window length after the observation — the earliest
  moment at which we *know* calls are allowed again, without probing for a 429;
* otherwise our own log of calls, as a sliding window: never more than ``limit`` calls in any
  span of ``seconds``, which respects the server's fixed window wherever its edges fall.

A 429 blocks the bucket (``block``) for the wait the server asked (``wait_after_429``), so that
no other call spends a request that cannot succeed.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

DEFAULT_BUCKET = "*"
# Holds are rounded up to this, so that float noise can never make a client wait a zero-length
# hold over and over, nor be granted a hair before the window frees.
_MIN_HOLD = 0.001


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float:
        """Seconds since the epoch, to read reset times that servers send as timestamps."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ManualClock:
    """A clock that only moves when slept or advanced; every sleep is recorded in ``sleeps``.

    With it, tests and benchmarks see the waits a run would make without spending them.
    """

    def __init__(self, start_epoch: float | None = None) -> None:
        self._elapsed = 0.0
        self._epoch = time.time() if start_epoch is None else start_epoch
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def time(self) -> float:
        with self._lock:
            return self._epoch + self._elapsed

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._elapsed += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += seconds


@dataclass(frozen=True)
class Window:
    """One documented limit and the headers that announce its live state (names lower-case).

    ``reset_headers`` carry a Unix timestamp (a small number is read as seconds from now);
    ``length_ms_headers`` announce the window's length in milliseconds.
    """

    name: str
    limit: int | None
    seconds: float
    limit_headers: tuple[str, ...] = ()
    remaining_headers: tuple[str, ...] = ()
    reset_headers: tuple[str, ...] = ()
    length_ms_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class LimitSpec:
    """A system's windows; ``per_endpoint`` when the API counts each endpoint action apart."""

    windows: tuple[Window, ...]
    per_endpoint: bool = False


@dataclass(frozen=True)
class Hold:
    """Why and how long a call must wait."""

    seconds: float
    reason: str


def apollo_limits(
    per_minute: int | None = 200, per_hour: int | None = 600, per_day: int | None = 6000
) -> LimitSpec:
    """Apollo: fixed minute/hour/day windows per endpoint action; both day-header spellings."""
    return LimitSpec(
        per_endpoint=True,
        windows=(
            Window("minute", per_minute, 60, ("x-rate-limit-minute",), ("x-minute-requests-left",)),
            Window("hour", per_hour, 3600, ("x-rate-limit-hourly",), ("x-hourly-requests-left",)),
            Window(
                "day",
                per_day,
                86400,
                ("x-rate-limit-daily", "x-rate-limit-24-hour"),
                ("x-daily-requests-left", "x-24-hour-requests-left"),
            ),
        ),
    )


def leadconnector_limits(
    per_interval: int = 100, interval_seconds: float = 10, per_day: int = 200_000
) -> LimitSpec:
    """LeadConnector: a burst interval (100 per 10 s) and a daily budget per location."""
    return LimitSpec(
        windows=(
            Window(
                "interval",
                per_interval,
                interval_seconds,
                ("x-ratelimit-max",),
                ("x-ratelimit-remaining",),
                length_ms_headers=("x-ratelimit-interval-milliseconds",),
            ),
            Window("day", per_day, 86400, ("x-ratelimit-limit-daily",), ("x-ratelimit-daily-remaining",)),
        ),
    )


def corporatemerch_limits(per_minute: int = 40) -> LimitSpec:
    """CorporateMerch: 40 per minute, with a reset timestamp on every response."""
    return LimitSpec(
        windows=(
            Window(
                "minute",
                per_minute,
                60,
                ("x-ratelimit-limit",),
                ("x-ratelimit-remaining",),
                ("x-ratelimit-reset",),
            ),
        ),
    )


def default_limits(system: str) -> LimitSpec:
    """The documented limits of a known system (its spec's); an unknown system gets no proactive limit."""
    # Imported here: the specs name the limit factories above.
    from syncengine.systems import SPECS

    spec = SPECS.get(system)
    return spec.limits() if spec else LimitSpec(windows=())


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay seconds or HTTP date); None if unreadable."""
    if value is None or not value.strip():
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(at.timestamp() - now_epoch, 0.0)


def _hold(seconds: float, reason: str) -> Hold:
    return Hold(max(seconds, _MIN_HOLD), reason)


def _reset_in(value: str, now_epoch: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if number > 1e12:  # milliseconds since the epoch
        number /= 1000
    return max(number - now_epoch if number > 1e9 else number, 0.0)


def _first(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in headers:
            return headers[name]
    return None


class _WindowState:
    def __init__(self, window: Window) -> None:
        self.name = window.name
        self.limit = window.limit
        self.seconds = window.seconds
        self.sent: deque[float] = deque()
        self.server_left: int | None = None
        self.server_until = 0.0  # when the server's count stops being current (its window reset)
        self.sent_since_observed = 0

    def hold(self, now: float) -> Hold | None:
        if self.server_left is not None and now < self.server_until:
            if self.server_left - self.sent_since_observed > 0:
                return None
            return _hold(self.server_until - now, f"{self.name} window: no requests left (server)")
        if self.limit is None:
            return None
        while self.sent and self.sent[0] + self.seconds <= now:
            self.sent.popleft()
        if len(self.sent) < self.limit:
            return None
        free_at = self.sent[len(self.sent) - self.limit] + self.seconds
        return _hold(free_at - now, f"{self.name} window: {self.limit} requests per {self.seconds:g} s used")

    def record(self, now: float) -> None:
        self.sent.append(now)
        self.sent_since_observed += 1

    def observe(self, window: Window, headers: Mapping[str, str], now: float, now_epoch: float) -> None:
        limit = _first(headers, window.limit_headers)
        if limit is not None:
            if not limit.strip():
                self.limit = None  # an empty limit header announces an unlimited window
            elif limit.strip().isdigit():
                self.limit = int(limit)
        length_ms = _first(headers, window.length_ms_headers)
        if length_ms and length_ms.strip().isdigit() and int(length_ms) > 0:
            self.seconds = int(length_ms) / 1000
        left = _first(headers, window.remaining_headers)
        if left is None or not left.strip().lstrip("-").isdigit():
            return
        reset = _first(headers, window.reset_headers)
        reset_in = _reset_in(reset, now_epoch) if reset else None
        self.server_left = int(left)
        self.sent_since_observed = 0
        self.server_until = now + (reset_in if reset_in is not None else self.seconds)

    def exhausted_for(self, now: float) -> float | None:
        if self.server_left is not None and self.server_left <= 0 and now < self.server_until:
            return self.server_until - now
        return None


class _Bucket:
    def __init__(self, spec: LimitSpec) -> None:
        self.windows = [_WindowState(w) for w in spec.windows]
        self.blocked_until = 0.0


class SharedSpend(Protocol):
    """A budget other processes spend too (``syncengine.connectors.shared_budget``)."""

    def take(self, bucket: str, windows: tuple[Window, ...]) -> Hold | None: ...


class RateLimiter:
    """Per-bucket budget of one system; thread-safe. See the module docstring."""

    shared: SharedSpend | None = None  # asked after our own windows grant a call

    def __init__(self, system: str, spec: LimitSpec | None = None, *, clock: Clock | None = None) -> None:
        self.system = system
        self.spec = spec if spec is not None else default_limits(system)
        self.clock: Clock = clock or SystemClock()
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: str) -> _Bucket:
        key = key if self.spec.per_endpoint else DEFAULT_BUCKET
        if key not in self._buckets:
            self._buckets[key] = _Bucket(self.spec)
        return self._buckets[key]

    def acquire(self, bucket: str = DEFAULT_BUCKET) -> Hold | None:
        """Grant one call now (None), or say how long to wait before asking again."""
        with self._lock:
            state = self._bucket(bucket)
            now = self.clock.monotonic()
            holds = [h for h in (w.hold(now) for w in state.windows) if h]
            if state.blocked_until > now:
                holds.append(_hold(state.blocked_until - now, "server answered 429"))
            if holds:
                return max(holds, key=lambda h: h.seconds)
            key = bucket if self.spec.per_endpoint else DEFAULT_BUCKET
            if self.shared is not None and (held := self.shared.take(key, self.spec.windows)):
                return held
            for window in state.windows:
                window.record(now)
            return None

    def observe(self, bucket: str, headers: Mapping[str, str]) -> None:
        """Correct the budget from a response's rate-limit headers."""
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            state = self._bucket(bucket)
            now, now_epoch = self.clock.monotonic(), self.clock.time()
            for window, spec in zip(state.windows, self.spec.windows, strict=True):
                window.observe(spec, lowered, now, now_epoch)

    def block(self, bucket: str, seconds: float) -> None:
        """Hold every call of the bucket for ``seconds`` (after a 429)."""
        with self._lock:
            state = self._bucket(bucket)
            state.blocked_until = max(state.blocked_until, self.clock.monotonic() + seconds)

    def wait_after_429(self, bucket: str, headers: Mapping[str, str]) -> float:
        """Seconds until a rate-limited call can succeed, from the 429's headers or the windows.

        In order: ``Retry-After`` (seconds or date); a reset timestamp; the reset of a window the
        headers showed exhausted; else the shortest window (LeadConnector sends no hint at all).
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        now_epoch = self.clock.time()
        retry_after = parse_retry_after(lowered.get("retry-after"), now_epoch)
        if retry_after is not None:
            return retry_after
        for spec in self.spec.windows:
            reset = _first(lowered, spec.reset_headers)
            reset_in = _reset_in(reset, now_epoch) if reset else None
            if reset_in is not None:
                return reset_in
        with self._lock:
            state = self._bucket(bucket)
            now = self.clock.monotonic()
            waits = [w for w in (s.exhausted_for(now) for s in state.windows) if w is not None]
            if waits:
                return max(waits)
            return min((s.seconds for s in state.windows), default=60.0)

    def remaining(self, bucket: str = DEFAULT_BUCKET) -> dict[str, int | None]:
        """Calls left per window as currently known (None: unlimited)."""
        with self._lock:
            state = self._bucket(bucket)
            now = self.clock.monotonic()
            left: dict[str, int | None] = {}
            for w in state.windows:
                if w.server_left is not None and now < w.server_until:
                    left[w.name] = max(w.server_left - w.sent_since_observed, 0)
                elif w.limit is None:
                    left[w.name] = None
                else:
                    left[w.name] = max(w.limit - sum(1 for t in w.sent if t + w.seconds > now), 0)
            return left
