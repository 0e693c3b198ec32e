"""The schedule estimate: a plan's calls against the documented limits, per system and endpoint."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from syncengine.connectors.base import HttpCall
from syncengine.connectors.ratelimit import ManualClock, RateLimiter, apollo_limits, corporatemerch_limits
from syncengine.output import print_schedule
from syncengine.schedule_estimate import bucket_seconds, calls_by_system, duration, estimate, of_plan

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def posts(path: str, n: int) -> list[HttpCall]:
    return [HttpCall("POST", path, {}) for _ in range(n)]


def test_an_apollo_initial_sync_of_several_days_ends_when_its_busiest_action_does() -> None:
    # 15,000 PATCHes at 600 an hour and 6,000 a day: two full days, then 3,000 more in 5 hours.
    calls = {"apollo": [HttpCall("PATCH", f"/contacts/64a{i:021d}") for i in range(15_000)]}
    calls["apollo"] += posts("/contacts/bulk_update", 150)

    schedule = estimate(calls, AT)

    apollo = schedule.systems[0]
    patch = apollo.endpoints[0]
    assert patch.endpoint == "PATCH /contacts/{id}" and patch.calls == 15_000
    assert patch.binding == "day"
    # the last 3,000: 600 in the first hour, four more hours, the last hour's 600 at 200 a minute
    assert patch.seconds == 2 * 86400 + 4 * 3600 + 2 * 60
    assert patch.this_run == 600  # a run stops where the hour's budget is spent
    assert apollo.later == 15_000 - 600
    bulk = apollo.endpoints[1]
    assert (bulk.calls, bulk.this_run, bulk.seconds) == (150, 150, 0.0)  # its own action's budget
    assert schedule.done_at == AT + timedelta(days=2, hours=4, minutes=2)


def test_systems_run_in_parallel_so_the_plan_takes_as_long_as_the_slowest() -> None:
    calls = {"corporatemerch": posts("/contacts", 400), "leadconnector": posts("/contacts/", 1000)}

    schedule = estimate(calls, AT)

    by_name = {s.system: s for s in schedule.systems}
    assert by_name["corporatemerch"].seconds == 9 * 60  # 40 a minute: the first minute is free
    assert by_name["leadconnector"].seconds == 90  # 100 per 10 s
    assert schedule.seconds == 9 * 60
    # windows a run waits out (a minute, 10 s) do not hold calls back for a later run
    assert all(s.later == 0 for s in schedule.systems)


def test_a_live_budget_moves_the_estimate() -> None:
    seconds, binding = bucket_seconds(700, apollo_limits().windows, {"hour": 100, "day": 5000})
    assert (seconds, binding) == (3720.0, "hour")  # 100 now, 600 in the next hour, 200 a minute
    assert bucket_seconds(80, corporatemerch_limits().windows, {"minute": 0}) == (120.0, "minute")


def test_a_bulk_call_carrying_several_ops_counts_once_and_the_limiter_says_what_is_left() -> None:
    bulk = HttpCall("POST", "/contacts/bulk_update", {}, op_ids=("a", "b"))
    patch = HttpCall("PATCH", "/contacts/64a000000000000000000001", {}, op_ids=("b",))
    calls = {"a": [bulk], "b": [bulk, patch]}
    systems = {"a": "apollo", "b": "apollo"}
    assert calls_by_system(calls, systems) == {"apollo": [bulk, patch]}

    limiter = RateLimiter("apollo", apollo_limits(per_hour=2), clock=ManualClock())
    for _ in range(2):
        assert limiter.acquire("PATCH /contacts/{id}") is None
    schedule = of_plan(calls, systems, {"apollo": limiter}, AT)

    by_endpoint = {e.endpoint: e for e in schedule.systems[0].endpoints}
    assert by_endpoint["PATCH /contacts/{id}"].this_run == 0  # the hour's budget is spent
    assert by_endpoint["POST /contacts/bulk_update"].this_run == 1


def test_the_schedule_prints_one_row_per_system_and_endpoint() -> None:
    schedule = estimate({"apollo": posts("/contacts", 900)}, AT)
    console = Console(file=io.StringIO(), width=200)

    print_schedule(console, schedule)

    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "apollo | all | 900 | 600 | 300 | 1 h 1 min" in text
    assert "POST /contacts | 900 | 600 | 300 | 1 h 1 min (hour limit)" in text
    assert duration(2 * 86400 + 3 * 3600 + 59) == "2 d 3 h"


def test_a_stored_schedule_reads_back_the_same() -> None:
    from syncengine.schedule_estimate import Schedule

    schedule = estimate({"apollo": posts("/contacts", 900), "corporatemerch": posts("/contacts", 90)}, AT)
    again = Schedule.from_dict(schedule.to_dict())
    assert again.to_dict() == schedule.to_dict()
