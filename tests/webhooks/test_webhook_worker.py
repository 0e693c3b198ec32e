"""The worker: batches what the inbox holds, keeps it queued when a sync fails or the state is
busy, and never drops a contact queued again while its sync ran."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from syncengine.state_lock import StateBusyError
from syncengine.webhooks.inbox import Inbox
from syncengine.webhooks.worker import SyncWorker


class ScriptedSync:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[dict[str, list[str]] | None] = []
        self.during: list[str] = []  # contacts to queue again while the first sync runs
        self.inbox: Inbox | None = None

    def __call__(self, targets: Mapping[str, Sequence[str]] | None) -> None:
        self.calls.append(None if targets is None else {s: sorted(ids) for s, ids in targets.items()})
        for contact in self.during:
            assert self.inbox is not None
            self.inbox.accept(f"again-{contact}", "leadconnector", contact, "ContactUpdate")
        self.during = []
        if self.failures:
            self.failures -= 1
            raise StateBusyError("state", None, 0.1)


def test_queued_contacts_are_synced_in_one_batch(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "webhooks.db")
    for n in range(3):
        inbox.accept(f"w{n}", "leadconnector", f"c{n}", "ContactUpdate")
    sync = ScriptedSync()
    worker = SyncWorker(inbox, sync, gather_seconds=0.01).start()  # queued before start: drained at once
    assert worker.wait_idle(5)
    worker.stop()
    assert sync.calls == [{"leadconnector": ["c0", "c1", "c2"]}] and inbox.size() == 0


def test_a_busy_state_keeps_the_contacts_queued_until_a_later_try(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "webhooks.db")
    sync = ScriptedSync(failures=2)
    errors: list[BaseException] = []
    worker = SyncWorker(inbox, sync, gather_seconds=0.01, retry_seconds=0.05, on_error=errors.append).start()
    inbox.accept("w1", "leadconnector", "c1", "ContactCreate")
    worker.wake()
    assert worker.wait_idle(5)
    worker.stop()
    assert len(errors) == 2 and all(isinstance(e, StateBusyError) for e in errors)
    assert sync.calls == [{"leadconnector": ["c1"]}] * 3 and worker.synced == 1 and inbox.size() == 0


def test_a_contact_queued_again_during_its_sync_is_synced_again(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "webhooks.db")
    sync = ScriptedSync()
    sync.inbox, sync.during = inbox, ["c1"]
    worker = SyncWorker(inbox, sync, gather_seconds=0.01).start()
    inbox.accept("w1", "leadconnector", "c1", "ContactUpdate")
    worker.wake()
    assert worker.wait_idle(5)
    worker.stop()
    assert sync.calls == [{"leadconnector": ["c1"]}, {"leadconnector": ["c1"]}] and inbox.size() == 0


def test_the_scheduled_poll_runs_without_any_webhook(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "webhooks.db")
    polled = threading.Event()
    sync = ScriptedSync()

    def record(targets: Mapping[str, Sequence[str]] | None) -> None:
        sync(targets)
        polled.set()

    worker = SyncWorker(inbox, record, poll_every=0.1).start()
    assert polled.wait(5)
    worker.stop()
    assert sync.calls[0] is None and worker.polls >= 1


def test_a_stopped_worker_leaves_its_queue_for_the_next_start(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "webhooks.db")
    sync = ScriptedSync(failures=100)
    worker = SyncWorker(inbox, sync, gather_seconds=0.01, retry_seconds=0.05, on_error=lambda e: None).start()
    inbox.accept("w1", "leadconnector", "c1", "ContactUpdate")
    worker.wake()
    assert not worker.wait_idle(0.3)
    worker.stop()
    inbox.close()
    reopened = Inbox(tmp_path / "webhooks.db")
    assert [q.remote_id for q in reopened.peek(10)] == ["c1"]
    assert (tmp_path / "webhooks.db").stat().st_mode & 0o777 == 0o600
