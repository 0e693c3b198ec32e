"""One writer per state: two syncs at once on SQLite and on PostgreSQL, and the lock itself.

Two overlapping ``syncengine sync`` processes on one state once created hundreds of duplicates:
both saw the same people as new. Now the second exits 5 at once naming the first, or, with
``--wait``, runs after it; the oracle then finds every person once, where the rules place them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import oracle
import pytest
from engine_world import World, duplicated_emails
from pg_support import postgres_url, scratch_schema

from syncengine.mirror import Mirror
from syncengine.mirror.db import resolve
from syncengine.state_lock import StateBusyError, hold_state

CONTACTS = 2000

HOLD_SCRIPT = """
import sys, time
from syncengine.mirror.db import resolve
from syncengine.state_lock import hold_state
with hold_state(resolve(sys.argv[1], None), command="holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A state database: a SQLite file, or a scratch PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "state" / "syncengine.db")
        return
    url = postgres_url()
    if url is None:
        pytest.skip("SYNCENGINE_TEST_DATABASE_URL is not set")
    with scratch_schema(url) as scoped:
        yield scoped


def _holder(target: str, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, target, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_told_who_holds_the_state_and_may_wait(state_target: str) -> None:
    location = resolve(state_target, None)
    holder = _holder(state_target, 1.5)
    try:
        with pytest.raises(StateBusyError) as busy, hold_state(location):
            pass
        assert busy.value.holder is not None and busy.value.holder.pid == holder.pid
        assert f"pid {holder.pid}" in str(busy.value) and "nothing was written" in str(busy.value)
        started = time.monotonic()
        with hold_state(location, wait=30):
            waited = time.monotonic() - started
        assert 0.3 < waited < 10  # it waited for the holder to let go, no longer
        assert holder.wait(timeout=10) == 0
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over(state_target: str) -> None:
    holder = _holder(state_target, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with hold_state(resolve(state_target, None)):  # neither a file nor a session outlives its process
        pass


def _sync(world: World, target: str, state_dir: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, **world.cluster.environment(), "SYNCENGINE_DATABASE_URL": target,
           "SYNCENGINE_CLIENT_BUDGET": "off"}  # fmt: skip
    if "://" not in target:
        env.pop("SYNCENGINE_DATABASE_URL")
    return subprocess.Popen(
        [sys.executable, "-m", "syncengine", "sync", "--json", "--state", str(state_dir), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_two_syncs_started_together_never_duplicate_a_contact(
    world: World, tmp_path: Path, state_target: str
) -> None:
    truth = oracle.seed_people(world.cluster, CONTACTS, seed=7)
    state_dir = Path(state_target).parent if "://" not in state_target else tmp_path / "state"
    first = _sync(world, state_target, state_dir)
    time.sleep(0.5)
    second = _sync(world, state_target, state_dir)
    waiting = _sync(world, state_target, state_dir, "--wait", "600")

    _, second_err = second.communicate(timeout=120)
    assert second.returncode == 5, second_err
    assert f"pid {first.pid}" in second_err and "nothing was written" in second_err
    _, first_err = first.communicate(timeout=600)
    assert first.returncode in (1, 3), first_err[-2000:]
    _, waited_err = waiting.communicate(timeout=600)
    assert waiting.returncode in (0, 1, 3), waited_err[-2000:]

    assert duplicated_emails(world) == {}
    with Mirror.open(state_target) as mirror:
        runs = mirror.recent_runs(10)
        assert [r.status for r in runs if r.status not in ("succeeded", "partial")] == []
        assert len(runs) == 2  # the refused process started no run
        oracle.assert_complete(oracle.audit(world.cluster, truth, world.rules, mirror))


def test_read_only_commands_never_wait_for_the_lock(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    target = str(state_dir / "syncengine.db")
    Mirror.open(target).close()
    holder = _holder(target, 60)
    vendors = ("APOLLO_", "LEADCONNECTOR_", "CORPORATEMERCH_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(vendors)}  # sandbox mode
    try:
        for command in (["status"], ["conflicts"], ["history"], ["sync", "--dry-run", "--json"]):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "syncengine", *command, "--state", str(state_dir)],
                env=clean, capture_output=True, text=True, timeout=120, cwd=tmp_path,
            )  # fmt: skip
            assert done.returncode != 5 and "in use by" not in done.stderr, (command, done.stderr[-500:])
            assert time.monotonic() - started < 60
        refused = subprocess.run(
            [sys.executable, "-m", "syncengine", "resolve", "1", "--take", "apollo", "--state", state_dir],
            env=clean, capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert refused.returncode == 5 and f"pid {holder.pid}" in refused.stderr
    finally:
        holder.kill()
        holder.wait()


def test_status_tells_a_run_whose_process_died_from_one_still_running(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    target = str(state_dir / "syncengine.db")
    with Mirror.open(target) as mirror:
        mirror.start_run()  # left running, as by a process killed mid-run

    def shown() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "syncengine", "status", "--json", "--state", str(state_dir)],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["runs"][0]["status"])

    holder = _holder(target, 60)
    try:
        assert shown() == "running"  # someone holds the state: it may be that run
    finally:
        holder.kill()
        holder.wait()
    assert shown() == "interrupted"
    with Mirror.open(target) as mirror:
        assert mirror.recent_runs(1)[0].status == "running"  # status wrote nothing
