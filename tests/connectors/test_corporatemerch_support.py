"""What the CorporateMerch connector tests share: a simulator over real HTTP and its admin surface.

Holds no tests itself; the ``test_corporatemerch_*`` modules import from it (fixtures included,
under ``*_fixture`` names: pytest knows them as ``running``, ``cm`` and ``connector``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from syncengine.connectors.base import ConnectorOptions
from syncengine.connectors.corporatemerch import CorporateMerchConnector
from syncengine.connectors.http import HttpClient, HttpOptions, RetryPolicy
from syncengine.connectors.ratelimit import ManualClock, RateLimiter
from syncengine.connectors.settings import Secret, SystemSettings
from syncengine.sim.core import ServerThread, iso_ms
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim

TOKEN = "sim-cm-token-connector"
LABELS = [{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"}, {"id": 3, "name": "gamma"}]
LISTS = [{"id": 11, "name": "Holiday Gift"}, {"id": 12, "name": "New Hire Kit"}]
KEPT = {
    "employment_status": "active",
    "client_since": "2020-03-01",
    "classification": "VIP",
    "address_validated": True,
    "address_forced": False,
    "address_verified": True,
}


class Cm:
    """One running simulator and the admin calls the tests make on it."""

    def __init__(self, sim: CorporateMerchSim, server: ServerThread) -> None:
        self.sim = sim
        self.server = server
        self.admin = httpx.Client(base_url=server.url + "/__admin", timeout=10)

    def reset(self) -> None:
        self.admin.post("/reset").raise_for_status()
        self.admin.put("/ratelimits", json={"enabled": False}).raise_for_status()
        self.admin.post("/labels", json={"labels": LABELS}).raise_for_status()
        self.admin.post("/lists", json={"lists": LISTS}).raise_for_status()

    def seed(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = self.admin.post("/contacts", json={"contacts": records})
        answer.raise_for_status()
        return answer.json()["contacts"]

    def contacts(self) -> list[dict[str, Any]]:
        return self.admin.get("/contacts").json()["contacts"]

    def ui_edit(self, contact_id: Any, **changes: Any) -> dict[str, Any]:
        answer = self.admin.patch(f"/contacts/{contact_id}", json=changes)
        answer.raise_for_status()
        return answer.json()["contact"]

    def journal(self) -> list[dict[str, Any]]:
        return self.admin.get("/journal").json()["entries"]

    def clear_journal(self) -> None:
        self.admin.delete("/journal").raise_for_status()

    def faults(self, **config: Any) -> None:
        self.admin.put("/faults", json=config).raise_for_status()

    def connector(
        self,
        *,
        token: str = TOKEN,
        options: ConnectorOptions | None = None,
        http: HttpOptions | None = None,
    ) -> CorporateMerchConnector:
        settings = SystemSettings("corporatemerch", self.server.url + "/v2", Secret(token))
        # Rate-limit waits are recorded on a manual clock instead of being slept.
        limiter = RateLimiter("corporatemerch", clock=ManualClock())
        client = HttpClient(settings, limiter=limiter, retry=RetryPolicy.without_backoff(), options=http)
        return CorporateMerchConnector(settings, client=client, options=options)


@pytest.fixture(name="running", scope="module")
def running_fixture() -> Iterator[Cm]:
    sim = CorporateMerchSim(token=TOKEN)
    with ServerThread(sim.app) as server:
        cm = Cm(sim, server)
        yield cm
        cm.admin.close()


@pytest.fixture(name="cm")
def cm_fixture(running: Cm) -> Cm:
    running.reset()
    return running


@pytest.fixture(name="connector")
def connector_fixture(cm: Cm) -> Iterator[CorporateMerchConnector]:
    made = cm.connector()
    made.load_catalogue()
    yield made
    made.close()


def contact(i: int, **fields: Any) -> dict[str, Any]:
    """A contact in CorporateMerch's read shape, for seeding."""
    return {
        "type": "client", "first_name": f"First{i}", "last_name": f"Last{i}",
        "email": f"person{i}@cm.example", "country": "US", "address": f"{i} Main St", "city": "Austin",
        "state": "TX", "zip_code": "78701", **fields,
    }  # fmt: skip


def person(i: int, **values: Any) -> dict[str, Any]:
    """A canonical contact CorporateMerch can hold."""
    return {
        "first_name": f"First{i}", "last_name": f"Last{i}", "email": f"person{i}@cm.example",
        "street": f"{i} Main St", "city": "Austin", "region": "TX", "postal_code": "78701",
        "country": "US", "contact_type": "client", **values,
    }  # fmt: skip


def stamp(at: datetime) -> str:
    return iso_ms(at)


def minutes_ago(minutes: float, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(minutes=minutes)


def writes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["method"] in ("POST", "PUT", "DELETE")]
