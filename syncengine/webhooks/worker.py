"""The thread that turns queued contacts into targeted syncs, one at a time.

It waits to be woken (``wake``, after a webhook was queued) or for ``poll_every`` to pass, gathers
what the inbox holds for ``gather_seconds`` (a burst of webhooks becomes one small batch), and
calls ``sync`` with those contacts' ids. The inbox rows are dropped only once the sync returned;
when it raised (the state busy past its wait, a system unreachable), they stay and are tried again
after ``retry_seconds``, so a contact is never dropped for a failure of ours. ``sync(None)`` is the
scheduled poll: a normal run, which also covers any webhook that never came.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from syncengine.webhooks.inbox import Inbox, Queued

log = logging.getLogger(__name__)
Targets = Mapping[str, Sequence[str]]
SyncFn = Callable[[Targets | None], object]


class SyncWorker:
    def __init__(
        self,
        inbox: Inbox,
        sync: SyncFn,
        *,
        batch: int = 100,
        gather_seconds: float = 0.05,
        retry_seconds: float = 2.0,
        poll_every: float | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.inbox = inbox
        self.sync = sync
        self.batch = batch
        self.gather_seconds = gather_seconds
        self.retry_seconds = retry_seconds
        self.poll_every = poll_every
        self.on_error = on_error or (lambda exc: log.warning("targeted sync failed: %s", exc))
        self.synced = 0  # targeted syncs that completed
        self.polls = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="webhook-sync", daemon=True)
        self._next_poll = time.monotonic() + poll_every if poll_every else None

    def start(self) -> SyncWorker:
        self._wake.set()  # contacts a previous process queued and did not sync
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the sync in flight, then stop; queued contacts stay for the next start."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Until nothing is queued and no sync runs (tests and benches); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy or self.inbox.size():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._until_poll())
            if self._stop.is_set():
                return
            self._wake.clear()
            if self._next_poll is not None and time.monotonic() >= self._next_poll:
                self._poll()
            if self.inbox.size():
                time.sleep(self.gather_seconds)
                self._drain()

    def _until_poll(self) -> float | None:
        return None if self._next_poll is None else max(self._next_poll - time.monotonic(), 0.0)

    def _poll(self) -> None:
        assert self.poll_every is not None
        self._next_poll = time.monotonic() + self.poll_every
        self._attempt(None, self._polled)

    def _polled(self) -> None:
        self.polls += 1

    def _drain(self) -> None:
        while not self._stop.is_set():
            items = self.inbox.peek(self.batch)
            if not items:
                return
            if not self._attempt(_targets(items), functools.partial(self._synced, items)):
                self._wake.clear()
                self._stop.wait(self.retry_seconds)  # the rows stay queued
                self._wake.set()
                return

    def _synced(self, items: Sequence[Queued]) -> None:
        self.inbox.done(items)
        self.synced += 1

    def _attempt(self, targets: Targets | None, then: Callable[[], None]) -> bool:
        with self._idle:
            self._busy = True
        try:
            self.sync(targets)
            then()
            return True
        except Exception as exc:
            self.on_error(exc)
            return False
        finally:
            with self._idle:
                self._busy = False
                self._idle.notify_all()


def _targets(items: Sequence[Queued]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        out.setdefault(item.system, []).append(item.remote_id)
    return out
