"""A world for engine tests: the three simulators over real HTTP, connectors, a mirror and rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncengine.canonical import is_blank, same
from syncengine.connectors.http import HttpClient, HttpOptions, RetryPolicy
from syncengine.connectors.ratelimit import LimitSpec, ManualClock, RateLimiter
from syncengine.connectors.registry import connector_class
from syncengine.connectors.settings import load_settings
from syncengine.mirror import Mirror
from syncengine.rules import Rules, load_rules
from syncengine.sim import drive
from syncengine.sim.runner import SimCluster
from syncengine.sim.sampledata import UiEdit
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

    def engine(
        self, rules: Rules | None = None, *, attempts: int = 4, read_timeout: float | None = None
    ) -> Engine:
        # No client-side budget, and rate-limit waits pass on a manual clock: a 429's Retry-After
        # costs a test no time, while the retry itself is still exercised. Fewer ``attempts`` let
        # injected faults through to the run (failed ops, stopped pulls) instead of retrying them
        # away; a short ``read_timeout`` makes the simulators' slow answers real client timeouts.
        settings = load_settings(self.cluster.environment())
        connectors = {}
        for system in settings.configured:
            limiter = RateLimiter(system, LimitSpec(windows=()), clock=ManualClock())
            options = HttpOptions(read_timeout=read_timeout) if read_timeout else None
            client = HttpClient(
                settings.system(system),
                limiter=limiter,
                retry=RetryPolicy.without_backoff(attempts),
                options=options,
            )
            connectors[system] = connector_class(system)(settings.system(system), client=client)
        return Engine(self.mirror, connectors, rules or self.rules)

    def sync(
        self,
        *,
        dry_run: bool = False,
        rules: Rules | None = None,
        attempts: int = 4,
        read_timeout: float | None = None,
    ) -> RunReport:
        engine = self.engine(rules, attempts=attempts, read_timeout=read_timeout)
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


seed_catalogues = drive.seed_catalogues  # the labels, tags, stages, fields and lists of the samples


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


# ---------------------------------------------------------------------- fault-suite helpers
# Shared by the fault, kill, bad-input and secrets tests: seeding, faults, convergence, edits and
# the end-state comparisons ("the same as a fault-free run", "the base is what the systems hold").

SYSTEMS = ("apollo", "leadconnector", "corporatemerch")
SECRET_VALUES = ("sim-apollo-key", "sim-lc-token", "sim-cm-token")
CLEAR_FAULTS: dict[str, Any] = drive.NO_FAULTS
# One steady rate per kind of fault, as the fault tests parametrise them.
FAULT_KINDS: dict[str, dict[str, Any]] = {
    "5xx": {"error_rate": 0.15, "seed": 3},
    # Held past FAULT_READ_TIMEOUT (the client gives up) and within twice it (how long the engine
    # awaits a create whose answer was lost): the server still applies the request.
    "timeouts": {"timeout_rate": 0.1, "timeout_seconds": 0.45, "seed": 4},
    "dropped": {"drop_rate": 0.1, "drop_after_rate": 0.1, "seed": 5},
    "429-burst": {"burst_429": 3},
}

FAULT_READ_TIMEOUT = 0.3  # seconds; the engine's read timeout while faults are on

Snapshot = dict[str, dict[str, dict[str, Any]]]


def seed_sample(world: World, n: int, seed: int = 1) -> None:
    """``n`` deterministic sample people spread over the three simulators (half of them shared)."""
    drive.seed_people(world.cluster, n, seed=seed)


def reset_simulators(cluster: SimCluster) -> None:
    """Empty every simulator (contacts, journal, faults, clock) and seed the catalogues again."""
    drive.reset(cluster)


def set_faults(world: World, **faults: Any) -> None:
    """The same fault settings on every simulator (``PUT /__admin/faults`` replaces them whole)."""
    drive.set_faults(world.cluster, **faults)


def faults_injected(world: World) -> dict[str, int]:
    """Faults the simulators injected so far, by kind, summed over the systems."""
    return drive.faults_injected(world.cluster)


def converge(
    world: World,
    runs: int = 6,
    *,
    attempts: int = 4,
    read_timeout: float | None = None,
    pause: float = 0.0,
) -> list[RunReport]:
    """Sync until a run settles: every system pulled, nothing written, no op left in the outbox, and
    nothing failed except records a system refuses every time (their errors name a field; a
    fault's do not).

    A run that raises fails the test: under faults a system's part of a run may stop, not the run.
    ``pause`` seconds pass between runs, as a schedule spaces them.
    """
    done: list[RunReport] = []
    for _ in range(runs):
        report = world.sync(attempts=attempts, read_timeout=read_timeout)
        done.append(report)
        quiet = report.push is not None and not report.push.confirmed and not report.pull_errors
        quiet = quiet and not world.mirror.pending()  # no create whose answer was lost still awaited
        if quiet and all(p.field for p in world.mirror.record_errors(run_id=report.run_id)):
            break
        # A create whose answer was lost may still land for twice the read timeout: wait that out.
        landing = 2 * read_timeout if read_timeout and world.mirror.pending() else 0.0
        time.sleep(max(pause, landing))
    return done


def emails(world: World, system: str) -> list[str]:
    return sorted((r.get("email") or "").lower() for r in world.sim(system).contacts())


def duplicated_emails(world: World) -> dict[str, list[str]]:
    """Per system, the email addresses held by more than one contact."""
    return drive.duplicated_emails(world.cluster)


def sample_edits(world: World, share: float, seed: int) -> list[UiEdit]:
    """``sampledata.edits`` of ``share`` of each system's contacts, the same people in any world."""
    return drive.ui_edits(world.cluster, share, seed=seed)


def apply_edits(world: World, chosen: list[UiEdit]) -> None:
    """Make the edits one after the other, at least a millisecond apart (see ``drive.apply_edits``)."""
    drive.apply_edits(world.cluster, chosen)


def snapshot_differences(expected: Snapshot, actual: Snapshot) -> dict[str, dict[str, Any]]:
    """Per system and email, the canonical fields whose values differ: ``{field: (expected, actual)}``
    (a contact missing on one side shows as ``{"<contact>": (values, None)}``)."""
    out: dict[str, dict[str, Any]] = {}
    for system in SYSTEMS:
        want, got = expected.get(system, {}), actual.get(system, {})
        for email in sorted(set(want) | set(got)):
            a, b = want.get(email), got.get(email)
            if a is None or b is None:
                differing = {"<contact>": (a, b)}
            else:
                differing = {f: (a.get(f), b.get(f)) for f in sorted(set(a) | set(b)) if a.get(f) != b.get(f)}
            if differing:
                out.setdefault(system, {})[email] = differing
    return out


def holdings(world: World) -> dict[str, dict[str, dict[str, Any]]]:
    """What each system holds in canonical terms, by remote id (``snapshot`` keys by email)."""
    engine = world.engine()
    out: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        for system, connector in engine.connectors.items():
            connector.load_catalogue()
            out[system] = {
                record.remote_id: dict(connector.to_canonical(record).values)
                for record in connector.pull(None, full=True)
            }
    finally:
        for connector in engine.connectors.values():
            connector.close()
    return out


def base_mismatches(world: World, mirror: Mirror) -> list[tuple[str, str, str, Any, Any]]:
    """Fields where a linked system holds something else than the base the mirror keeps:
    ``(entity, system, field, base, held)``. Left out: fields with an open conflict (nothing is
    written for them), fields a system cannot hold, and a value a person cleared in one system
    where the rules keep it (``allow_blank = false``: the base and the other systems keep it)."""
    held = holdings(world)
    engine = world.engine()
    holds = {s: c.fields for s, c in engine.connectors.items()}
    for connector in engine.connectors.values():
        connector.close()
    links = mirror.all_links()
    bases = mirror.get_base(sorted(links))
    open_fields = {(c.entity_id, c.field) for c in mirror.conflicts(status="open")}
    out = []
    for entity_id, members in links.items():
        for system, remote_id in members.items():
            values = held.get(system, {}).get(remote_id)
            if values is None:
                out.append((entity_id, system, "<record>", "linked", "missing in the system"))
                continue
            for name, value in bases[entity_id].items():
                kept = is_blank(values.get(name)) and not world.rules.field(name).allow_blank
                skipped = kept or name not in holds[system] or (entity_id, name) in open_fields
                if not skipped and not same(name, value, values.get(name)):
                    out.append((entity_id, system, name, value, values.get(name)))
    return out
