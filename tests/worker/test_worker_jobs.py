"""Workers together: one job per pairing at a time, each schedule tick deferred once, a killed
worker's job run again (no duplicate, no lost write), targeted syncs under the pairing's lock."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import oracle
import psycopg
import pytest
from worker_world import pairings, queue_url

from syncengine.mirror import Mirror
from syncengine.rules import load_rules
from syncengine.worker import job_runs, queue, tasks

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    yield from queue_url()


def _log(tmp: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(tmp.glob("worker-*.log")))


def wait_for(check: Callable[[], bool], timeout: float, tmp: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s\n{_log(tmp)}")
        time.sleep(0.2)


def stop(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        assert proc.wait(timeout=120) == 0


def test_workers_sync_each_pairing_once_per_tick_and_never_twice_at_once(tmp_path: Path, url: str) -> None:
    with pairings(tmp_path, url, 3, 30, schedule="* * * * * *") as world:
        workers = [world.worker("--concurrency", "2") for _ in range(2)]
        try:
            wait_for(lambda: sum(1 for r in world.runs() if r.finished_at) >= 9, 180, tmp_path)
        finally:
            stop(*workers)
        runs = world.runs()
        assert job_runs.overlaps(runs) == [], "a pairing ran twice at once"
        assert {r.pairing for r in runs} == {"p0", "p1", "p2"}
        assert len({r.worker for r in runs}) == 2, "both workers took jobs"
        with psycopg.connect(url) as conn:
            ticks = conn.execute(
                "SELECT args->>'pairing', args->>'timestamp' FROM procrastinate_jobs WHERE task_name = %s",
                (tasks.SYNC,),
            ).fetchall()
        # Two workers each defer every tick of every pairing; the database keeps one job of each.
        assert ticks and max(Counter(ticks).values()) == 1
        for pairing in world.worlds:
            oracle.assert_complete(world.audit(pairing), context=[pairing.name])


def test_the_job_of_a_killed_worker_is_run_again_with_no_duplicate_and_no_lost_write(
    tmp_path: Path, url: str
) -> None:
    with pairings(tmp_path, url, 1, 600, stalled_after=3) as world:
        doomed = world.worker("--sync-now")
        wait_for(lambda: bool(world.runs()), 60, tmp_path)
        time.sleep(1.5)  # well into the sync: pulled, and writing
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed_at = datetime.now(UTC)
        assert world.runs()[0].finished_at is None, "the job was still running when its worker died"
        rescuer = world.worker()
        try:
            wait_for(lambda: any(r.finished_at for r in world.runs()), 120, tmp_path)
        finally:
            stop(rescuer)
        first, *again = world.runs()
        assert first.finished_at is None and first.pid == doomed.pid
        assert len(again) == 1 and again[0].job_id == first.job_id, "the same job, run once more"
        assert again[0].started_at > killed_at and again[0].status in ("succeeded", "partial")
        # Put back once the dead worker has been silent for stalled_after (3 s), not after a queue.
        assert (again[0].started_at - killed_at).total_seconds() < 30
        assert job_runs.overlaps(world.runs(), {doomed.pid: killed_at}) == []
        # Nothing is missing or written twice; a create the kill may have cut off is still owed.
        oracle.assert_complete(world.audit(world.worlds[0]))
        state = tmp_path / "state" / "p0" / "syncengine.db"
        with Mirror.open(state) as mirror:
            killed_run = mirror.recent_runs(5)[-1]
            owed = mirror.pending()
        assert killed_run.status == "interrupted" and killed_run.finished_at is not None
        assert {op.run_id for op in owed} <= {1}, "only the killed run's ops may wait"
        # Such a create is not sent again for twice the client's read timeout (60 s) from when its
        # run was found dead, in case it landed; the next scheduled sync after that sends it, and
        # then nothing waits.
        if owed:
            time.sleep(max(61 - (datetime.now(UTC) - killed_run.finished_at).total_seconds(), 0))
        assert world.worker("--sync-now", "--until-idle").wait(timeout=240) == 0, _log(tmp_path)
        with Mirror.open(state) as mirror:
            assert mirror.pending() == []
            oracle.assert_complete(oracle.audit(world.worlds[0].cluster, world.worlds[0].truth,
                                                load_rules(), mirror))  # fmt: skip
        assert job_runs.overlaps(world.runs(), {doomed.pid: killed_at}) == []


def test_a_targeted_sync_runs_under_the_pairing_lock_and_carries_an_edit(tmp_path: Path, url: str) -> None:
    with pairings(tmp_path, url, 1, 40) as world:
        queue.prepare(url)
        app = queue.new_app(url)
        tasks.register(app, world.config, periodic=False)
        cluster = world.worlds[0].cluster
        lc = cluster["leadconnector"].sim
        ids = [str(c["id"]) for c in lc.contacts()[:3]]
        with app.open():
            tasks.defer_sync(app, ["p0"])
        tasks.queue_targeted_sync(url, "p0", "leadconnector", ids)  # as a webhook receiver would
        worker = world.worker("--concurrency", "2")
        try:
            wait_for(lambda: sum(1 for r in world.runs() if r.finished_at) == 2, 120, tmp_path)
            # A person edits one of them in LeadConnector; a targeted sync carries it to Apollo.
            with Mirror.open(tmp_path / "state" / "p0" / "syncengine.db") as mirror:
                entity = mirror.entities_for("leadconnector", ids[:1])[ids[0]]
                apollo_id = mirror.records_for_entity(entity)["apollo"].remote_id
            lc.ui_edit(ids[0], {"firstName": "Targeted"})
            tasks.queue_targeted_sync(url, "p0", "leadconnector", ids[:1])
            wait_for(lambda: sum(1 for r in world.runs() if r.finished_at) == 3, 120, tmp_path)
        finally:
            stop(worker)
        runs = world.runs()
        assert sorted(r.task for r in runs) == [tasks.SYNC, tasks.TARGETED, tasks.TARGETED]
        assert all(r.status in ("succeeded", "partial") for r in runs), runs
        assert job_runs.overlaps(runs) == []
        apollo = {str(c["id"]): c for c in cluster["apollo"].sim.contacts()}
        assert apollo[apollo_id]["first_name"] == "Targeted"
        oracle.assert_complete(world.audit(world.worlds[0]))
