"""What the LeadConnector connector tests share: a simulator over real HTTP and its admin surface.

Holds no tests itself; the ``test_leadconnector_*`` modules import from it (fixtures included,
under ``*_fixture`` names: pytest knows them as ``running``, ``lc`` and ``connector``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.connectors.base import ConnectorOptions
from syncengine.connectors.http import HttpClient, HttpOptions, RetryPolicy
from syncengine.connectors.leadconnector import LeadConnectorConnector
from syncengine.connectors.ratelimit import ManualClock, RateLimiter
from syncengine.connectors.settings import Secret, SystemSettings
from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector.simulator import LeadConnectorSim
from syncengine.sim.sampledata import LC_SHIRT_FIELD, LC_SINCE_FIELD, catalogues

TOKEN = "sim-lc-token-connector"
LOCATION = "SimLocation000000001"
SHIRT_FIELD = LC_SHIRT_FIELD
SINCE_FIELD = LC_SINCE_FIELD


class Lc:
    """One running simulator and the admin calls the tests make on it."""

    def __init__(self, sim: LeadConnectorSim, server: ServerThread) -> None:
        self.sim = sim
        self.server = server
        self.admin = httpx.Client(base_url=server.url + "/__admin", timeout=10)

    def reset(self) -> None:
        self.admin.post("/reset").raise_for_status()
        self.admin.put("/ratelimits", json={"enabled": False}).raise_for_status()
        for key, items in catalogues()["leadconnector"].items():
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

    def configure(self, **settings: Any) -> None:
        self.admin.put("/settings", json=settings).raise_for_status()

    def connector(
        self,
        *,
        token: str = TOKEN,
        options: ConnectorOptions | None = None,
        http: HttpOptions | None = None,
        update_duplicates: bool = False,
    ) -> LeadConnectorConnector:
        settings = SystemSettings("leadconnector", self.server.url, Secret(token), location_id=LOCATION)
        # Rate-limit waits are recorded on a manual clock instead of being slept.
        limiter = RateLimiter("leadconnector", clock=ManualClock())
        client = HttpClient(settings, limiter=limiter, retry=RetryPolicy.without_backoff(), options=http)
        return LeadConnectorConnector(
            settings, client=client, options=options, update_duplicates=update_duplicates
        )


@pytest.fixture(name="running", scope="module")
def running_fixture() -> Iterator[Lc]:
    sim = LeadConnectorSim(token=TOKEN, location_id=LOCATION)
    with ServerThread(sim.app) as server:
        lc = Lc(sim, server)
        yield lc
        lc.admin.close()


@pytest.fixture(name="lc")
def lc_fixture(running: Lc) -> Lc:
    running.reset()
    return running


@pytest.fixture(name="connector")
def connector_fixture(lc: Lc) -> Iterator[LeadConnectorConnector]:
    made = lc.connector()
    made.load_catalogue()
    yield made
    made.close()


def contact(i: int, **fields: Any) -> dict[str, Any]:
    """A contact in LeadConnector's read shape, for seeding."""
    return {
        "firstName": f"First{i}", "lastName": f"Last{i}", "email": f"person{i}@lc.example",
        "address1": f"{i} Main St", "city": "Austin", "state": "TX", "postalCode": "78701", "country": "US",
        **fields,
    }  # fmt: skip


def person(i: int, **values: Any) -> dict[str, Any]:
    """A canonical contact LeadConnector can hold."""
    return {
        "first_name": f"First{i}", "last_name": f"Last{i}", "email": f"person{i}@lc.example",
        "street": f"{i} Main St", "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US",
        **values,
    }  # fmt: skip


def writes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal entries that change data (searches are reads, though sent as POST)."""
    return [
        e
        for e in entries
        if e["method"] in ("POST", "PUT", "DELETE") and not e["path"].startswith("/contacts/search")
    ]
