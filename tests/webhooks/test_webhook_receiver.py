"""The receiver over real HTTP: what it answers, what it queues, and how fast."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from signing import Signer, payload

from syncengine.sim.core import ServerThread
from syncengine.webhooks.app import PATH, build_app
from syncengine.webhooks.inbox import Inbox
from syncengine.webhooks.receiver import Receiver

NOW = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)
LOCATION = "SimLocation000000001"


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[httpx.Client, Inbox, Signer, Clock, list[int]]]:
    signer, clock, woken = Signer(), Clock(), []
    inbox = Inbox(tmp_path / "webhooks.db", max_queued=5)
    receiver = Receiver(
        signer.keys(), inbox, location_id=LOCATION, now=clock, on_queued=lambda: woken.append(1)
    )
    with ServerThread(build_app(receiver)) as server, httpx.Client(base_url=server.url) as client:
        yield client, inbox, signer, clock, woken
    inbox.close()


def post(client: httpx.Client, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post(PATH, content=body, headers={"Content-Type": "application/json", **headers})


def test_a_signed_webhook_is_answered_200_and_its_contact_queued(setup) -> None:
    client, inbox, signer, _, woken = setup
    body = payload(NOW, contact_id="c1")
    answer = post(client, body, signer.ghl(body))
    assert answer.status_code == 200 and answer.json() == {"outcome": "queued"}
    assert [(q.system, q.remote_id, q.event) for q in inbox.peek(10)] == [
        ("leadconnector", "c1", "ContactUpdate")
    ]
    assert woken == [1]
    assert client.get(PATH).json() == {"queued": 1}


def test_a_replayed_webhook_id_is_answered_200_and_queues_nothing_again(setup, tmp_path: Path) -> None:
    client, inbox, signer, _, woken = setup
    body = payload(NOW, contact_id="c1")
    post(client, body, signer.ghl(body))
    inbox.done(inbox.peek(10))  # its sync ran
    again = post(client, body, signer.ghl(body))
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert inbox.size() == 0 and woken == [1]
    # The ids are kept on disk: a restarted receiver still knows them.
    reopened = Inbox(tmp_path / "webhooks.db")
    assert reopened.accept("wh-1", "leadconnector", "c1", "ContactUpdate") is False
    reopened.close()


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_outside_five_minutes_is_refused(setup, offset: timedelta) -> None:
    client, inbox, signer, clock, _ = setup
    body = payload(NOW)
    clock.at = NOW - offset
    answer = post(client, body, signer.ghl(body))
    assert answer.status_code == 400 and "timestamp" in answer.json()["detail"]
    assert inbox.size() == 0
    clock.at = NOW + timedelta(minutes=4, seconds=59)  # still within the window
    assert post(client, body, signer.ghl(body)).json()["outcome"] == "queued"


def test_unsigned_forged_and_legacy_only_requests_are_refused_401(setup) -> None:
    client, inbox, signer, _, _ = setup
    body = payload(NOW)
    assert post(client, body, {}).status_code == 401
    assert post(client, body, Signer().ghl(body)).status_code == 401
    legacy = post(client, body, signer.wh(body))  # today is after the cut-over
    assert legacy.status_code == 401 and "2026-07-01" in legacy.json()["detail"]
    assert inbox.size() == 0


def test_the_legacy_signature_is_accepted_before_the_cutover(setup) -> None:
    client, inbox, signer, clock, _ = setup
    clock.at = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    body = payload(clock.at)
    assert post(client, body, signer.wh(body)).json() == {"outcome": "queued"}
    assert inbox.size() == 1


def test_other_locations_other_events_and_bad_bodies(setup) -> None:
    client, inbox, signer, _, _ = setup
    for body in (payload(NOW, location="AnotherLocation00001", webhook_id="a"),
                 payload(NOW, event="OpportunityCreate", webhook_id="b")):  # fmt: skip
        answer = post(client, body, signer.ghl(body))
        assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"
    for bad in (b"{not json", b"[]", b'{"type": "ContactUpdate", "timestamp": "2026-12-05T21:00:00Z"}'):
        assert post(client, bad, signer.ghl(bad)).status_code == 400
    assert inbox.size() == 0


def test_a_full_inbox_answers_429_which_leadconnector_retries(setup) -> None:
    client, inbox, signer, _, _ = setup
    for n in range(5):
        body = payload(NOW, webhook_id=f"w{n}", contact_id=f"c{n}")
        assert post(client, body, signer.ghl(body)).status_code == 200
    body = payload(NOW, webhook_id="w5", contact_id="c5")
    assert post(client, body, signer.ghl(body)).status_code == 429
    again = payload(NOW, webhook_id="w6", contact_id="c0")  # a contact already queued still fits
    assert post(client, again, signer.ghl(again)).status_code == 200
    inbox.done(inbox.peek(1))
    assert post(client, body, signer.ghl(body)).status_code == 200  # the retry, once there is room


def test_answers_come_within_milliseconds(setup) -> None:
    client, inbox, signer, _, _ = setup
    took = []
    for n in range(60):
        body = payload(NOW, webhook_id=f"fast{n}", contact_id=f"c{n % 3}")
        started = time.perf_counter()
        assert post(client, body, signer.ghl(body)).status_code == 200
        took.append(time.perf_counter() - started)
    assert statistics.median(took) < 0.05, took
    assert inbox.size() == 3
