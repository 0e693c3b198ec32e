"""The engine process killed (SIGKILL) at random points of its push, many times, then restarted.

Whatever the kills interrupted (a create whose reply never came back, an update half-way through
its calls, a commit that never ran), once a run completes:
* no contact exists twice in any system (checked after every kill, not only at the end);
* nothing is lost: every system holds what a run that was never killed leaves in it;
* the outbox is drained, and the base in the mirror is what the systems hold for linked entities.

The kills land in the push: the engine prints a line per settled write, and the test kills it a
random number of writes in, a random few milliseconds later (the simulators answer each request
after a delay, so a kill often lands while a request is in flight).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from engine_world import (
    CLEAR_FAULTS,
    Snapshot,
    World,
    apply_edits,
    base_mismatches,
    converge,
    duplicated_emails,
    reset_simulators,
    sample_edits,
    seed_sample,
    set_faults,
    snapshot_differences,
)

from syncengine.mirror import Mirror
from syncengine.sim.sampledata import UiEdit

# A sync in its own process, printing "push SYSTEM DONE TOTAL" for every settled write and, at the
# end, "done STATUS CONFIRMED FAILED".
ENGINE_SCRIPT = """
import sys
from syncengine.connectors.http import HttpOptions, RetryPolicy
from syncengine.connectors.registry import build_connectors
from syncengine.connectors.settings import load_settings
from syncengine.mirror import Mirror
from syncengine.sim.sampledata import UiEdit
from syncengine.rules import load_rules
from syncengine.sync import Engine

def progress(phase, system, done, total=None):
    if phase in ("push", "commit"):
        print(phase, system, done, total, flush=True)

mirror = Mirror.open(sys.argv[1])
# A short read timeout: a create whose answer a kill cut off waits twice that long for its record
# to appear before it may be sent again.
connectors = build_connectors(
    load_settings(), retry=RetryPolicy.without_backoff(), proactive_limits=False,
    http=HttpOptions(read_timeout=0.5),
)
# Small batches: kills land inside a batch and between two, each committed on its own.
report = Engine(mirror, connectors, load_rules(), progress=progress, batch_size=7).run()
push = report.push
print("done", report.status, len(push.confirmed) if push else 0, len(push.failed) if push else 0, flush=True)
"""

EDIT_SHARE = 0.3


@dataclass
class KillOutcome:
    kills: int
    writes_seen_before_kills: list[int]
    between_batches: int = 0


def start_engine(world: World, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", ENGINE_SCRIPT, str(state)],
        env={**os.environ, **world.cluster.environment()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe: a full stderr pipe nobody reads would block the engine
        text=True,
    )


def kill_during_push(world: World, state: Path, *, kills: int, seed: int) -> KillOutcome:
    """Start the engine until it has been killed ``kills`` times, each time after a random number of
    settled writes (1 to 8) plus 0-40 ms, or (one kill in three) as soon as a batch is committed,
    before the next starts; stop early when an engine finishes its push unkilled (nothing left to
    interrupt)."""
    rng = random.Random(seed)
    outcome = KillOutcome(0, [])
    set_faults(world, latency_ms=10)  # each request takes a while, so kills land mid-request too
    try:
        while outcome.kills < kills:
            proc = start_engine(world, state)
            assert proc.stdout is not None
            kill_after = rng.randint(1, 8)
            between_batches = rng.random() < 1 / 3
            seen = 0
            for line in proc.stdout:
                if between_batches and line.startswith("commit ") and seen:
                    proc.send_signal(signal.SIGKILL)
                    outcome.between_batches += 1
                    break
                if line.startswith("push "):
                    seen += 1
                    if seen >= kill_after and not between_batches:
                        time.sleep(rng.uniform(0, 0.04))
                        proc.send_signal(signal.SIGKILL)
                        break
            rest, _ = proc.communicate(timeout=120)
            # No contact doubled at any point, not only once everything settled.
            assert duplicated_emails(world) == {}, f"after kill {outcome.kills}"
            if proc.returncode != -signal.SIGKILL:
                assert proc.returncode == 0, rest[-2000:]
                break
            outcome.kills += 1
            outcome.writes_seen_before_kills.append(seen)
    finally:
        set_faults(world, **CLEAR_FAULTS)
    return outcome


def finish(world: World, state: Path) -> str:
    """Run the engine unkilled until a run confirms nothing more; returns that run's summary."""
    for _ in range(6):
        time.sleep(1.1)  # past the wait of a create whose answer was lost (twice the read timeout)
        done = subprocess.run(
            [sys.executable, "-c", ENGINE_SCRIPT, str(state)],
            env={**os.environ, **world.cluster.environment()},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        summary = done.stdout.strip().splitlines()[-1]
        if summary.split()[2] == "0":  # done STATUS CONFIRMED FAILED: nothing left to write
            return summary
    return summary


def fault_free_end_state(
    world: World, tmp_path: Path, *, contacts: int, seed: int, edits: list[UiEdit] | None
) -> Snapshot:
    """The same people (and edits) synced in-process without a kill, on emptied simulators."""
    reset_simulators(world.cluster)
    clean = World(world.cluster, Mirror.open(tmp_path / "clean.db"), world.rules, tmp_path)
    try:
        seed_sample(clean, contacts, seed=seed)
        converge(clean)
        if edits is not None:
            chosen = sample_edits(clean, EDIT_SHARE, seed=seed)
            assert [(e.system, e.changes) for e in chosen] == [(e.system, e.changes) for e in edits]
            apply_edits(clean, chosen)
            converge(clean)
        return clean.snapshot()
    finally:
        clean.mirror.close()


def assert_settled_as_if_never_killed(
    world: World, tmp_path: Path, state: Path, *, contacts: int, seed: int, edits: list[UiEdit] | None
) -> None:
    summary = finish(world, state)
    assert summary.split()[1] in ("succeeded", "partial") and summary.split()[2] == "0", summary
    assert duplicated_emails(world) == {}
    mirror = Mirror.open(state)
    try:
        assert mirror.pending() == [], "the outbox still holds ops"
        assert base_mismatches(world, mirror) == []
    finally:
        mirror.close()
    killed = world.snapshot()
    expected = fault_free_end_state(world, tmp_path, contacts=contacts, seed=seed, edits=edits)
    assert snapshot_differences(expected, killed) == {}


def run_initial_kills(world: World, tmp_path: Path, *, contacts: int, kills: int, seed: int) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    seed_sample(world, contacts, seed=seed)
    state = tmp_path / "killed.db"
    outcome = kill_during_push(world, state, kills=kills, seed=seed)
    assert outcome.kills == kills, outcome
    assert outcome.between_batches, "no kill landed between two batches"
    assert_settled_as_if_never_killed(world, tmp_path, state, contacts=contacts, seed=seed, edits=None)


def run_steady_kills(world: World, tmp_path: Path, *, contacts: int, kills: int, seed: int) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    seed_sample(world, contacts, seed=seed)
    state = tmp_path / "killed.db"
    finish(world, state)  # a clean initial sync, by the same engine process
    edits = sample_edits(world, EDIT_SHARE, seed=seed)
    apply_edits(world, edits)
    outcome = kill_during_push(world, state, kills=kills, seed=seed)
    assert outcome.kills == kills, outcome
    assert_settled_as_if_never_killed(world, tmp_path, state, contacts=contacts, seed=seed, edits=edits)


def test_an_engine_killed_during_the_initial_push_leaves_no_duplicate_and_loses_nothing(
    world: World, tmp_path: Path
) -> None:
    """Kills while the first sync creates and links records: creates are never repeated (an
    interrupted one is found again), and the end state is that of a run never killed."""
    run_initial_kills(world, tmp_path, contacts=60, kills=6, seed=2)


def test_an_engine_killed_during_a_steady_state_push_loses_no_update(world: World, tmp_path: Path) -> None:
    """Kills while a later sync writes people's edits: every edit still reaches every system, the
    base matches what the systems hold, and nothing is written twice over a newer value."""
    run_steady_kills(world, tmp_path, contacts=160, kills=4, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_many_kills_during_initial_and_steady_pushes_soak(world: World, tmp_path: Path, seed: int) -> None:
    """The same with 200 people, killed 30 times in the initial push and 20 times in the steady one."""
    run_initial_kills(world, tmp_path / "initial", contacts=200, kills=30, seed=seed)
    reset_simulators(world.cluster)
    run_steady_kills(world, tmp_path / "steady", contacts=200, kills=20, seed=seed)
