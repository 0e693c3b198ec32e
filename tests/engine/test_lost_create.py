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


def test_recovering_many_lost_creates_spends_no_call_of_the_budget(world: World) -> None:
    # Looking each lost create up with its own search once used up Apollo's hourly search budget,
    # so the same run's pull failed. They are now found among the records the pull just read.
    people = [
        {"firstName": f"Lost{i}", "lastName": "Create", "email": f"lost{i}@late.example"} for i in range(60)
    ]
    world.sim("leadconnector").seed_contacts(people)
    faults = {"timeout_rate": 1.0, "timeout_seconds": SERVER_DELAY, "methods": ["POST"],
              "paths": ["/contacts/bulk_create"]}  # fmt: skip
    url = f"{world.cluster['apollo'].admin_url}/faults"
    httpx.put(url, json=faults, timeout=10).raise_for_status()
    first = world.sync(read_timeout=READ_TIMEOUT, attempts=1)
    httpx.put(url, json={}, timeout=10).raise_for_status()
    assert first.push is not None and first.push.failed
    time.sleep(2 * READ_TIMEOUT + 0.5)  # they have landed, and may no longer land later
    world.clear_journals()

    second = world.sync(read_timeout=READ_TIMEOUT)

    assert second.resumed["recovered"] == len(people)
    assert second.pull_errors == {}
    searches = [e for e in world.journal("apollo") if e["path"].endswith("/contacts/search")]
    writes = [e for e in world.writes("apollo") if "/contacts" in e["path"]]
    assert len(searches) <= 3, searches  # the pull's own pages, and the check before writes
    assert writes == []  # nothing created again
    assert sorted(c["email"] for c in world.sim("apollo").contacts()) == sorted(p["email"] for p in people)
