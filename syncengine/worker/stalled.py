"""Jobs of dead workers run again.

Workers send a heartbeat every ``stalled_after / 3`` seconds. A worker killed mid-job (or cut off
from the database) leaves its job ``doing``, holding its pairing's lock, so that pairing would wait
forever. Every worker therefore looks, every ``stalled_after / 3`` seconds and in a thread of its
own (not in a job slot, which long syncs may all hold), for running jobs of workers silent for
``stalled_after`` seconds, and puts them back in the queue (procrastinate's ``get_stalled_jobs``
and ``retry_job``). The run that takes the job up resumes from the pairing's outbox, as after any
killed run. When two workers put back the same job, the second finds it no longer running.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from procrastinate import App
from procrastinate.exceptions import ProcrastinateException

log = logging.getLogger("syncengine.worker")


async def retry_stalled_jobs(app: App, stalled_after: float) -> int:
    """Put back the running jobs of workers silent for ``stalled_after`` seconds; how many."""
    retried = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await app.job_manager.retry_job(job)
        except ProcrastinateException:  # another worker put it back first
            continue
        retried += 1
        log.warning("job %s (%s %s) of a silent worker runs again", job.id, job.task_name, job.lock)
    return retried


def watch(url: str, stalled_after: float) -> threading.Thread:
    """Start the look-out in a daemon thread; it ends with the process."""
    from syncengine.worker import queue

    async def loop() -> None:
        app = queue.new_app(url, max_connections=1)
        async with app.open_async():
            while True:
                try:
                    await retry_stalled_jobs(app, stalled_after)
                except ProcrastinateException as exc:  # the database is away: try again later
                    log.warning("could not look for stalled jobs: %s", exc)
                await asyncio.sleep(max(stalled_after / 3, 1.0))

    thread = threading.Thread(target=asyncio.run, args=(loop(),), name="stalled-jobs", daemon=True)
    thread.start()
    return thread
