"""Bulk writes under faults: a bulk call whose answer is lost or late is neither lost nor doubled.

LeadConnector holds people Apollo lacks, without phones, so the sync creates them in Apollo through
``bulk_create`` (with their lists added through the label endpoints) and tags them in LeadConnector.
The simulators' fault injection then holds or drops those bulk calls: the write lands, the answer
does not reach the engine. Once the runs settle, every person is in Apollo exactly once, with their
lists, and the outbox is empty.
"""

from __future__ import annotations

from typing import Any

from engine_world import CLEAR_FAULTS, World, converge, duplicated_emails, set_faults

READ_TIMEOUT = 0.3  # the engine's read timeout here; a held call is answered after it


def lc_person(i: int, tags: list[str]) -> dict[str, Any]:
    return {
        "firstName": f"Bulk{i}", "lastName": f"Person{i}", "email": f"bulk{i}@example.com",
        "companyName": "Bulk Co", "city": "Austin", "state": "TX", "country": "US", "tags": tags,
    }  # fmt: skip


def seed(world: World, n: int) -> None:
    lists = [["vip"], ["vip", "newsletter"], ["webinar"], []]
    world.sim("leadconnector").seed_contacts([lc_person(i, lists[i % len(lists)]) for i in range(n)])


def apollo_people(world: World) -> dict[str, set[str]]:
    apollo = world.sim("apollo")
    names = {label["id"]: label["name"] for label in apollo.store.catalogues.labels.values()}
    return {
        str(c["email"]): {names[i] for i in c.get("label_ids") or []}
        for c in apollo.contacts() if str(c.get("email") or "").startswith("bulk")
    }  # fmt: skip


def bulk_calls(world: World) -> list[dict[str, Any]]:
    return [e for e in world.journal("apollo") if e["path"].endswith("/contacts/bulk_create")]


def expected_lists(n: int) -> dict[str, set[str]]:
    lists = [{"vip"}, {"vip", "newsletter"}, {"webinar"}, set()]
    return {f"bulk{i}@example.com": lists[i % len(lists)] for i in range(n)}


def settle_under(world: World, n: int, **faults: Any) -> int:
    """Sync ``n`` new people with ``faults`` on Apollo's bulk_create for the first run, then settle;
    returns the bulk_create calls that first run sent."""
    seed(world, n)
    set_faults(world, paths=["/contacts/bulk_create"], **faults)
    try:
        first = world.sync(read_timeout=READ_TIMEOUT)
    finally:
        set_faults(world, **CLEAR_FAULTS)
    sent = len(bulk_calls(world))
    assert sent, "the creates went through bulk_create"
    assert first.push is not None
    converge(world, read_timeout=READ_TIMEOUT)
    assert duplicated_emails(world) == {}
    assert apollo_people(world) == expected_lists(n)
    assert world.mirror.pending() == []
    return sent


def test_a_bulk_create_whose_answer_is_dropped_is_found_not_sent_again(world: World) -> None:
    """The write lands and the connection closes without an answer: one search page finds the new
    records, their lists are added, and nothing is created twice."""
    sent = settle_under(world, 24, drop_after_rate=1.0)
    assert len(bulk_calls(world)) == sent  # found after the lost answer, so never sent again


def test_a_bulk_create_answered_after_the_client_gave_up_is_neither_lost_nor_doubled(world: World) -> None:
    """The server holds the call past the read timeout, then applies it: whether the search that
    follows sees the records yet or the next run finds them among those it pulls, each person is
    created once."""
    settle_under(world, 24, timeout_rate=1.0, timeout_seconds=READ_TIMEOUT * 1.5)


def test_a_bulk_create_refused_by_a_server_error_is_sent_again_next_run(world: World) -> None:
    """A 503 is not applied: the run reports the creates failed, the next one sends them."""
    sent = settle_under(world, 24, error_rate=1.0)
    assert len(bulk_calls(world)) > sent  # sent again, once the server answered
