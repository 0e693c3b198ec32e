"""Runs: started, finished with counts, timings and errors."""

from __future__ import annotations

import pytest

from syncengine.mirror import Mirror, MirrorValueError, StateTransitionError


def test_started_run_is_running(mirror: Mirror, clock) -> None:
    run = mirror.start_run()

    assert (run.status, run.started_at, run.finished_at, run.dry_run) == ("running", clock.now, None, False)


def test_finished_run_keeps_counts_timings_and_errors(mirror: Mirror, clock) -> None:
    run = mirror.start_run(dry_run=True)
    clock.advance(seconds=42)
    errors = [{"system": "apollo", "remote_id": "a1", "message": "422 email invalid"}]

    finished = mirror.finish_run(
        run.id, "partial", counts={"pulled": {"apollo": 10}, "conflicts": 1},
        timings={"pull": 1.25, "push": 0.5}, errors=errors,
    )

    assert (finished.status, finished.finished_at, finished.dry_run) == ("partial", clock.now, True)
    assert finished.counts == {"pulled": {"apollo": 10}, "conflicts": 1}
    assert finished.timings == {"pull": 1.25, "push": 0.5}
    assert finished.errors == tuple(errors)
    assert mirror.get_run(run.id) == finished


def test_run_ids_grow(mirror: Mirror) -> None:
    first, second = mirror.start_run(), mirror.start_run()

    assert second.id > first.id


def test_finishing_twice_raises(mirror: Mirror) -> None:
    run = mirror.start_run()
    mirror.finish_run(run.id, "succeeded")

    with pytest.raises(StateTransitionError, match=f"run {run.id}: already finished"):
        mirror.finish_run(run.id, "failed")


def test_running_is_not_a_final_status(mirror: Mirror) -> None:
    run = mirror.start_run()

    with pytest.raises(MirrorValueError, match="status 'running'"):
        mirror.finish_run(run.id, "running")


def test_last_run_skips_dry_runs_unless_asked(mirror: Mirror) -> None:
    real = mirror.finish_run(mirror.start_run().id, "succeeded")
    dry = mirror.finish_run(mirror.start_run(dry_run=True).id, "succeeded")
    failed = mirror.finish_run(mirror.start_run().id, "failed")

    assert mirror.last_run() == failed
    assert mirror.last_run(status="succeeded") == real
    assert mirror.last_run(dry_run=True) == dry
    assert [r.id for r in mirror.recent_runs(2)] == [failed.id, dry.id]
