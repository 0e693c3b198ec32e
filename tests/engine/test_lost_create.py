"""A create whose answer never came may still land after the client gave up: until it may no longer
land, the next runs look for it instead of creating the contact a second time."""

from __future__ import annotations

import time

import httpx
from engine_world import World

READ_TIMEOUT = 1.0  # the client gives up after this; a lost create may land for twice as long
SERVER_DELAY = 2.0  # the server applies the create this long after it arrived

ADA = {
    "firstName": "Ada", "lastName": "Lovelace", "email": "ada@late.example", "tags": ["merch"],
    "address1": "12 Main St", "city": "Austin", "state": "TX", "postalCode": "78701", "country": "US",
}  # fmt: skip


def slow_creates(world: World, seconds: float) -> None:
    """CorporateMerch holds each create ``seconds`` before applying it (0: no fault)."""
    faults = {"timeout_rate": 1.0, "timeout_seconds": seconds, "methods": ["POST"], "paths": ["/contacts"]}
    url = f"{world.cluster['corporatemerch'].admin_url}/faults"
    httpx.put(url, json=faults if seconds else {}, timeout=10).raise_for_status()


def test_a_create_that_may_still_land_is_looked_for_not_sent_again(world: World) -> None:
    world.sim("leadconnector").seed_contacts([ADA])
    slow_creates(world, SERVER_DELAY)

    sent_at = time.monotonic()
    first = world.sync(read_timeout=READ_TIMEOUT, attempts=1)

    assert first.push is not None and first.push.failed  # the answer never came
    assert world.sim("corporatemerch").contacts() == []  # and the create has not landed yet
    slow_creates(world, 0)

    second = world.sync(read_timeout=READ_TIMEOUT)  # at once, while the create may still land

    assert time.monotonic() - sent_at < SERVER_DELAY, "the machine was too slow to test the window"
    assert second.resumed["waiting"] == 1
    assert not [p for p in second.plan.ops if p.op.system == "corporatemerch" and p.op.kind == "create"]
    assert any("answer was lost" in note.text for note in second.plan.notes)

    time.sleep(max(0.0, SERVER_DELAY + 0.3 - (time.monotonic() - sent_at)))  # it has landed now
    third = world.sync(read_timeout=READ_TIMEOUT)

    assert third.resumed["recovered"] == 1
    assert [c["email"] for c in world.sim("corporatemerch").contacts()] == ["ada@late.example"]
    assert world.mirror.pending() == []
