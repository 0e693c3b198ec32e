"""With a pairings file, a webhook becomes a job of ``syncengine worker`` instead of a sync here.

The receiver maps the event's ``locationId`` to the pairings whose LeadConnector location it is
and defers one ``syncengine.targeted_sync`` job per pairing (one INSERT into the queue), under the
pairing's procrastinate lock like its scheduled syncs; the workers run it. The queue is reached
through one small pool opened for the receiver's life, whose connections wait at most
``TIMEOUT`` seconds, so that an unreachable database is answered (429) rather than waited on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from procrastinate import App, SyncPsycopgConnector
from procrastinate.exceptions import ConnectorException

from syncengine.pairings import PairingsConfig
from syncengine.webhooks.receiver import SYSTEM, JobQueueError
from syncengine.worker import queue, tasks

TIMEOUT = 5.0  # seconds a webhook waits for a connection to the queue


class PairingJobs:
    """``Receiver.jobs`` for a pairings file, deferring on an open ``app``."""

    def __init__(self, config: PairingsConfig, app: App) -> None:
        self.app = app
        by_location: dict[str, list[str]] = {}
        for pairing in config.pairings:
            account = pairing.system(SYSTEM)
            if account is not None and account.location_id:
                by_location.setdefault(account.location_id, []).append(pairing.name)
        self.by_location = {location: tuple(names) for location, names in by_location.items()}

    def pairings_for(self, location_id: str) -> tuple[str, ...]:
        """The pairings syncing this LeadConnector location (usually one; none: not synced here)."""
        return self.by_location.get(location_id, ())

    def defer(self, pairing: str, system: str, remote_ids: Sequence[str]) -> int:
        try:
            return tasks.defer_targeted_sync(self.app, pairing, system, remote_ids)
        except (ConnectorException, psycopg.Error) as exc:
            raise JobQueueError(f"{type(exc).__name__}: {exc}") from exc


@contextmanager
def pairing_jobs(config: PairingsConfig) -> Iterator[PairingJobs]:
    """The queue of ``config``'s workers, open for deferring; its tables are created if missing
    (the receiver may start before any worker)."""
    queue.prepare(config.database)
    app = App(connector=SyncPsycopgConnector(conninfo=config.database, min_size=1, max_size=2,
                                             timeout=TIMEOUT))  # fmt: skip
    with app.open():
        yield PairingJobs(config, app)
