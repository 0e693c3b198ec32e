"""Kills at random points of each system's writes at 2,000 contacts, judged by the oracle.

The engine runs in its own process and is SIGKILLed part-way through one system's writes (a random
share of them), once per system, during the initial sync, and again in a later run that has both
creates (newcomers) and updates (edits) for every system. Then it
runs unkilled until a run confirms nothing more. ``oracle.audit`` then reads what the simulators
hold and demands, from the seed and the rules alone, that every person is in every system where
the create rules place them (or that the mirror reports why not), with no duplicate and agreeing
names and emails. "The last run wrote nothing" proves nothing here: a forgotten create writes
nothing too.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import oracle
import pytest
from engine_world import CLEAR_FAULTS, World, apply_edits, duplicated_emails, sample_edits, set_faults
from test_kills import finish, start_engine

from syncengine.mirror import Mirror

CONTACTS = 2000
NEWCOMERS = 600  # people added after the first sync completed


def kill_in_a_new_system(
    world: World, state: Path, spared: set[str], rng: random.Random
) -> tuple[str, int] | None:
    """Run the engine and kill it part-way (a random share) through the writes of the first system
    it pushes that is not in ``spared``; returns that system and the writes settled, or None when
    the run finished first."""
    proc = start_engine(world, state)
    assert proc.stdout is not None
    target, share = None, rng.uniform(0.05, 0.95)
    for line in proc.stdout:
        parts = line.split()
        if parts[0] != "push" or parts[1] in spared or parts[3] == "None":
            continue
        target = target or parts[1]
        if parts[1] == target and int(parts[2]) >= share * int(parts[3]):
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=120)
            return target, int(parts[2])
    rest, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, rest[-2000:]
    return None


def kill_each_system(world: World, state: Path, rng: random.Random) -> list[tuple[str, int]]:
    """One kill in each system's writes, as long as runs still have writes to interrupt."""
    kills: list[tuple[str, int]] = []
    set_faults(world, latency_ms=2)  # a request takes a moment, so some kills land mid-request
    try:
        while len(kills) < len(oracle.SYSTEMS):
            killed = kill_in_a_new_system(world, state, {s for s, _ in kills}, rng)
            assert duplicated_emails(world) == {}, f"after the kills {kills} and {killed}"
            if killed is None:
                break
            kills.append(killed)
    finally:
        set_faults(world, **CLEAR_FAULTS)
    return kills


def assert_as_the_rules_demand(world: World, truth: oracle.Truth, state: Path) -> None:
    finish(world, state)
    with Mirror.open(state) as mirror:
        assert mirror.pending() == [], "the outbox still holds ops"
        assert not [r for r in mirror.recent_runs(50) if r.status == "running"], "a run is left running"
        oracle.assert_complete(oracle.audit(world.cluster, truth, world.rules, mirror))


@pytest.mark.parametrize("seed", [11])
def test_kills_in_every_systems_writes_leave_everyone_where_the_rules_place_them(
    world: World, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    truth = oracle.seed_people(world.cluster, CONTACTS, seed=seed)
    state = tmp_path / "killed.db"

    initial = kill_each_system(world, state, rng)
    assert {s for s, _ in initial} == set(oracle.SYSTEMS), initial
    assert_as_the_rules_demand(world, truth, state)

    # After a completed run, a run with creates and updates in every system is killed in each:
    # what it was to create must not wait for a --full, nor for someone to edit the contact.
    apply_edits(world, sample_edits(world, 0.2, seed=seed))
    truth.people += oracle.seed_people(world.cluster, NEWCOMERS, seed=seed + 1, fresh=True).people
    later = kill_each_system(world, state, rng)
    assert {s for s, _ in later} == set(oracle.SYSTEMS), later
    assert_as_the_rules_demand(world, truth, state)
    with Mirror.open(state) as mirror:
        assert [r.status for r in mirror.recent_runs(50)].count("interrupted") == len(initial) + len(later)


def test_the_oracle_sees_a_forgotten_create(world: World, tmp_path: Path) -> None:
    # The oracle must fail where the engine forgot someone, even though no run would write again.
    truth = oracle.seed_people(world.cluster, 40, seed=3)
    findings = oracle.audit(world.cluster, truth, world.rules, world.mirror)
    assert findings.missing, "before any sync, people are missing where the rules place them"
    world.sync()
    assert oracle.audit(world.cluster, truth, world.rules, world.mirror).missing == []
    victim = next(p for p in truth.people if "leadconnector" in p)
    world.sim("leadconnector").ui_delete(victim["leadconnector"])
    assert any("not in leadconnector" in m for m in oracle.audit(
        world.cluster, truth, world.rules, world.mirror).missing)  # fmt: skip
