"""Budgets shared per account: workers on one Apollo team or one LeadConnector location never spend
more together than the account allows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from worker_world import pairings, queue_url

from syncengine.connectors.ratelimit import LimitSpec, ManualClock, RateLimiter, Window
from syncengine.connectors.shared_budget import SharedBudget, create_table
from syncengine.worker.pairing_run import run_pairing

pytestmark = pytest.mark.postgres
NOW = 1_800_000_030.0  # one instant, so that every call falls in the same windows


@pytest.fixture
def url() -> Iterator[str]:
    for scoped in queue_url():
        create_table(scoped)
        yield scoped


def test_two_workers_on_one_team_together_get_its_limit_and_no_more(url: str) -> None:
    minute = (Window("minute", 50, 60),)
    budgets = [SharedBudget(url, "apollo:acme", clock=lambda: NOW) for _ in range(2)]
    granted: list[int] = []

    def spend(budget: SharedBudget) -> None:
        got = sum(1 for _ in range(40) if budget.take("contacts/search", minute) is None)
        granted.append(got)

    threads = [threading.Thread(target=spend, args=(budgets[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 50  # 160 asked, by two "workers"
    assert budgets[0].spent("contacts/search", minute[0]) == 50
    # Another endpoint action and another team each have their own budget.
    assert budgets[1].take("contacts/update", minute) is None
    other = SharedBudget(url, "apollo:globex", clock=lambda: NOW)
    assert other.take("contacts/search", minute) is None
    hold = budgets[1].take("contacts/search", minute)
    assert hold is not None and hold.seconds == pytest.approx(30) and "used by every worker" in hold.reason
    for budget in [*budgets, other]:
        budget.close()


def test_a_location_counts_its_day_across_tokens_and_its_burst_per_token(url: str) -> None:
    windows = (Window("interval", 20, 10), Window("day", 30, 86400))
    # Two pairings on one location, each with a token of its own (leadconnector's scopes).
    first = SharedBudget(url, "leadconnector:loc1", scopes={"interval": "loc1/TOKEN_A"}, clock=lambda: NOW)
    second = SharedBudget(url, "leadconnector:loc1", scopes={"interval": "loc1/TOKEN_B"}, clock=lambda: NOW)
    assert sum(1 for _ in range(25) if first.take("*", windows) is None) == 20  # token A's burst
    assert sum(1 for _ in range(25) if second.take("*", windows) is None) == 10  # the location's day
    held = second.take("*", windows)
    assert held is not None and "day window" in held.reason
    # A refused call is counted in no window: token A's burst is still exactly full.
    assert first.spent("*", windows[0]) == 20 and second.spent("*", windows[0]) == 10
    first.close()
    second.close()


def test_a_rate_limiter_asks_the_shared_budget_after_its_own(url: str) -> None:
    spec = LimitSpec(windows=(Window("minute", 3, 60),), per_endpoint=True)
    limiters = []
    for _ in range(2):
        limiter = RateLimiter("apollo", spec, clock=ManualClock())
        limiter.shared = SharedBudget(url, "apollo:acme", clock=lambda: NOW)
        limiters.append(limiter)
    assert [limiters[0].acquire("contacts/search") for _ in range(2)] == [None, None]
    assert limiters[1].acquire("contacts/search") is None
    hold = limiters[1].acquire("contacts/search")  # its own window has room; the team's has not
    assert hold is not None and "every worker on apollo:acme" in hold.reason
    assert limiters[1].remaining("contacts/search") == {"minute": 2}  # the refused call is not logged


def test_the_syncs_of_two_pairings_on_one_team_spend_one_budget(tmp_path: Path, url: str) -> None:
    with pairings(tmp_path, url, 2, 30, team="acme") as world:
        env = {k: v for k, v in world.env.items() if k != "SYNCENGINE_CLIENT_BUDGET"}  # the budget on
        for pairing in world.worlds:
            outcome = run_pairing(world.config, pairing.name, env=env)
            assert outcome.status in ("succeeded", "partial")

        def calls(system: str, pairing: int) -> int:
            return len(world.worlds[pairing].cluster[system].sim.state.journal.entries())

        with psycopg.connect(url) as conn:
            spent = {(account, window): n for account, window, n in conn.execute(
                "SELECT account, window_name, sum(spent) FROM syncengine_budget_spend GROUP BY 1, 2"
            ).fetchall()}  # fmt: skip
        # Every Apollo call of both pairings was counted in the one team's budget; each location
        # and CorporateMerch account kept its own.
        assert spent["apollo:acme", "day"] == calls("apollo", 0) + calls("apollo", 1) > 0
        assert spent["leadconnector:SimLocation000000000", "day"] == calls("leadconnector", 0)
        assert spent["leadconnector:SimLocation000000001", "day"] == calls("leadconnector", 1)
        assert spent["corporatemerch:P1_CM_TOKEN", "minute"] == calls("corporatemerch", 1), spent
