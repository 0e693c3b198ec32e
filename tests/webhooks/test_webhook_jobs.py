"""The receiver with ``jobs`` (``--pairings``): which pairings get a job, and a queue that cannot
take one leaves the webhook unseen, so LeadConnector's retry of the 429 is taken."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from signing import Signer, payload

from syncengine.webhooks.inbox import Inbox
from syncengine.webhooks.receiver import JobQueueError, Receiver

NOW = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)


class FakeJobs:
    def __init__(self, by_location: dict[str, tuple[str, ...]]) -> None:
        self.by_location = by_location
        self.deferred: list[tuple[str, str, list[str]]] = []
        self.down = False

    def pairings_for(self, location_id: str) -> tuple[str, ...]:
        return self.by_location.get(location_id, ())

    def defer(self, pairing: str, system: str, remote_ids: Sequence[str]) -> int:
        if self.down:
            raise JobQueueError("connection refused")
        self.deferred.append((pairing, system, list(remote_ids)))
        return len(self.deferred)


def test_each_pairing_of_the_location_gets_a_job_and_an_unreachable_queue_is_answered_429(
    tmp_path: Path,
) -> None:
    signer, jobs = Signer(), FakeJobs({"LocA": ("acme", "acme-eu"), "LocB": ("beta",)})
    inbox = Inbox(tmp_path / "webhooks.db")
    receiver = Receiver(signer.keys(), inbox, now=lambda: NOW, jobs=jobs)

    def handle(body: bytes) -> tuple[int, str]:
        answer = receiver.handle(body, signer.ghl(body))
        return answer.status, answer.outcome

    assert handle(payload(NOW, webhook_id="w1", contact_id="c1", location="LocA")) == (200, "queued")
    assert jobs.deferred == [("acme", "leadconnector", ["c1"]), ("acme-eu", "leadconnector", ["c1"])]
    assert handle(payload(NOW, webhook_id="w2", contact_id="c2", location="LocZ")) == (200, "ignored")
    jobs.down = True
    body = payload(NOW, webhook_id="w3", contact_id="c3", location="LocB")
    assert handle(body) == (429, "busy")
    jobs.down = False
    assert handle(body) == (200, "queued")  # not remembered as seen while no job was deferred
    assert handle(body) == (200, "duplicate")
    assert jobs.deferred[2:] == [("beta", "leadconnector", ["c3"])]
    assert inbox.size() == 0  # nothing for an in-process sync
    inbox.close()
