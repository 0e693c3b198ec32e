"""LeadConnector's rate limits: a burst window per token and a daily window per location.

Documented: 100 requests per 10 seconds and 200,000 per day, reported on every response by
``X-RateLimit-*`` headers. With Private Integration tokens the burst is counted per token per
location while all tokens of one location share the daily counter (rate-limits page, v3; apis.md
2.9); with a single token both readings agree. Also sent, as observed live:
``x-ratelimit-daily-reset``, whose unit is undocumented; here it is the milliseconds until the
daily window resets. The 429 body is not documented either; ``{"statusCode": 429, "message":
"Too Many Requests"}`` follows the API's other error bodies. Whether ``Retry-After`` is sent is an
open question: off by default.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from syncengine.sim.core import FixedWindow, SimClock

DEFAULT_LIMITS = {"burst": 100, "interval_ms": 10_000, "daily": 200_000}
DAY_SECONDS = 86_400.0
TOO_MANY_REQUESTS = {"statusCode": 429, "message": "Too Many Requests"}


class RateLimits:
    """The daily window of one location and a burst window per token, on the simulator's clock."""

    def __init__(self, clock: SimClock, *, send_retry_after: bool = False) -> None:
        self.clock = clock
        self.send_retry_after = send_retry_after
        self.settings = dict(DEFAULT_LIMITS)
        self._build()

    def _build(self) -> None:
        self._bursts: dict[str, FixedWindow] = {}
        self.daily = FixedWindow(self.settings["daily"], DAY_SECONDS)

    def burst(self, token: str = "") -> FixedWindow:
        if token not in self._bursts:
            self._bursts[token] = FixedWindow(self.settings["burst"], self.settings["interval_ms"] / 1000)
        return self._bursts[token]

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        """Apply ``{"burst", "interval_ms", "daily"}`` (any subset); counters restart on a change."""
        if not data:
            return dict(self.settings)
        unknown = set(data) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(f"unknown LeadConnector limit settings: {sorted(unknown)}")
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        self.settings.update(data)
        self._build()
        return dict(self.settings)

    def reset(self) -> None:
        self.settings = dict(DEFAULT_LIMITS)
        self._build()

    def take(self, enabled: bool, token: str = "") -> bool:
        """Count one request of ``token``; False when a window is exhausted (the request gets a 429)."""
        if not enabled:
            return True
        now = self.clock.timestamp()
        burst = self.burst(token)
        if not (burst.would_allow(now) and self.daily.would_allow(now)):
            return False
        burst.hit(now)
        self.daily.hit(now)
        return True

    def headers(self, token: str = "") -> dict[str, str]:
        now = self.clock.timestamp()
        return {
            "X-RateLimit-Limit-Daily": str(self.settings["daily"]),
            "X-RateLimit-Daily-Remaining": str(self.daily.remaining(now)),
            "X-RateLimit-Interval-Milliseconds": str(self.settings["interval_ms"]),
            "X-RateLimit-Max": str(self.settings["burst"]),
            "X-RateLimit-Remaining": str(self.burst(token).remaining(now)),
            "X-RateLimit-Daily-Reset": str(int((self.daily.reset_at(now) - now) * 1000)),
        }

    def too_many_requests(self, token: str = "") -> JSONResponse:
        headers = self.headers(token)
        if self.send_retry_after:
            now = self.clock.timestamp()
            exhausted = self.daily if self.daily.remaining(now) == 0 else self.burst(token)
            headers["Retry-After"] = str(exhausted.retry_after(now))
        return JSONResponse(TOO_MANY_REQUESTS, status_code=429, headers=headers)
