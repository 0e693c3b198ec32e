"""``syncengine run --every``: APScheduler drives the cycles, one at a time.

The job lives in a persistent job store in the state database (``apscheduler_jobs``), so its next
run time survives a restart. ``coalesce`` folds missed runs into one and ``max_instances=1`` keeps
cycles from overlapping; on SIGTERM/SIGINT the scheduler stops taking new cycles and waits for the
one in flight, whose outbox ops are then all settled.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

JOB_ID = "syncengine-sync"
log = logging.getLogger("syncengine.schedule")


class _ToOurLog(logging.Handler):
    """APScheduler's own lines (e.g. a cycle skipped while one is in flight, which we print
    ourselves) go to our log at DEBUG instead of Python's last-resort handler on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("apscheduler: %s", record.getMessage())


def quiet_apscheduler() -> None:
    scheduler_log = logging.getLogger("apscheduler")
    scheduler_log.propagate = False
    if not any(isinstance(h, _ToOurLog) for h in scheduler_log.handlers):
        scheduler_log.addHandler(_ToOurLog())
_UNITS = {"s": 1, "m": 60, "h": 3600}
_cycles: dict[str, Callable[[], None]] = {}


class IntervalError(ValueError):
    """An interval that is not a number of seconds, minutes or hours; names what was given."""


def parse_interval(text: str) -> float:
    """``"30s"``, ``"5m"``, ``"1h"`` (or plain seconds) -> seconds; at least one second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) * _UNITS[match.group(2) or "s"] < 1:
        raise IntervalError(f"interval {text!r}: use a number with s, m or h, e.g. 30s, 5m, 1h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _tick() -> None:
    """The stored job: runs this process's cycle (the job store keeps only this reference)."""
    _cycles[JOB_ID]()


def run_every(seconds: float, cycle: Callable[[], None], stop: threading.Event, *, jobstore_url: str) -> None:
    """Run ``cycle`` now and then every ``seconds`` until ``stop`` is set; returns after the cycle
    in flight has finished."""
    _cycles[JOB_ID] = cycle
    quiet_apscheduler()
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=jobstore_url)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.start()
    try:
        scheduler.add_job(_tick, "interval", seconds=seconds, id=JOB_ID, replace_existing=True,
                          next_run_time=_now())  # fmt: skip
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        _cycles.pop(JOB_ID, None)


def _now() -> datetime:
    return datetime.now(UTC)
