"""A world for engine tests: the three simulators over real HTTP, connectors, a mirror and rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncengine.connectors.http import HttpClient, RetryPolicy
from syncengine.connectors.ratelimit import LimitSpec, ManualClock, RateLimiter
from syncengine.connectors.registry import connector_class
from syncengine.connectors.settings import load_settings
from syncengine.mirror import Mirror
from syncengine.rules import Rules, load_rules
from syncengine.sim.runner import SimCluster
from syncengine.sim.sampledata import catalogues
from syncengine.sync import Engine, RunReport

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
READ_PATHS = ("/contacts/search", "/labels", "/contact_stages", "/typed_custom_fields", "/lists", "/users")


@dataclass
class World:
    cluster: SimCluster
    mirror: Mirror
    rules: Rules
    tmp: Path

    def sim(self, system: str) -> Any:
        return self.cluster[system].sim

    def engine(self, rules: Rules | None = None) -> Engine:
        # No client-side budget, and rate-limit waits pass on a manual clock: a 429's Retry-After
        # costs a test no time, while the retry itself is still exercised.
        settings = load_settings(self.cluster.environment())
        connectors = {}
        for system in settings.configured:
            limiter = RateLimiter(system, LimitSpec(windows=()), clock=ManualClock())
            client = HttpClient(
                settings.system(system), limiter=limiter, retry=RetryPolicy.without_backoff(4)
            )
            connectors[system] = connector_class(system)(settings.system(system), client=client)
        return Engine(self.mirror, connectors, rules or self.rules)

    def sync(self, *, dry_run: bool = False, rules: Rules | None = None) -> RunReport:
        engine = self.engine(rules)
        try:
            return engine.run(dry_run=dry_run)
        finally:
            for connector in engine.connectors.values():
                connector.close()

    def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """What each system holds in canonical terms, by lower-cased email (ids differ between worlds)."""
        engine = self.engine()
        out: dict[str, dict[str, dict[str, Any]]] = {}
        try:
            for system, connector in engine.connectors.items():
                connector.load_catalogue()
                for record in connector.pull(None, full=True):
                    values = dict(connector.to_canonical(record).values)
                    out.setdefault(system, {})[str(values.get("email", "")).lower()] = values
        finally:
            for connector in engine.connectors.values():
                connector.close()
        return out

    def journal(self, system: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.cluster[system].admin_url}/journal", timeout=10)
        answer.raise_for_status()
        data = answer.json()
        return data["entries"] if isinstance(data, dict) else data

    def clear_journals(self) -> None:
        for system in self.cluster.systems.values():
            httpx.delete(f"{system.admin_url}/journal", timeout=10)

    def writes(self, system: str) -> list[dict[str, Any]]:
        """Vendor write calls in the journal (searches sent as POST are reads)."""
        return [
            e
            for e in self.journal(system)
            if e["method"] in WRITE_METHODS
            and not e["path"].startswith("/__admin")
            and not any(e["path"].endswith(p) for p in READ_PATHS)
        ]


def seed_catalogues(cluster: SimCluster) -> None:
    """The labels, tags, stages, custom fields and lists the sample contacts use."""
    wanted = catalogues()
    with httpx.Client(timeout=10) as client:
        for name, system in cluster.systems.items():
            for key, items in wanted[name].items():
                client.post(f"{system.admin_url}/{key}", json={key: items}).raise_for_status()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    cluster = SimCluster(rate_limits=False, env={}, seed=5)
    with cluster:
        seed_catalogues(cluster)
        mirror = Mirror.open(tmp_path / "state.db")
        try:
            yield World(cluster, mirror, load_rules(), tmp_path)
        finally:
            mirror.close()
