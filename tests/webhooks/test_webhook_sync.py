"""The webhook path end to end on the simulators: an edit in LeadConnector reaches Apollo through a
signed webhook, the receiver, the inbox and a targeted run, and a lost webhook is caught by the
next scheduled poll."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from webhook_world import WebhookWorld, webhook_world

from syncengine.mirror.db import resolve
from syncengine.state_lock import hold_state


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def company_in_apollo(world: WebhookWorld, email: str) -> str | None:
    company: str | None = world.apollo_by_email()[email].get("organization_name")
    return company


def apollo_labels(world: WebhookWorld) -> list[dict[str, str]]:
    url = world.cluster["apollo"].admin_url + "/labels"
    labels: list[dict[str, str]] = httpx.get(url, timeout=10).json()["labels"]
    return labels


def shared_people(world: WebhookWorld) -> list[tuple[str, str]]:
    """(email, LeadConnector id) of people both systems hold."""
    apollo = world.apollo_by_email()
    return sorted((email, c["id"]) for email, c in world.lc_by_email().items() if email and email in apollo)


def test_an_edit_in_leadconnector_reaches_apollo_through_a_targeted_run(tmp_path: Path) -> None:
    with webhook_world(tmp_path) as world:
        email, lc_id = shared_people(world)[0]
        since = {s: world.last_seq(s) for s in ("apollo", "leadconnector")}
        world.lc_admin("PATCH", f"/contacts/{lc_id}", json={"companyName": "Webhook Works Ltd"})
        assert eventually(lambda: company_in_apollo(world, email) == "Webhook Works Ltd")
        assert world.worker.wait_idle(10)
        assert world.worker.synced >= 1 and world.inbox.size() == 0
        # The run read that one contact by id: no search of LeadConnector, and Apollo not pulled.
        lc_calls = [(e["method"], e["path"]) for e in world.journal("leadconnector", since["leadconnector"])
                    if not e["path"].startswith("/locations/")]  # fmt: skip
        assert ("GET", f"/contacts/{lc_id}") in lc_calls
        assert ("POST", "/contacts/search") not in lc_calls
        apollo_calls = [(e["method"], e["path"]) for e in world.journal("apollo", since["apollo"])]
        assert any(method == "PATCH" or path.endswith("bulk_update") for method, path in apollo_calls)


def test_a_burst_of_edits_and_redelivered_webhooks_sync_each_contact(tmp_path: Path) -> None:
    with webhook_world(tmp_path) as world:
        world.webhooks(duplicate_rate=1.0, jitter_ms=50)  # every webhook twice, out of order
        people = shared_people(world)[:5]
        for n, (_, lc_id) in enumerate(people):
            world.lc_admin("PATCH", f"/contacts/{lc_id}", json={"companyName": f"Burst {n}"})

        def arrived() -> bool:
            return all(company_in_apollo(world, email) == f"Burst {n}" for n, (email, _) in enumerate(people))

        assert eventually(arrived)
        deliveries = world.lc_admin("GET", "/webhooks/deliveries").json()["deliveries"]
        assert len(deliveries) == 10 and all(d["state"] == "delivered" for d in deliveries)
        assert world.worker.wait_idle(10) and world.inbox.size() == 0


def test_a_contact_deleted_in_leadconnector_is_marked_deleted_and_not_recreated(tmp_path: Path) -> None:
    with webhook_world(tmp_path) as world:
        email, lc_id = shared_people(world)[0]
        world.lc_admin("DELETE", f"/contacts/{lc_id}")
        assert eventually(lambda: world.worker.synced >= 1)
        assert world.worker.wait_idle(10)
        record = world.ws.mirror.get_record("leadconnector", lc_id)
        assert record is not None and record.is_deleted
        assert email not in world.lc_by_email()  # deletions are reported, never propagated or undone
        assert email in world.apollo_by_email()


def test_when_every_webhook_is_lost_the_next_scheduled_poll_converges(tmp_path: Path) -> None:
    with webhook_world(tmp_path, poll_every=1.5) as world:
        world.webhooks(drop_rate=1.0)
        people = shared_people(world)[:3]
        for n, (_, lc_id) in enumerate(people):
            world.lc_admin("PATCH", f"/contacts/{lc_id}", json={"companyName": f"Polled {n}"})
        deliveries = world.lc_admin("GET", "/webhooks/deliveries").json()["deliveries"]
        assert [d["state"] for d in deliveries] == ["dropped"] * 3
        assert world.inbox.size() == 0  # nothing arrived

        def arrived() -> bool:
            return all(company_in_apollo(world, e) == f"Polled {n}" for n, (e, _) in enumerate(people))

        assert eventually(arrived, timeout=15)
        assert world.worker.wait_idle(10)
        assert world.worker.polls >= 1 and world.worker.synced == 0


def test_a_targeted_sync_waits_for_another_run_of_the_same_state(tmp_path: Path) -> None:
    with webhook_world(tmp_path, wait=0.2) as world:
        email, lc_id = shared_people(world)[0]
        before = company_in_apollo(world, email)
        location = resolve(world.ws.config.database, world.ws.config.state_dir)
        with hold_state(location, command="another run"):
            world.lc_admin("PATCH", f"/contacts/{lc_id}", json={"companyName": "After The Lock"})
            assert eventually(lambda: world.inbox.size() == 1)
            assert not world.worker.wait_idle(1.0)  # tried, found the state busy, kept the contact
            assert company_in_apollo(world, email) == before and world.inbox.size() == 1
        assert eventually(lambda: company_in_apollo(world, email) == "After The Lock")
        assert world.worker.wait_idle(10) and world.inbox.size() == 0


def test_a_tag_added_in_leadconnector_reaches_apollo_as_a_label(tmp_path: Path) -> None:
    with webhook_world(tmp_path) as world:
        email, lc_id = shared_people(world)[1]
        tags = world.lc_by_email()[email].get("tags", [])
        world.lc_admin("PATCH", f"/contacts/{lc_id}", json={"tags": [*tags, "webhook-vip"]})
        kinds = [d["type"] for d in world.lc_admin("GET", "/webhooks/deliveries").json()["deliveries"]]
        assert kinds == ["ContactTagUpdate"]

        def labelled() -> bool:
            names = {label["id"]: label["name"] for label in apollo_labels(world)}
            held = world.apollo_by_email()[email].get("label_ids") or []
            return "webhook-vip" in {names.get(i) for i in held}

        assert eventually(labelled)
