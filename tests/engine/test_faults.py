"""Simulator faults at a steady rate: the sync completes or resumes, and ends where a fault-free one does.

Each kind of fault (5xx answers, timeouts, dropped connections before or after the server acted,
429 bursts) runs during the initial sync and during a steady-state sync (after a clean initial
sync, people edit contacts in every CRM's UI). The engine's client tries each request only twice
and gives up waiting for an answer after 0.3 s, so faults get through to the runs as failed writes
and stopped pulls (and as writes the server applied after the client gave up), which later runs
must settle.

The other fault-suite files: ``test_kills.py`` (the engine process killed mid-push),
``test_concurrent_edits.py`` (a person saving while the engine writes), ``test_bad_input.py``
(malformed values, unusable or older state files) and ``test_secrets.py`` (no key leaks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_world import (
    CLEAR_FAULTS,
    FAULT_KINDS,
    FAULT_READ_TIMEOUT,
    SYSTEMS,
    Snapshot,
    World,
    apply_edits,
    base_mismatches,
    converge,
    duplicated_emails,
    faults_injected,
    reset_simulators,
    sample_edits,
    seed_sample,
    set_faults,
    snapshot_differences,
)

from syncengine.mirror import Mirror

CONTACTS = 30
EDIT_SHARE = 0.3
EDIT_SEED = 11
ATTEMPTS_UNDER_FAULTS = 2  # one retry: enough faults get through to fail writes and pulls

# Every kind at once, heavier, on more people: the soak (``--soak``).
MIXED_FAULTS: dict[str, Any] = {
    "error_rate": 0.1, "timeout_rate": 0.05, "timeout_seconds": 0.45, "drop_rate": 0.05,
    "drop_after_rate": 0.05, "burst_429": 5, "seed": 21,
}  # fmt: skip

# The fault-free end state of each phase and size, computed once per test session (it does not
# depend on the faults).
_FAULT_FREE: dict[tuple[str, int], Snapshot] = {}


def pause_for(faults: dict[str, Any]) -> float:
    """Seconds between faulted runs: a request the server holds past the client's read timeout is
    applied that much later, and runs are spaced longer than that (as ``run --every`` spaces them).

    A create the client gave up on may land after the next run has started: the engine keeps
    looking for it, without creating it again, for twice the read timeout (test_lost_create.py).
    """
    if not faults.get("timeout_rate"):
        return 0.0
    return max(0.0, faults["timeout_seconds"] - FAULT_READ_TIMEOUT) + 0.1


def prepare(world: World, phase: str, contacts: int = CONTACTS) -> None:
    """Seed the sample people; for the steady phase, sync them cleanly and make the UI edits."""
    seed_sample(world, contacts)
    if phase == "steady":
        converge(world)
        apply_edits(world, sample_edits(world, EDIT_SHARE, seed=EDIT_SEED))


def fault_free_end_state(world: World, tmp_path: Path, phase: str, contacts: int) -> Snapshot:
    if (phase, contacts) not in _FAULT_FREE:
        reset_simulators(world.cluster)
        clean = World(world.cluster, Mirror.open(tmp_path / "clean.db"), world.rules, tmp_path)
        try:
            prepare(clean, phase, contacts)
            converge(clean)
            _FAULT_FREE[(phase, contacts)] = clean.snapshot()
        finally:
            clean.mirror.close()
    return _FAULT_FREE[(phase, contacts)]


def run_under_faults(
    world: World, tmp_path: Path, phase: str, faults: dict[str, Any], *, contacts: int, runs: int
) -> None:
    prepare(world, phase, contacts)
    set_faults(world, **faults)
    faulted_runs = converge(
        world,
        runs=runs,
        attempts=ATTEMPTS_UNDER_FAULTS,
        read_timeout=FAULT_READ_TIMEOUT,
        pause=pause_for(faults),
    )
    injected = faults_injected(world)
    set_faults(world, **CLEAR_FAULTS)
    final = world.sync()

    assert sum(injected.values()) > 0 and faulted_runs, injected
    # Converged: nothing left to write; what remains are records a system refuses every time.
    assert final.push is not None and not final.push.confirmed, final.push.confirmed
    assert final.status in ("succeeded", "partial")
    assert duplicated_emails(world) == {}
    assert world.mirror.pending() == []
    assert base_mismatches(world, world.mirror) == []
    faulted = world.snapshot()
    assert set(faulted) == set(SYSTEMS)
    assert snapshot_differences(fault_free_end_state(world, tmp_path, phase, contacts), faulted) == {}


@pytest.mark.parametrize("faults", list(FAULT_KINDS.values()), ids=list(FAULT_KINDS))
@pytest.mark.parametrize("phase", ["initial", "steady"])
def test_faults_during_sync_end_in_the_fault_free_state(
    world: World, tmp_path: Path, phase: str, faults: dict[str, Any]
) -> None:
    """Syncs under the fault settle to the fault-free end state: nothing doubled, nothing lost,
    the outbox drained and the base what the systems hold; the next clean run writes nothing."""
    run_under_faults(world, tmp_path, phase, faults, contacts=CONTACTS, runs=8)


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["initial", "steady"])
def test_every_kind_of_fault_at_once_on_more_people_soak(world: World, tmp_path: Path, phase: str) -> None:
    """The same with every kind of fault at once, heavier, on 150 people."""
    run_under_faults(world, tmp_path, phase, MIXED_FAULTS, contacts=150, runs=25)
