"""Faults, kills, concurrent edits, bad input and secrets: nothing duplicated, lost or leaked."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import World, seed_catalogues

from syncengine import report as reports
from syncengine.mirror import Mirror
from syncengine.sim.sampledata import generate

SYSTEMS = ("apollo", "leadconnector", "corporatemerch")
SECRET_VALUES = ("sim-apollo-key", "sim-lc-token", "sim-cm-token")


def seed_sample(world: World, n: int, seed: int = 1) -> None:
    records = generate(n, overlap=0.5, seed=seed, cm_share=0.2)
    for system in SYSTEMS:
        world.sim(system).seed_contacts([{k: v for k, v in r.items() if k != "id"} for r in records[system]])


def emails(world: World, system: str) -> list[str]:
    return sorted((r.get("email") or "").lower() for r in world.sim(system).contacts())


def converge(world: World, runs: int = 6) -> list[Any]:
    """Sync until a run completes with nothing written, nothing failed and every system pulled."""
    reports = []
    for _ in range(runs):
        report = world.sync()
        reports.append(report)
        push = report.push
        if push is not None and not push.confirmed and not push.failed and not report.pull_errors:
            break
    return reports


def set_faults(world: World, **faults: Any) -> None:
    for system in SYSTEMS:
        httpx.put(f"{world.cluster[system].admin_url}/faults", json=faults, timeout=10).raise_for_status()


@pytest.mark.parametrize(
    "faults",
    [
        {"error_rate": 0.15, "seed": 3},
        {"timeout_rate": 0.1, "timeout_seconds": 0.2, "seed": 4},
        {"drop_rate": 0.1, "drop_after_rate": 0.1, "seed": 5},
        {"burst_429": 3},
    ],
    ids=["5xx", "timeouts", "dropped", "429-burst"],
)
def test_faults_during_sync_end_in_the_fault_free_state(world: World, tmp_path: Path, faults: dict) -> None:
    seed_sample(world, 30)
    set_faults(world, **faults)
    converge(world, runs=8)
    set_faults(world, error_rate=0, timeout_rate=0, drop_rate=0, drop_after_rate=0, burst_429=0)
    final = world.sync()

    # Converged: nothing left to write; what remains are records a system refuses every time.
    assert final.push is not None and not final.push.confirmed, final.push.confirmed
    assert final.status in ("succeeded", "partial")
    for system in SYSTEMS:
        listed = emails(world, system)
        assert len(listed) == len(set(listed)), f"duplicate contact in {system}"
    faulted = world.snapshot()

    clean = World(world.cluster, Mirror.open(tmp_path / "clean.db"), world.rules, tmp_path)
    for system in SYSTEMS:
        world.sim(system).reset()
    seed_catalogues(world.cluster)
    seed_sample(clean, 30)
    converge(clean)
    expected = clean.snapshot()
    for system in SYSTEMS:
        differing = {
            email: (expected[system].get(email), faulted[system].get(email))
            for email in set(expected.get(system, {})) | set(faulted.get(system, {}))
            if expected[system].get(email) != faulted[system].get(email)
        }
        assert not differing, (system, differing)
    clean.mirror.close()


KILL_SCRIPT = """
import sys
from syncengine.connectors.http import RetryPolicy
from syncengine.connectors.registry import build_connectors
from syncengine.connectors.settings import load_settings
from syncengine.mirror import Mirror
from syncengine.rules import load_rules
from syncengine.sync import Engine
mirror = Mirror.open(sys.argv[1])
engine = Engine(mirror, build_connectors(load_settings(), retry=RetryPolicy.without_backoff()), load_rules())
report = engine.run()
# What is left after convergence: writes that went through (none), and creates a system refuses.
print(report.status, len(report.push.confirmed) if report.push else 0)
"""


def test_an_engine_killed_during_push_never_duplicates_or_loses_a_write(world: World, tmp_path: Path) -> None:
    seed_sample(world, 40, seed=2)
    set_faults(world, latency_ms=15)  # slow enough that kills land mid-push
    env = {**os.environ, **world.cluster.environment()}
    state = str(tmp_path / "killed.db")
    rng = random.Random(7)
    kills = 0
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, state],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0.3, 2.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
    set_faults(world, latency_ms=0)
    for _ in range(6):
        done = subprocess.run(
            [sys.executable, "-c", KILL_SCRIPT, state], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        if done.stdout.split()[1:] == ["0"]:
            break

    assert kills >= 3
    assert done.stdout.split()[1:] == ["0"], done.stdout
    for system in SYSTEMS:
        listed = emails(world, system)
        assert len(listed) == len(set(listed)), f"duplicate contact in {system} after {kills} kills"
    mirror = Mirror.open(state)
    try:
        assert mirror.pending() == []
    finally:
        mirror.close()


def test_an_edit_landing_between_read_and_write_is_not_overwritten(world: World) -> None:
    ada = {"first_name": "Ada", "last_name": "L", "email": "ada@x.example", "title": "Engineer"}
    [apollo] = world.sim("apollo").seed_contacts([ada])
    world.sim("leadconnector").seed_contacts(
        [{"firstName": "Ada", "lastName": "L", "email": "ada@x.example", "companyName": "Old Co"}]
    )
    world.sync()
    [lc] = world.sim("leadconnector").contacts()
    world.sim("leadconnector").ui_edit(lc["id"], {"companyName": "New Co"})
    engine = world.engine()
    original_push = engine.connectors["apollo"].push

    def push_after_a_person_edits(ops, on_result=None):  # the person saves while the engine is writing
        world.sim("apollo").ui_edit(apollo["id"], {"title": "Chief Engineer"})
        return original_push(ops, on_result=on_result)

    engine.connectors["apollo"].push = push_after_a_person_edits  # type: ignore[method-assign]
    engine.run()
    [after] = world.sim("apollo").contacts()
    assert after["organization_name"] == "New Co"
    assert after["title"] == "Chief Engineer"  # a partial write sends only the changed field


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone_numbers": [{"raw_number": "12", "sanitized_number": "12", "type": "work_direct"}]}, "phone"),
    ],
    ids=["email", "phone"],
)
def test_a_malformed_value_is_reported_by_record_and_field_and_the_others_sync(
    world: World, extra: dict, field: str
) -> None:
    bad = {"first_name": "Bad", "last_name": "Value", "email": "bad@x.example", **extra}
    good = {"first_name": "Good", "last_name": "Value", "email": "good@x.example"}
    world.sim("apollo").seed_contacts([bad, good])

    report = world.sync()

    problems = [p for p in world.mirror.record_errors() if p.system == "apollo"]
    assert any(p.field == field for p in problems), problems
    assert "good@x.example" in emails(world, "leadconnector")
    assert report.status in ("succeeded", "partial")


def test_credentials_never_reach_the_state_database_the_journal_or_the_report(world: World) -> None:
    seed_sample(world, 10)
    report = world.sync()
    text = reports.dumps(reports.run_dict(report))
    database = Path(world.tmp / "state.db").read_bytes()
    for secret in SECRET_VALUES:
        assert secret not in text
        assert secret.encode() not in database
        for system in SYSTEMS:
            assert secret not in str(world.journal(system))
    assert oct(Path(world.tmp / "state.db").stat().st_mode & 0o777) == "0o600"
