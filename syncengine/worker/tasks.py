"""The worker's jobs, registered on a procrastinate app for one pairings file.

- ``syncengine.sync(pairing)``: one sync of the pairing. Deferred by each pairing's periodic
  schedule (the database keeps one job per pairing and tick, whichever worker deferred it) and by
  ``defer_sync``; ``queueing_lock`` keeps at most one of them waiting per pairing.
- ``syncengine.targeted_sync(pairing, system, remote_ids)``: a sync of those records only (a
  webhook's contacts); ``defer_targeted_sync``.

Every pairing's jobs carry the procrastinate ``lock`` named after the pairing: a job waits while
another job with that lock is running, on any worker. A job that finds the pairing's state held
(a manual ``syncengine sync``) is retried later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, cast

from procrastinate import App, JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from syncengine.pairings import PairingsConfig
from syncengine.state_lock import StateBusyError
from syncengine.worker import job_runs
from syncengine.worker.pairing_run import run_pairing

SYNC = "syncengine.sync"
TARGETED = "syncengine.targeted_sync"
BUSY_RETRY = RetryStrategy(max_attempts=30, wait=10, retry_exceptions={StateBusyError})
log = logging.getLogger("syncengine.worker")


def lock_of(pairing: str) -> str:
    return f"pairing:{pairing}"


def register(app: App, config: PairingsConfig, *, periodic: bool = True) -> None:
    """Register the jobs of ``config``'s pairings on ``app``; ``periodic``: also their schedules
    (a worker that keeps running; a process that only defers jobs needs none)."""
    url = config.database

    def sync(context: JobContext, pairing: str, timestamp: int | None = None) -> dict[str, Any]:
        return _run(context, url, config, pairing, SYNC, None)

    def targeted_sync(
        context: JobContext, pairing: str, system: str, remote_ids: list[str]
    ) -> dict[str, Any]:
        return _run(context, url, config, pairing, TARGETED, {system: remote_ids})

    sync_task = app.task(name=SYNC, pass_context=True, retry=BUSY_RETRY)(sync)
    app.task(name=TARGETED, pass_context=True, retry=BUSY_RETRY)(targeted_sync)
    if not periodic:
        return
    for pairing in config.pairings:
        app.periodic(
            cron=pairing.schedule, periodic_id=pairing.name, lock=lock_of(pairing.name),
            queueing_lock=f"sync:{pairing.name}", task_kwargs={"pairing": pairing.name},
        )(cast(Any, sync_task))  # fmt: skip  (its timestamp is a keyword, after the pairing)


def _run(
    context: JobContext,
    url: str,
    config: PairingsConfig,
    pairing: str,
    task: str,
    targets: dict[str, list[str]] | None,
) -> dict[str, Any]:
    run_id = job_runs.started(
        url, job_id=context.job.id, task=task, pairing=pairing, worker=context.worker_name or "worker"
    )
    started = time.monotonic()
    try:
        outcome = run_pairing(config, pairing, targets=targets)
    except StateBusyError as exc:
        job_runs.finished(url, run_id, "busy", str(exc))
        raise
    except Exception as exc:
        job_runs.finished(url, run_id, "error", f"{type(exc).__name__}: {exc}")
        raise
    detail = f"{outcome.ops} ops in {time.monotonic() - started:.1f} s"
    job_runs.finished(url, run_id, outcome.status, detail)
    log.info("%s %s: run %s %s, %s", task, pairing, outcome.run_id, outcome.status, detail)
    return outcome.as_dict()


def defer_sync(app: App, pairings: Sequence[str]) -> list[int]:
    """Queue one sync of each pairing now; a pairing whose sync already waits keeps that one."""
    ids = []
    for pairing in pairings:
        try:
            ids.append(app.configure_task(
                SYNC, lock=lock_of(pairing), queueing_lock=f"sync:{pairing}"
            ).defer(pairing=pairing))  # fmt: skip
        except AlreadyEnqueued:
            continue
    return ids


def defer_targeted_sync(app: App, pairing: str, system: str, remote_ids: Sequence[str]) -> int:
    """Queue a sync of ``remote_ids`` of ``system`` in ``pairing``, under the pairing's lock."""
    return app.configure_task(TARGETED, lock=lock_of(pairing)).defer(
        pairing=pairing, system=system, remote_ids=list(remote_ids)
    )


def queue_targeted_sync(url: str, pairing: str, system: str, remote_ids: Sequence[str]) -> int:
    """``defer_targeted_sync`` from a process that runs no worker (a webhook receiver): opens a
    connection to the queue at ``url`` for the one job."""
    from syncengine.worker import queue

    app = queue.new_app(url, max_connections=2)
    with app.open():
        return defer_targeted_sync(app, pairing, system, remote_ids)
