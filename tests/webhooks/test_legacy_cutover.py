"""The cut-over, end to end: LeadConnector's simulator signs with the legacy RSA header only, and the
receiver accepts that while its clock says June 2026 and refuses it from 1 July 2026."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector.simulator import LeadConnectorSim
from syncengine.webhooks.app import PATH, build_app
from syncengine.webhooks.inbox import Inbox
from syncengine.webhooks.keys import WebhookKeys
from syncengine.webhooks.receiver import Receiver

JUNE = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
JULY = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def _deliver_one(tmp: Path, receiver_now: datetime) -> tuple[str, int]:
    sim = LeadConnectorSim(seed=2)
    sim.state.clock.freeze(receiver_now)  # the webhook's timestamp agrees with the receiver's clock
    keys = sim.webhooks.keys.public()
    env = {"LEADCONNECTOR_WEBHOOK_PUBLIC_KEY": keys["ed25519"]["pem"],
           "LEADCONNECTOR_WEBHOOK_LEGACY_PUBLIC_KEY": keys["rsa"]["base64"]}  # fmt: skip
    inbox = Inbox(tmp / f"{receiver_now:%m}.db")
    receiver = Receiver(WebhookKeys.from_env(env), inbox, now=lambda: receiver_now)
    try:
        with ServerThread(build_app(receiver)) as server:
            sim.webhooks.configure({"url": server.url + PATH, "signatures": ["rsa"]})
            (ada,) = sim.seed_contacts([{"firstName": "Ada", "email": "ada@example.com"}])
            sim.ui_edit(ada["id"], {"city": "London"})
            deadline = time.monotonic() + 10
            while sim.webhooks.pending() and time.monotonic() < deadline:
                time.sleep(0.01)
            (delivery,) = sim.webhooks.listing()
            return delivery["state"], inbox.size()
    finally:
        sim.close()
        inbox.close()


def test_the_legacy_signature_is_accepted_in_june_and_refused_from_july(tmp_path: Path) -> None:
    assert _deliver_one(tmp_path, JUNE) == ("delivered", 1)
    assert _deliver_one(tmp_path, JULY) == ("failed", 0)  # answered 401, which is not retried


def test_the_receiver_answers_why(tmp_path: Path) -> None:
    sim = LeadConnectorSim(seed=2)
    keys = sim.webhooks.keys.public()
    inbox = Inbox(tmp_path / "w.db")
    env = {"LEADCONNECTOR_WEBHOOK_LEGACY_PUBLIC_KEY": keys["rsa"]["base64"]}
    receiver = Receiver(WebhookKeys.from_env(env), inbox, now=lambda: JULY)
    body = b'{"type":"ContactUpdate"}'
    signed = sim.webhooks.keys.sign(body, ("rsa",))
    with ServerThread(build_app(receiver)) as server:
        answer = httpx.post(server.url + PATH, content=body, headers=signed)
    inbox.close()
    assert answer.status_code == 401 and "no longer accepted since 2026-07-01" in answer.json()["detail"]
