"""How long the documented rate limits make a plan's calls take, and what one run of it sends.

From the calls a plan makes (the connectors' ``describe``) and each system's limits
(``connectors.ratelimit``: Apollo's minute, hour and day windows per endpoint action,
LeadConnector's 100 per 10 seconds and 200,000 a day, CorporateMerch's 40 a minute), per system:

* the calls by endpoint;
* the time the limits impose on them (``seconds``): per bucket and window, the first window's
  budget (what is left of it, when the live headers said so) is free and every further budget or
  part of one costs one window length; a system takes as long as its slowest bucket, and systems
  are pushed in parallel, so a plan takes as long as its slowest system;
* what this run sends and what later runs send: a run waits out a window no longer than the
  client's ``max_wait`` (a minute fills and frees), but stops where a longer window is spent (an
  hour, a day) and leaves the rest owed to later runs;
* when the whole plan is done (``done_at``), for a multi-day initial sync in particular, if runs
  follow each other as soon as the budget returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from syncengine.connectors.base import HttpCall
from syncengine.connectors.ratelimit import DEFAULT_BUCKET, LimitSpec, RateLimiter, Window, default_limits

MAX_WAIT = 120.0  # seconds: the longest rate-limit wait a run makes (``RetryPolicy.max_wait``)


def endpoint_of(call: HttpCall) -> str:
    """The endpoint a call counts against, as the HTTP client names it (ids folded)."""
    from syncengine.connectors.http import endpoint_template  # the client's naming, one place

    return endpoint_template(call.method, call.path)


@dataclass(frozen=True)
class EndpointEstimate:
    """One endpoint's calls: how many, how many this run sends, how long the limits make them take."""

    endpoint: str
    calls: int
    this_run: int
    seconds: float
    binding: str | None  # the window that sets ``seconds`` (None: the calls fit the first budget)

    @property
    def later(self) -> int:
        return self.calls - self.this_run


@dataclass(frozen=True)
class SystemSchedule:
    system: str
    endpoints: tuple[EndpointEstimate, ...]

    @property
    def calls(self) -> int:
        return sum(e.calls for e in self.endpoints)

    @property
    def this_run(self) -> int:
        return sum(e.this_run for e in self.endpoints)

    @property
    def later(self) -> int:
        return self.calls - self.this_run

    @property
    def seconds(self) -> float:
        return max((e.seconds for e in self.endpoints), default=0.0)


@dataclass(frozen=True)
class Schedule:
    """A plan's calls against the documented limits, per system; ``at`` is when it was estimated."""

    systems: tuple[SystemSchedule, ...]
    at: datetime

    @property
    def seconds(self) -> float:
        return max((s.seconds for s in self.systems), default=0.0)

    @property
    def done_at(self) -> datetime:
        return self.at + timedelta(seconds=self.seconds)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """A schedule as ``to_dict`` stored it (``status`` shows the last preview's)."""
        systems = tuple(
            SystemSchedule(name, tuple(
                EndpointEstimate(e["endpoint"], int(e["calls"]), int(e["this_run"]), float(e["seconds"]),
                                 e.get("binding"))
                for e in item["endpoints"]
            ))
            for name, item in dict(data["systems"]).items()
        )  # fmt: skip
        return cls(systems, datetime.fromisoformat(str(data["at"])))

    def to_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "seconds": round(self.seconds, 1),
            "done_at": self.done_at.isoformat(),
            "systems": {
                s.system: {
                    "calls": s.calls,
                    "this_run": s.this_run,
                    "later": s.later,
                    "seconds": round(s.seconds, 1),
                    "done_at": (self.at + timedelta(seconds=s.seconds)).isoformat(),
                    "endpoints": [_endpoint_dict(e) for e in s.endpoints],
                }
                for s in self.systems
            },
        }


def _endpoint_dict(e: EndpointEstimate) -> dict[str, object]:
    return {
        "endpoint": e.endpoint,
        "calls": e.calls,
        "this_run": e.this_run,
        "later": e.later,
        "seconds": round(e.seconds, 1),
        "binding": e.binding,
    }


def bucket_seconds(
    calls: int, windows: Sequence[Window], left: Mapping[str, int | None] | None = None
) -> tuple[float, str | None]:
    """Time a bucket's windows impose on ``calls``, and the longest window that binds.

    The longest window first: what is left of its current budget is free; beyond it, each further
    budget waits one window length, and the last one's calls are paced by the shorter windows
    (an Apollo day of 6,000 calls at 600 an hour takes nine hours before the next day starts)."""
    ordered = sorted(windows, key=lambda w: -w.seconds)
    total, binding = 0.0, None
    live = left or {}
    for window in ordered:
        if window.limit is None or window.limit <= 0 or calls <= 0:
            continue
        budget = live.get(window.name)
        free = window.limit if budget is None else max(min(budget, window.limit), 0)
        if calls <= free:
            continue
        periods = math.ceil((calls - free) / window.limit)
        total += periods * window.seconds
        binding = binding or window.name
        calls = calls - free - (periods - 1) * window.limit
        live = {}  # the windows below start afresh with the new period
    return total, binding


def run_share(calls: int, spec: LimitSpec, left: Mapping[str, int | None], max_wait: float) -> int:
    """The calls one run sends: every window longer than ``max_wait`` caps it at what it has left."""
    share = calls
    for window in spec.windows:
        if window.limit is None or window.seconds <= max_wait:
            continue
        budget = left.get(window.name)
        share = min(share, window.limit if budget is None else max(budget, 0))
    return share


def estimate_system(
    system: str,
    calls: Iterable[HttpCall],
    spec: LimitSpec | None = None,
    *,
    left: Mapping[str, Mapping[str, int | None]] | None = None,
    max_wait: float = MAX_WAIT,
) -> SystemSchedule:
    """One system's schedule; ``left`` holds the live budget per bucket and window, when known."""
    spec = spec if spec is not None else default_limits(system)
    counts: dict[str, int] = {}
    for call in calls:
        endpoint = endpoint_of(call)
        counts[endpoint] = counts.get(endpoint, 0) + 1
    # Apollo counts each endpoint action apart; the others count every call in one budget.
    buckets = {e: (e if spec.per_endpoint else DEFAULT_BUCKET) for e in counts}
    shared: dict[str, int] = {}
    for endpoint, bucket in buckets.items():
        shared[bucket] = shared.get(bucket, 0) + counts[endpoint]
    estimates = []
    for endpoint in sorted(counts, key=lambda e: (-counts[e], e)):
        bucket = buckets[endpoint]
        live = (left or {}).get(bucket, {})
        n = shared[bucket]
        seconds, binding = bucket_seconds(n, spec.windows, live)
        # A shared budget's run share goes to its endpoints in proportion to their calls.
        this_run = run_share(n, spec, live, max_wait)
        mine = counts[endpoint] if n == this_run else math.floor(this_run * counts[endpoint] / n)
        estimates.append(EndpointEstimate(endpoint, counts[endpoint], mine, seconds, binding))
    return SystemSchedule(system, tuple(estimates))


def estimate(
    calls: Mapping[str, Sequence[HttpCall]],
    at: datetime,
    *,
    limits: Mapping[str, LimitSpec] | None = None,
    left: Mapping[str, Mapping[str, Mapping[str, int | None]]] | None = None,
    max_wait: float = MAX_WAIT,
) -> Schedule:
    """The schedule of ``calls`` (system -> the plan's calls, each once) from ``at``."""
    systems = tuple(
        estimate_system(
            system, items, (limits or {}).get(system), left=(left or {}).get(system), max_wait=max_wait
        )
        for system, items in sorted(calls.items())
        if items
    )
    return Schedule(systems, at)


def calls_by_system(
    calls: Mapping[str, Sequence[HttpCall]], system_of: Mapping[str, str]
) -> dict[str, list[HttpCall]]:
    """The distinct calls per system from a preview's ``op id -> calls`` (a bulk call carries
    several ops and is listed under each)."""
    seen: set[int] = set()
    out: dict[str, list[HttpCall]] = {}
    for op_id, items in calls.items():
        system = system_of.get(op_id)
        if system is None:
            continue
        for call in items:
            if id(call) not in seen:
                seen.add(id(call))
                out.setdefault(system, []).append(call)
    return out


def duration(seconds: float) -> str:
    """``2 d 3 h``, ``4 h 10 min``, ``3 min``, ``40 s``: the two largest units."""
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    units = (("d", 86400), ("h", 3600), ("min", 60))
    parts = []
    rest = round(seconds)
    for name, size in units:
        if rest >= size:
            parts.append(f"{rest // size} {name}")
            rest %= size
    return " ".join(parts[:2])


def lines(schedule: Schedule, *, endpoints: int = 4) -> list[str]:
    """The schedule as text: per system its calls, this run's share, the time the limits impose and
    the end, then its busiest endpoints."""
    out = []
    for s in schedule.systems:
        end = (schedule.at + timedelta(seconds=s.seconds)).strftime("%Y-%m-%d %H:%M UTC")
        later = f", {s.later:,} left for later runs" if s.later else ""
        out.append(
            f"{s.system}: {s.calls:,} calls, {s.this_run:,} this run{later}; the limits make them take "
            f"{duration(s.seconds)} (done about {end})"
        )
        for e in s.endpoints[:endpoints]:
            why = f", {e.binding} limit" if e.binding else ""
            out.append(f"  {e.endpoint}: {e.calls:,}{why}")
    if len(schedule.systems) > 1:
        end = schedule.done_at.strftime("%Y-%m-%d %H:%M UTC")
        out.append(f"all systems in parallel: {duration(schedule.seconds)} (done about {end})")
    return out


def of_plan(
    calls: Mapping[str, Sequence[HttpCall]],
    system_of: Mapping[str, str],
    limiters: Mapping[str, RateLimiter],
    at: datetime,
    *,
    max_wait: float = MAX_WAIT,
) -> Schedule:
    """The schedule of a preview's or run's plan (``op id -> calls``, ``op id -> system``), against
    the documented limits; a limiter that counts them (``limiters``) gives the budget known left."""
    by_system = calls_by_system(calls, system_of)
    left: dict[str, dict[str, Mapping[str, int | None]]] = {}
    for system, items in by_system.items():
        limiter = limiters.get(system)
        if limiter is None or not limiter.spec.windows:
            continue  # no budget counted (simulators without limits): the documented one, whole
        buckets = {endpoint_of(c) if limiter.spec.per_endpoint else DEFAULT_BUCKET for c in items}
        left[system] = {bucket: limiter.remaining(bucket) for bucket in buckets}
    limits = {system: default_limits(system) for system in by_system}
    return estimate(by_system, at, limits=limits, left=left, max_wait=max_wait)


def limiters_of(connectors: Mapping[str, object]) -> dict[str, RateLimiter]:
    """Each connector's rate limiter (its HTTP client's), where it has one."""
    out = {}
    for system, connector in connectors.items():
        limiter = getattr(getattr(connector, "client", None), "limiter", None)
        if isinstance(limiter, RateLimiter):
            out[system] = limiter
    return out
