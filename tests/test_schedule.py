"""The scheduler: intervals people type, and cycles that never overlap and stop cleanly."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from syncengine.schedule import parse_interval, run_every


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("90", 90), ("1.5m", 90)]
)
def test_intervals_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "0s", "-1m", "soon"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        parse_interval(text)


def test_cycles_run_one_at_a_time_and_stop_after_the_one_in_flight(tmp_path: Path) -> None:
    stop = threading.Event()
    running = 0
    overlap = False
    done: list[float] = []

    def cycle() -> None:
        nonlocal running, overlap
        running += 1
        overlap = overlap or running > 1
        time.sleep(1.2)  # longer than the interval: the next cycle must wait, not overlap
        running -= 1
        done.append(time.monotonic())
        if len(done) == 2:
            stop.set()

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    worker = threading.Thread(target=run_every, args=(1, cycle, stop), kwargs={"jobstore_url": url})
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert len(done) == 2 and not overlap and running == 0
    assert (tmp_path / "jobs.db").exists()
