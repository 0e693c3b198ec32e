"""What the Apollo connector tests share: a simulator over real HTTP and its admin surface.

Holds no tests itself; the ``test_apollo_*`` modules import from it (fixtures included, under
``*_fixture`` names: pytest knows them as ``running``, ``apollo`` and ``connector``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.connectors.apollo import ApolloConnector
from syncengine.connectors.base import ConnectorOptions
from syncengine.connectors.http import HttpClient, RetryPolicy
from syncengine.connectors.ratelimit import ManualClock, RateLimiter
from syncengine.connectors.settings import Secret, SystemSettings
from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread
from syncengine.sim.sampledata import catalogues

API_KEY = "sim-apollo-key-connector"
CATALOGUES = catalogues()["apollo"]


class Apollo:
    """One running simulator and the admin calls the tests make on it."""

    def __init__(self, sim: ApolloSim, server: ServerThread) -> None:
        self.sim = sim
        self.server = server
        self.admin = httpx.Client(base_url=server.url + "/__admin", timeout=10)

    def reset(self) -> None:
        self.admin.post("/reset").raise_for_status()
        self.admin.put("/ratelimits", json={"enabled": False}).raise_for_status()
        for key, items in CATALOGUES.items():
            self.admin.post(f"/{key}", json={key: items}).raise_for_status()

    def seed(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = self.admin.post("/contacts", json={"contacts": records})
        answer.raise_for_status()
        return answer.json()["contacts"]

    def contacts(self) -> list[dict[str, Any]]:
        return self.admin.get("/contacts").json()["contacts"]

    def ui_edit(self, contact_id: str, **changes: Any) -> dict[str, Any]:
        answer = self.admin.patch(f"/contacts/{contact_id}", json=changes)
        answer.raise_for_status()
        return answer.json()["contact"]

    def journal(self) -> list[dict[str, Any]]:
        return self.admin.get("/journal").json()["entries"]

    def clear_journal(self) -> None:
        self.admin.delete("/journal").raise_for_status()

    def faults(self, **config: Any) -> None:
        self.admin.put("/faults", json=config).raise_for_status()

    def connector(self, *, key: str = API_KEY, options: ConnectorOptions | None = None) -> ApolloConnector:
        settings = SystemSettings("apollo", self.server.url + "/api/v1", Secret(key))
        # Rate-limit waits are recorded on a manual clock instead of being slept.
        limiter = RateLimiter("apollo", clock=ManualClock())
        client = HttpClient(settings, limiter=limiter, retry=RetryPolicy.without_backoff())
        return ApolloConnector(settings, client=client, options=options)


@pytest.fixture(name="running", scope="module")
def running_fixture() -> Iterator[Apollo]:
    sim = ApolloSim(API_KEY)
    with ServerThread(sim.app) as server:
        apollo = Apollo(sim, server)
        yield apollo
        apollo.admin.close()


@pytest.fixture(name="apollo")
def apollo_fixture(running: Apollo) -> Apollo:
    running.reset()
    return running


@pytest.fixture(name="connector")
def connector_fixture(apollo: Apollo) -> Iterator[ApolloConnector]:
    made = apollo.connector()
    made.load_catalogue()
    yield made
    made.close()


def person(i: int, **values: Any) -> dict[str, Any]:
    """A canonical contact Apollo can hold."""
    return {
        "first_name": f"First{i}", "last_name": f"Last{i}", "email": f"person{i}@apollo.example",
        "street": f"{i} Main St", "city": "Austin", "region": "TX", "postal_code": "78701",
        "country": "US", "stage": "New", "owner": "owner@sim.example", **values,
    }  # fmt: skip


def vendor(entries: list[dict[str, Any]], method: str | None = None) -> list[dict[str, Any]]:
    """Journal entries of vendor calls (optionally of one method), paths without the prefix."""
    calls = [{**e, "path": e["path"].removeprefix("/api/v1")} for e in entries]
    return [c for c in calls if method is None or c["method"] == method]
