"""The simulators' lookups kept current through every kind of write.

Apollo's dedupe and list counts and LeadConnector's duplicate check read indexes the stores keep
up to date, and searches reuse their result while nothing was written. These tests run random
sequences of writes (API creates and updates, list membership, UI edits and deletes, a state
reload) and after each one compare what the simulator answers with a scan of its contacts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

APOLLO_KEY = "sim-apollo-key-lookups"
LC_TOKEN, LOCATION = "sim-lc-token-lookups", "LookupsLocation00001"
EMAILS = [f"p{i}@example.com" for i in range(6)]
NAMES = ["Ada Byron", "Alan Turing", "Grace Hopper"]
LISTS = ["Alpha", "Beta", "Gamma"]
PHONES = ["+15550000001", "+15550000002", "+15550000003"]


@pytest.fixture(scope="module")
def apollo() -> Iterator[tuple[ApolloSim, httpx.Client]]:
    sim = ApolloSim(api_key=APOLLO_KEY, seed=5)
    with (
        ServerThread(sim.app) as thread,
        httpx.Client(base_url=thread.url, headers={"x-api-key": APOLLO_KEY}, timeout=10) as client,
    ):
        client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
        yield sim, client


@pytest.fixture(scope="module")
def leadconnector() -> Iterator[tuple[LeadConnectorSim, httpx.Client]]:
    sim = LeadConnectorSim(token=LC_TOKEN, location_id=LOCATION, seed=5)
    headers = {"Authorization": f"Bearer {LC_TOKEN}", "Version": "2021-07-28"}
    with (
        ServerThread(sim.app) as thread,
        httpx.Client(base_url=thread.url, headers=headers, timeout=10) as client,
    ):
        client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
        yield sim, client


def _fresh(client: httpx.Client) -> None:
    """An empty simulator without rate limits (a reset restores them)."""
    client.post("/__admin/reset").raise_for_status()
    client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()


# --------------------------------------------------------------------------- Apollo


def _apollo_step(rng: random.Random, sim: ApolloSim, client: httpx.Client, snapshots: list[Any]) -> None:
    live = [c["id"] for c in sim.contacts()]
    action = rng.choice(
        ["create", "create", "update", "lists", "ui_edit", "delete", "seed", "reload"] if live else ["create"]
    )
    first, last = rng.choice(NAMES).split()
    if action == "create":
        body = {
            "first_name": first,
            "last_name": last,
            "email": rng.choice(EMAILS),
            "run_dedupe": rng.random() < 0.5,
        }
        body["label_names"] = rng.sample(LISTS, rng.randint(0, 2))
        assert client.post("/api/v1/contacts", json=body).status_code == 200
    elif action == "update":
        body = rng.choice(
            [{"email": rng.choice(EMAILS)}, {"first_name": first}, {"label_names": [rng.choice(LISTS)]}]
        )
        assert client.patch(f"/api/v1/contacts/{rng.choice(live)}", json=body).status_code == 200
    elif action == "lists":
        path = rng.choice(["add_entity_ids_to_label_names", "remove_entity_ids_from_label_names"])
        body = {
            "modality": "contacts",
            "entity_ids": rng.sample(live, min(2, len(live))),
            "label_names": [rng.choice(LISTS)],
        }
        assert client.post(f"/api/v1/labels/{path}", json=body).status_code == 200
    elif action == "ui_edit":
        sim.ui_edit(rng.choice(live), rng.choice([{"email": rng.choice(EMAILS)}, {"last_name": last}]))
    elif action == "delete":
        sim.ui_delete(rng.choice(live))
    elif action == "seed":
        sim.seed_contacts([{"first_name": first, "last_name": last, "email": rng.choice(EMAILS)}])
    else:  # a state file from an earlier step loaded
        sim.import_state(rng.choice(snapshots))
    snapshots.append(sim.export_state())


def _apollo_agrees(sim: ApolloSim, client: httpx.Client) -> None:
    stored = sim.export_state()
    live = [c for c in stored["contacts"] if c["id"] not in stored["deleted"]]  # in the store's order
    for email in EMAILS:
        holders = [c for c in live if email in {c["email"], *(e["email"] for e in c["contact_emails"])}]
        found = sim.store.find_match({"email": email})
        assert (found[0]["id"] if found else None) == (holders[0]["id"] if holders else None), email
    for name in NAMES:
        first, last = name.split()
        same = [
            c for c in live if (c["name"] or "").lower() == name.lower() and c["organization_name"] == "Acme"
        ]
        found = sim.store.find_match({"first_name": first, "last_name": last, "organization_name": "Acme"})
        assert (found[0]["id"] if found else None) == (same[0]["id"] if same else None), name
    labels = {label["name"]: label for label in client.get("/api/v1/labels").json()}
    for name, label in labels.items():
        members = [c["id"] for c in live if label["id"] in c["label_ids"]]
        assert label["cached_count"] == len(members), name
        page = client.post(
            "/api/v1/contacts/search",
            json={"contact_label_ids": [label["id"]], "per_page": 100, "sort_by_field": "contact_updated_at"},
        ).json()
        assert sorted(c["id"] for c in page["contacts"]) == sorted(members), name


@pytest.mark.parametrize("seed", range(4))
def test_apollo_dedupe_counts_and_search_follow_every_write(
    apollo: tuple[ApolloSim, httpx.Client], seed: int
) -> None:
    sim, client = apollo
    _fresh(client)
    rng, snapshots = random.Random(seed), [sim.export_state()]
    for _ in range(40):
        _apollo_step(rng, sim, client, snapshots)
        _apollo_agrees(sim, client)


def test_apollo_search_shows_a_write_made_between_two_identical_searches(
    apollo: tuple[ApolloSim, httpx.Client],
) -> None:
    sim, client = apollo
    _fresh(client)
    body = {"q_keywords": "Hopper", "per_page": 100}
    assert client.post("/api/v1/contacts/search", json=body).json()["contacts"] == []
    created = client.post("/api/v1/contacts", json={"first_name": "Grace", "last_name": "Hopper"}).json()[
        "contact"
    ]
    assert [c["id"] for c in client.post("/api/v1/contacts/search", json=body).json()["contacts"]] == [
        created["id"]
    ]
    sim.ui_delete(created["id"])
    assert client.post("/api/v1/contacts/search", json=body).json()["contacts"] == []


# --------------------------------------------------------------------------- LeadConnector


def _lc_step(rng: random.Random, sim: LeadConnectorSim, client: httpx.Client, snapshots: list[Any]) -> None:
    live = [c["id"] for c in sim.contacts()]
    action = rng.choice(["create", "create", "update", "ui_edit", "delete", "reload"] if live else ["create"])
    if action == "create":
        body = {"locationId": LOCATION, "email": rng.choice(EMAILS), "phone": rng.choice(PHONES)}
        assert client.post("/contacts/", json=body).status_code in (201, 400)  # 400: a duplicate
    elif action == "update":
        body = rng.choice([{"email": rng.choice(EMAILS)}, {"phone": rng.choice(PHONES)}, {"email": ""}])
        assert client.put(f"/contacts/{rng.choice(live)}", json=body).status_code in (200, 400)
    elif action == "ui_edit":
        sim.ui_edit(rng.choice(live), {"additionalEmails": [{"email": rng.choice(EMAILS)}]})
    elif action == "delete":
        assert client.delete(f"/contacts/{rng.choice(live)}").status_code == 200
    else:  # a state file from an earlier step loaded
        sim.import_state(rng.choice(snapshots))
    snapshots.append(sim.export_state())


def _lc_agrees(sim: LeadConnectorSim, client: httpx.Client) -> None:
    live = sorted(sim.contacts(), key=lambda c: (c["dateAdded"], c["id"]))
    for email in EMAILS:
        holders = [
            c
            for c in live
            if email in {c.get("email"), *(e.get("email") for e in c.get("additionalEmails") or [])}
        ]
        found = sim.store.find_by("email", email)
        assert (found["id"] if found else None) == (holders[0]["id"] if holders else None), email
    for phone in PHONES:
        holders = [c for c in live if c.get("phone") == phone]
        found = sim.store.find_by("phone", phone)
        assert (found["id"] if found else None) == (holders[0]["id"] if holders else None), phone
    answer = client.post("/contacts/search", json={"locationId": LOCATION, "pageLimit": 500}).json()
    assert sorted(c["id"] for c in answer["contacts"]) == sorted(c["id"] for c in live)


@pytest.mark.parametrize("seed", range(4))
def test_leadconnector_duplicate_check_and_search_follow_every_write(
    leadconnector: tuple[LeadConnectorSim, httpx.Client], seed: int
) -> None:
    sim, client = leadconnector
    _fresh(client)
    rng, snapshots = random.Random(seed), [sim.export_state()]
    for _ in range(40):
        _lc_step(rng, sim, client, snapshots)
        _lc_agrees(sim, client)
