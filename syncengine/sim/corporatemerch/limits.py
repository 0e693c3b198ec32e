"""CorporateMerch's rate limit: 40 requests per minute per API token, in a fixed window.

Documented (corporatemerch.readme.io/reference/rate-limits): exceeding the limit gives a 429, and
every answer carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (here
the epoch second the window ends) and ``Retry-After`` (seconds until then). The 429 body is
Laravel's throttle answer. Each token has its own window; requests with an unknown token are
refused before they are counted, so their 401 carries no rate-limit headers.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse

from syncengine.sim.core import FixedWindow, SimClock

DEFAULT_LIMITS = {"per_minute": 40, "window_seconds": 60}
TOO_MANY_ATTEMPTS = {"message": "Too Many Attempts."}


class RateLimits:
    """One fixed window per token, read with the simulator's clock."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.settings = dict(DEFAULT_LIMITS)
        self._windows: dict[str, FixedWindow] = {}

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        """Apply ``{"per_minute", "window_seconds"}`` (any subset); counters restart on a change."""
        if not data:
            return dict(self.settings)
        unknown = set(data) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(f"unknown CorporateMerch limit settings: {sorted(unknown)}")
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        self.settings.update(data)
        self._windows.clear()
        return dict(self.settings)

    def reset(self) -> None:
        self.settings = dict(DEFAULT_LIMITS)
        self._windows.clear()

    def _window(self, token: str) -> FixedWindow:
        if token not in self._windows:
            self._windows[token] = FixedWindow(self.settings["per_minute"], self.settings["window_seconds"])
        return self._windows[token]

    def take(self, token: str, enabled: bool) -> bool:
        """Count one request of ``token``; False when its window is exhausted (answer 429)."""
        window = self._window(token)
        now = self.clock.timestamp()
        if not enabled:
            return True
        if not window.would_allow(now):
            return False
        window.hit(now)
        return True

    def headers(self, token: str) -> dict[str, str]:
        window = self._window(token)
        now = self.clock.timestamp()
        return {
            "X-RateLimit-Limit": str(self.settings["per_minute"]),
            "X-RateLimit-Remaining": str(window.remaining(now)),
            "X-RateLimit-Reset": str(math.ceil(window.reset_at(now))),
            "Retry-After": str(window.retry_after(now)),
        }

    def too_many_requests(self, token: str) -> JSONResponse:
        return JSONResponse(TOO_MANY_ATTEMPTS, status_code=429, headers=self.headers(token))
