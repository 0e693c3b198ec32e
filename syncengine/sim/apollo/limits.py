"""Apollo's rate limits: fixed minute, hour and day windows per team and per endpoint action.

Documented [DOC rate-limits, SPEC usage stats]: every endpoint action (``["api/v1/contacts",
"search"]``, ``[..., "create"]``...) has its own three windows; successful authenticated calls carry
``x-rate-limit-minute``/``x-minute-usage``/``x-minute-requests-left``, the ``hourly`` trio and the
day trio (``24-hour`` or ``daily`` spelling); a 429 names the route and the exhausted window and
carries ``retry-after`` = seconds until that window resets. A window without limit sends an empty
``x-rate-limit-*`` header and no usage headers. The figures depend on the team's plan
(``plans``); single endpoint actions can be set apart from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

from syncengine.sim.apollo.plans import CUSTOM, DEFAULT_PLAN, plan_limits, plan_name
from syncengine.sim.core import FixedWindow, SimClock

DEFAULT_LIMITS: dict[str, int | None] = plan_limits(DEFAULT_PLAN)
WINDOW_SECONDS = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}
_HEADER_WORD = {"minute": "minute", "hour": "hourly"}
UPGRADE = "https://app.apollo.io/#/settings/plans/upgrade"


@dataclass(frozen=True)
class Endpoint:
    """One endpoint action: its key permission, its usage-stats key and the route its 429 names."""

    resource: str
    action: str
    message_route: str

    @property
    def name(self) -> str:
        return f"{self.resource}/{self.action}"

    @property
    def permission(self) -> str:
        return f"api/v1/{self.resource}/{self.action}"

    @property
    def usage_key(self) -> str:
        return json.dumps([f"api/v1/{self.resource}", self.action])


def _endpoint(resource: str, action: str, message_route: str | None = None) -> Endpoint:
    return Endpoint(resource, action, message_route or f"api/v1/{resource}/{action}")


# The 429 routes follow each operation's own example in the spec.
ENDPOINTS = {
    e.name: e
    for e in (
        _endpoint("contacts", "search"),
        _endpoint("contacts", "show", "api/v1/contacts/{contact_id}"),
        _endpoint("contacts", "create", "api/v1/contacts"),
        _endpoint("contacts", "update", "api/v1/contacts/{contact_id}"),
        _endpoint("contacts", "bulk_create"),
        _endpoint("contacts", "bulk_update"),
        _endpoint("contacts", "update_stages"),
        _endpoint("contacts", "update_owners"),
        _endpoint("contact_stages", "index", "api/v1/contact_stages"),
        _endpoint("labels", "index", "api/v1/labels"),
        _endpoint("labels", "create"),
        _endpoint("labels", "update"),
        _endpoint("labels", "add_entity_ids_to_label_names"),
        _endpoint("labels", "remove_entity_ids_from_label_names"),
        _endpoint("fields", "index", "api/v1/fields"),
        _endpoint("fields", "create", "api/v1/fields"),
        _endpoint("typed_custom_fields", "index", "api/v1/typed_custom_fields"),
        _endpoint("users", "search"),
        _endpoint("usage_stats", "api_usage_stats"),
    )
}


class RateLimits:
    """Three fixed windows per endpoint action, read with the simulator's clock."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.plan = DEFAULT_PLAN
        self.limits: dict[str, int | None] = dict(DEFAULT_LIMITS)
        self.per_endpoint: dict[str, dict[str, int | None]] = {}
        self._windows: dict[str, dict[str, FixedWindow]] = {}

    def reset(self) -> None:
        self.plan = DEFAULT_PLAN
        self.limits = dict(DEFAULT_LIMITS)
        self.per_endpoint = {}
        self._windows = {}

    def settings(self) -> dict[str, Any]:
        return {
            "plan": plan_name(self.plan, self.limits),
            **self.limits,
            "endpoints": {k: dict(v) for k, v in self.per_endpoint.items()},
        }

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        """Apply ``{"plan": "basic"}`` (the plan's figures; ``custom`` keeps the current ones),
        then ``{"minute", "hour", "day"}`` (a number, or null for no limit) to every endpoint and
        ``{"endpoints": {"contacts/search": {"minute": 5}}}`` to single ones; counters restart."""
        if not data:
            return self.settings()  # reading the settings must not restart the counters
        unknown = set(data) - {*DEFAULT_LIMITS, "endpoints", "plan"}
        if unknown:
            raise ValueError(f"unknown Apollo limit settings: {sorted(unknown)}")
        plan = data.get("plan", CUSTOM)
        base = dict(self.limits) if plan == CUSTOM else plan_limits(plan)
        overrides = data.get("endpoints") or {}
        if not isinstance(overrides, dict):
            raise ValueError("endpoints must be an object keyed by endpoint, e.g. contacts/search")
        for name, windows in overrides.items():
            if name not in ENDPOINTS:
                raise ValueError(f"unknown endpoint {name!r}; known: {sorted(ENDPOINTS)}")
            _check_windows(windows, name)
        _check_windows({k: v for k, v in data.items() if k in DEFAULT_LIMITS}, "limits")
        if plan != CUSTOM:
            self.plan = plan
        self.limits = {**base, **{k: v for k, v in data.items() if k in DEFAULT_LIMITS}}
        for name, windows in overrides.items():
            self.per_endpoint.setdefault(name, {}).update(windows)
        self._windows = {}
        return self.settings()

    def _limit(self, endpoint: Endpoint, window: str) -> int | None:
        return self.per_endpoint.get(endpoint.name, {}).get(window, self.limits[window])

    def _of(self, endpoint: Endpoint) -> dict[str, FixedWindow]:
        if endpoint.name not in self._windows:
            self._windows[endpoint.name] = {
                w: FixedWindow(self._limit(endpoint, w), seconds) for w, seconds in WINDOW_SECONDS.items()
            }
        return self._windows[endpoint.name]

    def take(self, endpoint: Endpoint) -> str | None:
        """Count one call; the name of the exhausted window (the call gets a 429) or None."""
        now = self.clock.timestamp()
        windows = self._of(endpoint)
        exhausted = [name for name, w in windows.items() if not w.would_allow(now)]
        if exhausted:
            return max(exhausted, key=lambda name: windows[name].reset_at(now))
        for window in windows.values():
            window.hit(now)
        return None

    def headers(self, endpoint: Endpoint, day_style: str) -> dict[str, str]:
        now = self.clock.timestamp()
        headers: dict[str, str] = {}
        for name, window in self._of(endpoint).items():
            word = _HEADER_WORD.get(name, day_style)
            if window.limit is None:
                headers[f"x-rate-limit-{word}"] = ""
                continue
            left = window.remaining(now)  # rolls the window first, so ``used`` is current
            headers[f"x-rate-limit-{word}"] = str(window.limit)
            headers[f"x-{word}-usage"] = str(window.used)
            headers[f"x-{word}-requests-left"] = str(left)
        return headers

    def too_many_requests(self, endpoint: Endpoint, window: str, day_style: str) -> JSONResponse:
        now = self.clock.timestamp()
        exhausted = self._of(endpoint)[window]
        headers = {**self.headers(endpoint, day_style), "retry-after": str(exhausted.retry_after(now))}
        return JSONResponse(
            {"message": limit_message(endpoint, exhausted.limit, window)}, status_code=429, headers=headers
        )

    def usage(self) -> dict[str, Any]:
        """The body of ``POST /usage_stats/api_usage_stats``."""
        now = self.clock.timestamp()
        stats: dict[str, Any] = {}
        for endpoint in ENDPOINTS.values():
            windows = self._of(endpoint)
            stats[endpoint.usage_key] = {
                name: _usage(windows[name], now) for name in ("day", "hour", "minute")
            }
        return stats


def _usage(window: FixedWindow, now: float) -> dict[str, int | None]:
    left = window.remaining(now)
    return {"limit": window.limit, "consumed": window.used, "left_over": left}


def limit_message(endpoint: Endpoint, limit: int | None, window: str) -> str:
    if endpoint.resource == "fields":
        return (
            f"The maximum number of API calls allowed for {endpoint.message_route} is {limit} times per "
            f"{window}. To change your rate limit, upgrade your Apollo plan at {UPGRADE}."
        )
    return (
        f"The maximum number of api calls allowed for {endpoint.message_route} is {limit} times per "
        f"{window}. Please upgrade your plan from {UPGRADE}."
    )


def burst_response(limit: int | None) -> JSONResponse:
    """An injected 429 (fault burst): the search minute window, retry after one second so that
    clients under test back off without stalling the suite."""
    endpoint = ENDPOINTS["contacts/search"]
    body = {"message": limit_message(endpoint, limit or DEFAULT_LIMITS["minute"], "minute")}
    return JSONResponse(body, status_code=429, headers={"retry-after": "1"})


def _check_windows(windows: Any, where: str) -> None:
    if not isinstance(windows, dict):
        raise ValueError(f"{where}: limits must be an object like {{'minute': 5}}")
    for key, value in windows.items():
        if key not in DEFAULT_LIMITS:
            raise ValueError(f"{where}: unknown window {key!r}; known: minute, hour, day")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{where}: {key} must be a positive integer or null, got {value!r}")
