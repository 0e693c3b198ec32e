"""What the receiver answers a webhook, decided without HTTP: verify, check, remember, queue.

The order matters: the signature is checked first, over the raw bytes, so nothing of an unsigned
body is trusted (not even its ``webhookId``, which would otherwise let a forger use up ids); then
the timestamp (a replay of an old, validly signed body is refused); then the id (a redelivery of
one seen is answered 200, as LeadConnector's guide asks, and queues nothing).

With ``jobs`` (``syncengine webhooks --pairings``) the contact is not queued here: each pairing of
the event's location gets a targeted sync job for the workers, deferred in the same transaction
that remembers the webhook id, so a webhook whose job could not be deferred is not taken for seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from syncengine.webhooks.events import ContactEvent, PayloadError, parse_event
from syncengine.webhooks.inbox import Inbox, InboxFullError
from syncengine.webhooks.keys import WebhookKeys
from syncengine.webhooks.signatures import SignatureError, verify

SYSTEM = "leadconnector"
log = logging.getLogger(__name__)


class JobQueueError(Exception):
    """The workers' queue could not take a job (its database unreachable); answered 429."""


class Jobs(Protocol):
    """Where webhooks go with many pairings (``syncengine.webhooks.jobs.PairingJobs``)."""

    def pairings_for(self, location_id: str) -> Sequence[str]: ...

    def defer(self, pairing: str, system: str, remote_ids: Sequence[str]) -> object: ...


@dataclass(frozen=True)
class Answer:
    status: int
    outcome: str  # queued | duplicate | ignored | refused | busy
    detail: str = ""

    def body(self) -> dict[str, str]:
        return {"outcome": self.outcome, **({"detail": self.detail} if self.detail else {})}


@dataclass(frozen=True)
class Receiver:
    """``location_id``: the location this pairing syncs; another location's webhooks are ignored.
    ``on_queued`` wakes the worker. ``now`` is injectable for the cut-over and staleness tests.
    ``jobs``: many pairings; a location none of them syncs is ignored, and ``location_id`` unused."""

    keys: WebhookKeys
    inbox: Inbox
    location_id: str | None = None
    tolerance: timedelta = timedelta(minutes=5)
    on_queued: Callable[[], None] = lambda: None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    jobs: Jobs | None = None

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        now = self.now()
        try:
            scheme = verify(body, headers, self.keys, now=now)
            event = parse_event(body)
        except SignatureError as exc:
            return Answer(401, "refused", str(exc))
        except PayloadError as exc:
            return Answer(400, "refused", str(exc))
        if abs(now - event.sent_at) > self.tolerance:
            return Answer(400, "refused", f"timestamp {event.sent_at:%Y-%m-%dT%H:%M:%SZ} is not within "
                                          f"{self.tolerance.total_seconds():g} s of now")  # fmt: skip
        if not event.is_contact_event:
            return Answer(200, "ignored", f"{event.type} is not a contact event")
        if self.jobs is not None:
            return self._defer(event, scheme, self.jobs)
        if self.location_id and event.location_id != self.location_id:
            return Answer(200, "ignored", f"location {event.location_id} is not synced here")
        return self._queue(event, scheme)

    def _queue(self, event: ContactEvent, scheme: str) -> Answer:
        try:
            fresh = self.inbox.accept(event.webhook_id, SYSTEM, event.contact_id, event.type)
        except InboxFullError as exc:
            return Answer(429, "busy", str(exc))  # the one answer LeadConnector retries
        if not fresh:
            return Answer(200, "duplicate", f"webhook {event.webhook_id} was received before")
        log.debug("queued %s %s (%s)", event.type, event.contact_id, scheme)
        self.on_queued()
        return Answer(200, "queued")

    def _defer(self, event: ContactEvent, scheme: str, jobs: Jobs) -> Answer:
        pairings = jobs.pairings_for(event.location_id)
        if not pairings:
            return Answer(200, "ignored", f"location {event.location_id} is not synced here")

        def defer() -> None:
            for pairing in pairings:
                jobs.defer(pairing, SYSTEM, [event.contact_id])

        try:
            fresh = self.inbox.remember(event.webhook_id, defer)
        except JobQueueError as exc:
            log.warning("webhook %s not queued: %s", event.webhook_id, exc)
            return Answer(429, "busy", "the job queue cannot be reached")  # retried by LeadConnector
        if not fresh:
            return Answer(200, "duplicate", f"webhook {event.webhook_id} was received before")
        log.debug("deferred %s %s for %s (%s)", event.type, event.contact_id, ", ".join(pairings), scheme)
        self.on_queued()
        return Answer(200, "queued")
