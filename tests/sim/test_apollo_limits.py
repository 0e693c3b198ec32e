"""Rate limits, key scopes and injected faults of the Apollo simulator, as a client sees them
(apis.md 1.10-1.11; fault modes of ``syncengine.sim.core``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread

API_KEY = "sim-apollo-key-limits"
V1 = "/api/v1"
UPGRADE = "Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade."


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    sim = ApolloSim(api_key=API_KEY, seed=14)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers={"x-api-key": API_KEY}, timeout=5) as client:
        yield client


@pytest.fixture
def apollo(server: httpx.Client) -> httpx.Client:
    """Rate limits on (these tests are about them); everything else reset."""
    server.post("/__admin/reset").raise_for_status()
    server.put(
        "/__admin/ratelimits",
        json={"enabled": True, "minute": 200, "hour": 600, "day": 6000, "day_headers": "24-hour"},
    ).raise_for_status()
    return server


def limits(client: httpx.Client, **settings: object) -> None:
    client.put("/__admin/ratelimits", json=settings).raise_for_status()


def search(client: httpx.Client) -> httpx.Response:
    return client.post(f"{V1}/contacts/search", json={})


# --------------------------------------------------------------------------- rate limits


def test_successful_call_reports_all_three_windows(apollo: httpx.Client) -> None:
    search(apollo)
    headers = search(apollo).headers
    assert {k: headers[k] for k in headers if k.startswith("x-")} == {
        "x-rate-limit-minute": "200",
        "x-minute-usage": "2",
        "x-minute-requests-left": "198",
        "x-rate-limit-hourly": "600",
        "x-hourly-usage": "2",
        "x-hourly-requests-left": "598",
        "x-rate-limit-24-hour": "6000",
        "x-24-hour-usage": "2",
        "x-24-hour-requests-left": "5998",
    }


def test_day_window_headers_can_use_the_daily_spelling(apollo: httpx.Client) -> None:
    limits(apollo, day_headers="daily")
    headers = search(apollo).headers
    assert (headers["x-rate-limit-daily"], headers["x-daily-usage"], headers["x-daily-requests-left"]) == (
        "6000",
        "1",
        "5999",
    )
    assert "x-rate-limit-24-hour" not in headers


def test_each_endpoint_action_has_its_own_counter(apollo: httpx.Client) -> None:
    search(apollo)
    search(apollo)
    created = apollo.post(f"{V1}/contacts", json={"first_name": "A"})
    assert created.headers["x-minute-usage"] == "1"


def test_exhausted_minute_window_is_429_naming_route_and_window(apollo: httpx.Client) -> None:
    limits(apollo, minute=2)
    search(apollo)
    search(apollo)
    response = search(apollo)
    assert response.status_code == 429
    assert response.json() == {
        "message": "The maximum number of api calls allowed for api/v1/contacts/search is 2 times per "
        f"minute. {UPGRADE}"
    }
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_exhausted_hour_window_is_reported_with_its_own_retry_after(apollo: httpx.Client) -> None:
    limits(apollo, hour=1)
    apollo.post(f"{V1}/contacts", json={"first_name": "A"})
    response = apollo.post(f"{V1}/contacts", json={"first_name": "B"})
    assert response.json()["message"].startswith(
        "The maximum number of api calls allowed for api/v1/contacts is 1 times per hour."
    )
    assert 60 < int(response.headers["retry-after"]) <= 3600


def test_window_reopens_once_retry_after_has_passed(apollo: httpx.Client) -> None:
    limits(apollo, minute=1)
    search(apollo)
    refused = search(apollo)
    apollo.post("/__admin/clock", json={"advance": int(refused.headers["retry-after"]) - 1})
    assert search(apollo).status_code == 429
    apollo.post("/__admin/clock", json={"advance": 1})
    assert search(apollo).status_code == 200


def test_refused_calls_do_not_use_up_the_window(apollo: httpx.Client) -> None:
    limits(apollo, minute=1, hour=5)
    search(apollo)
    search(apollo)
    search(apollo)
    apollo.post("/__admin/clock", json={"advance": 60})
    assert search(apollo).headers["x-hourly-usage"] == "2"


def test_unlimited_window_sends_an_empty_limit_and_no_usage(apollo: httpx.Client) -> None:
    limits(apollo, minute=None)
    headers = search(apollo).headers
    assert headers["x-rate-limit-minute"] == ""
    assert "x-minute-usage" not in headers and "x-minute-requests-left" not in headers


def test_limits_can_be_set_for_one_endpoint(apollo: httpx.Client) -> None:
    limits(apollo, endpoints={"contacts/search": {"minute": 1}})
    search(apollo)
    assert search(apollo).status_code == 429
    assert apollo.post(f"{V1}/contacts", json={"first_name": "A"}).status_code == 200


def test_unknown_limit_setting_is_refused(apollo: httpx.Client) -> None:
    response = apollo.put("/__admin/ratelimits", json={"seconds": 5})
    assert response.status_code == 400 and "seconds" in response.json()["error"]


def test_switching_rate_limits_off_stops_counting(apollo: httpx.Client) -> None:
    limits(apollo, enabled=False, minute=1)
    assert [search(apollo).status_code for _ in range(3)] == [200, 200, 200]


def test_fields_endpoint_429_uses_its_own_wording(apollo: httpx.Client) -> None:
    limits(apollo, hour=1)
    apollo.get(f"{V1}/fields")
    assert apollo.get(f"{V1}/fields").json() == {
        "message": (
            "The maximum number of API calls allowed for api/v1/fields is 1 times per hour. "
            "To change your rate limit, upgrade your Apollo plan at https://app.apollo.io/#/settings/plans/upgrade."
        )
    }


# --------------------------------------------------------------------------- key scopes and plans


def test_key_without_the_endpoint_in_scope_gets_403_api_inaccessible(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"scopes": ["api/v1/contacts/search"]}).raise_for_status()
    assert search(apollo).status_code == 200
    response = apollo.get(f"{V1}/contacts/66e34b81740c50074e3d1bd4")
    assert (response.status_code, response.json()) == (
        403,
        {
            "error": "This API key is not authorized to access api/v1/contacts/show. "
            "Request an API key from your administrator that includes this endpoint in its configured scope.",
            "error_code": "API_INACCESSIBLE",
        },
    )
    assert not [h for h in response.headers if h.startswith("x-rate-limit")]


def test_free_plan_cannot_search(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"paid_plan": False}).raise_for_status()
    response = search(apollo)
    assert (response.status_code, response.json()) == (
        403,
        {"message": "This endpoint is only available to Apollo users on paid plans."},
    )


# --------------------------------------------------------------------------- injected faults


def faults(client: httpx.Client, **config: object) -> None:
    client.put("/__admin/faults", json=config).raise_for_status()


def contact_count(client: httpx.Client) -> int:
    return len(client.get("/__admin/contacts").json()["contacts"])


def test_error_rate_answers_the_configured_5xx(apollo: httpx.Client) -> None:
    faults(apollo, error_rate=1.0, error_status=502)
    response = search(apollo)
    assert response.status_code == 502
    assert apollo.get("/__admin/journal").json()["entries"][-1]["outcome"] == "error"


def test_timeout_holds_the_answer_but_still_applies_the_write(apollo: httpx.Client) -> None:
    faults(apollo, timeout_rate=1.0, timeout_seconds=0.4)
    with pytest.raises(httpx.ReadTimeout):
        apollo.post(f"{V1}/contacts", json={"first_name": "Slow"}, timeout=0.1)
    deadline = time.monotonic() + 3
    while contact_count(apollo) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert contact_count(apollo) == 1


def test_drop_closes_the_connection_before_the_write(apollo: httpx.Client) -> None:
    faults(apollo, drop_rate=1.0)
    with pytest.raises(httpx.TransportError):
        apollo.post(f"{V1}/contacts", json={"first_name": "Lost"})
    assert contact_count(apollo) == 0


def test_drop_after_loses_the_answer_of_an_applied_write(apollo: httpx.Client) -> None:
    faults(apollo, drop_after_rate=1.0)
    with pytest.raises(httpx.TransportError):
        apollo.post(f"{V1}/contacts", json={"first_name": "Landed"})
    assert contact_count(apollo) == 1


def test_burst_of_429_then_normal_answers(apollo: httpx.Client) -> None:
    faults(apollo, burst_429=2)
    first, second, third = search(apollo), search(apollo), search(apollo)
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["retry-after"] == "1" and "api/v1/contacts" in first.json()["message"]


def test_latency_delays_every_answer(apollo: httpx.Client) -> None:
    faults(apollo, latency_ms=150)
    started = time.perf_counter()
    assert search(apollo).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_faults_can_target_one_path(apollo: httpx.Client) -> None:
    faults(apollo, error_rate=1.0, paths=["/contacts/search"])
    assert search(apollo).status_code == 503
    assert apollo.post(f"{V1}/contacts", json={"first_name": "A"}).status_code == 200


# --------------------------------------------------------------------------- plans and usage stats


def settings(client: httpx.Client) -> dict[str, object]:
    return client.get("/__admin/ratelimits").json()


def window_headers(response: httpx.Response) -> tuple[str, str, str]:
    h = response.headers
    return (h["x-rate-limit-minute"], h["x-rate-limit-hourly"], h["x-rate-limit-24-hour"])


def test_the_default_plan_is_professional(server: httpx.Client) -> None:
    server.post("/__admin/reset").raise_for_status()
    assert {k: v for k, v in settings(server).items() if k in ("plan", "minute", "hour", "day")} == {
        "plan": "professional",
        "minute": 200,
        "hour": 600,
        "day": 6000,
    }


@pytest.mark.parametrize(
    ("plan", "figures"),
    [
        ("free", ("50", "200", "600")),
        ("basic", ("200", "400", "2000")),
        ("organization", ("200", "400", "2000")),
        ("professional", ("200", "600", "6000")),
    ],
)
def test_a_plan_sets_the_documented_windows(
    apollo: httpx.Client, plan: str, figures: tuple[str, ...]
) -> None:
    limits(apollo, plan=plan)
    assert settings(apollo)["plan"] == plan
    assert window_headers(search(apollo)) == figures
    assert window_headers(apollo.post(f"{V1}/contacts/bulk_update", json={"contact_ids": ["x"]})) == figures


def test_a_plan_with_its_own_window_figures_is_custom(apollo: httpx.Client) -> None:
    limits(apollo, plan="basic", hour=500)
    assert {k: settings(apollo)[k] for k in ("plan", "minute", "hour", "day")} == {
        "plan": "custom",
        "minute": 200,
        "hour": 500,
        "day": 2000,
    }


def test_an_unknown_plan_is_refused(apollo: httpx.Client) -> None:
    response = apollo.put("/__admin/ratelimits", json={"plan": "enterprise"})
    assert response.status_code == 400 and "enterprise" in response.json()["error"]


def test_the_free_plan_refuses_the_51st_call_of_a_minute(apollo: httpx.Client) -> None:
    limits(apollo, plan="free")
    assert {search(apollo).status_code for _ in range(50)} == {200}
    refused = search(apollo)
    assert refused.status_code == 429
    assert refused.json()["message"].startswith(
        "The maximum number of api calls allowed for api/v1/contacts/search is 50 times per minute."
    )


def test_update_bulk_update_and_bulk_create_spend_their_own_budgets(apollo: httpx.Client) -> None:
    limits(apollo, minute=1)
    [contact] = apollo.post("/__admin/contacts", json={"contacts": [{"first_name": "A"}]}).json()["contacts"]
    calls = [
        lambda: apollo.patch(f"{V1}/contacts/{contact['id']}", json={"title": "T"}),
        lambda: apollo.post(
            f"{V1}/contacts/bulk_update", json={"contact_ids": [contact["id"]], "title": "U"}
        ),
        lambda: apollo.post(f"{V1}/contacts/bulk_create", json={"contacts": [{"first_name": "B"}]}),
        lambda: apollo.post(f"{V1}/contacts", json={"first_name": "C"}),
    ]
    assert [call().status_code for call in calls] == [200, 200, 200, 200]
    second = [call() for call in calls]
    assert [r.status_code for r in second] == [429, 429, 429, 429]
    routes = [  # as in each operation's 429 example
        "api/v1/contacts/{contact_id}",
        "api/v1/contacts/bulk_update",
        "api/v1/contacts/bulk_create",
        "api/v1/contacts",
    ]
    assert [r.json()["message"] for r in second] == [
        f"The maximum number of api calls allowed for {route} is 1 times per minute. {UPGRADE}"
        for route in routes
    ]


def test_reading_the_limits_does_not_restart_the_counters(apollo: httpx.Client) -> None:
    search(apollo)
    settings(apollo)
    apollo.put("/__admin/ratelimits", json={"enabled": True}).raise_for_status()
    assert search(apollo).headers["x-minute-usage"] == "2"


def test_a_frozen_clock_holds_the_window_until_it_is_moved(apollo: httpx.Client) -> None:
    limits(apollo, minute=1, hour=2)
    apollo.post("/__admin/clock", json={"freeze": True})
    try:
        search(apollo)
        time.sleep(0.05)
        assert search(apollo).status_code == 429
        apollo.post("/__admin/clock", json={"advance": 60})
        assert search(apollo).status_code == 200
        apollo.post("/__admin/clock", json={"advance": 60})
        refused = search(apollo)
        assert "2 times per hour" in refused.json()["message"]
        apollo.post("/__admin/clock", json={"advance": int(refused.headers["retry-after"])})
        assert search(apollo).status_code == 200
    finally:
        apollo.post("/__admin/clock", json={"freeze": False})


def test_usage_stats_report_each_action_with_the_plan_figures(apollo: httpx.Client) -> None:
    limits(apollo, plan="basic")
    search(apollo)
    search(apollo)
    apollo.post(f"{V1}/contacts/bulk_update", json={"contact_ids": ["x"]})
    stats = apollo.post(f"{V1}/usage_stats/api_usage_stats").json()
    key = json.dumps
    assert stats[key(["api/v1/contacts", "search"])] == {
        "day": {"limit": 2000, "consumed": 2, "left_over": 1998},
        "hour": {"limit": 400, "consumed": 2, "left_over": 398},
        "minute": {"limit": 200, "consumed": 2, "left_over": 198},
    }
    assert stats[key(["api/v1/contacts", "bulk_update"])]["hour"] == {
        "limit": 400,
        "consumed": 1,
        "left_over": 399,
    }
    for action in ("create", "update", "bulk_create", "show"):
        assert stats[key(["api/v1/contacts", action])]["day"] == {
            "limit": 2000,
            "consumed": 0,
            "left_over": 2000,
        }
    for action in ("add_entity_ids_to_label_names", "remove_entity_ids_from_label_names", "index"):
        assert key(["api/v1/labels", action]) in stats
    assert all(list(v) == ["day", "hour", "minute"] for v in stats.values())


def test_usage_stats_need_the_endpoint_in_the_key_scope(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"scopes": ["api/v1/contacts/search"]}).raise_for_status()
    response = apollo.post(f"{V1}/usage_stats/api_usage_stats")
    assert response.status_code == 403
    assert response.json()["error_code"] == "API_INACCESSIBLE"
    assert "api/v1/usage_stats/api_usage_stats" in response.json()["error"]


def test_the_plan_survives_a_state_round_trip(apollo: httpx.Client) -> None:
    limits(apollo, plan="organization")
    state = apollo.get("/__admin/state").json()
    apollo.post("/__admin/reset").raise_for_status()
    apollo.put("/__admin/state", json=state).raise_for_status()
    assert settings(apollo)["plan"] == "organization"
