"""LeadConnector's simulator sends signed contact webhooks as the vendor's guide describes: one per
change made through the API or the admin surface, retried only on 429, and faults on request."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from hook_catcher import HookCatcher, hook_catcher

from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector.simulator import LeadConnectorSim
from syncengine.sim.runner import SimCluster

LOCATION = "SimLocation000000001"
HEADERS = {"Authorization": "Bearer sim-lc-token", "Version": "2021-07-28"}
FAST = {"retry_seconds": 0.05, "retry_jitter_seconds": 0.0}


@pytest.fixture
def world() -> Iterator[tuple[LeadConnectorSim, httpx.Client, HookCatcher]]:
    sim = LeadConnectorSim(location_id=LOCATION, seed=4)
    with (
        ServerThread(sim.app) as server,
        hook_catcher() as catcher,
        httpx.Client(base_url=server.url, headers=HEADERS, timeout=10) as client,
    ):
        client.put("/__admin/webhooks", json={"url": catcher.url, **FAST}).raise_for_status()
        yield sim, client, catcher
    sim.close()


def create(lc: httpx.Client, **fields: Any) -> dict[str, Any]:
    answer = lc.post("/contacts/", json={"locationId": LOCATION, **fields})
    assert answer.status_code == 201, answer.text
    contact: dict[str, Any] = answer.json()["contact"]
    return contact


def settle(sim: LeadConnectorSim, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while sim.webhooks.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # the last answer is being recorded


def test_every_change_through_the_api_and_the_admin_surface_is_announced(world) -> None:
    sim, lc, catcher = world
    ada = create(lc, firstName="Ada", email="ada@example.com", tags=["vip"])
    lc.put(f"/contacts/{ada['id']}", json={"companyName": "Analytical Engines"}).raise_for_status()
    lc.post(f"/contacts/{ada['id']}/tags", json={"tags": ["speaker"]}).raise_for_status()
    lc.patch(f"/__admin/contacts/{ada['id']}", json={"city": "London", "tags": ["vip"]}).raise_for_status()
    lc.delete(f"/contacts/{ada['id']}").raise_for_status()
    caught = catcher.wait_for(6)
    kinds = [c.payload["type"] for c in caught]
    assert kinds == ["ContactCreate", "ContactUpdate", "ContactTagUpdate", "ContactUpdate",
                     "ContactTagUpdate", "ContactDelete"]  # fmt: skip
    first = caught[0].payload
    assert first["id"] == ada["id"] and first["locationId"] == LOCATION
    assert first["email"] == "ada@example.com" and first["tags"] == ["vip"]
    assert caught[1].payload["companyName"] == "Analytical Engines"
    assert caught[2].payload["tags"] == ["vip", "speaker"]
    assert len({c.payload["webhookId"] for c in caught}) == 6
    assert all(c.payload["timestamp"].endswith("Z") for c in caught)
    # A write that changes nothing announces nothing; seeding is setup, not a change.
    lc.put(f"/contacts/{create(lc, firstName='Bo')['id']}", json={"firstName": "Bo"}).raise_for_status()
    lc.post("/__admin/contacts", json={"contacts": [{"firstName": "Cy"}]}).raise_for_status()
    settle(sim)
    assert [c.payload["type"] for c in catcher.caught[6:]] == ["ContactCreate"]


def test_signatures_verify_over_the_raw_body_with_the_published_public_keys(world) -> None:
    _, lc, catcher = world
    keys = lc.put("/__admin/webhooks", json={"signatures": ["ed25519", "rsa"]}).json()["public_keys"]
    create(lc, firstName="Ada")
    (caught,) = catcher.wait_for(1)
    ed = load_pem_public_key(keys["ed25519"]["pem"].encode())
    legacy = load_der_public_key(base64.b64decode(keys["rsa"]["base64"]))
    assert isinstance(ed, ed25519.Ed25519PublicKey) and isinstance(legacy, rsa.RSAPublicKey)
    ed.verify(base64.b64decode(caught.headers["x-ghl-signature"]), caught.body)
    legacy.verify(base64.b64decode(caught.headers["x-wh-signature"]), caught.body, padding.PKCS1v15(),
                  hashes.SHA256())  # fmt: skip
    # After the 1 July 2026 cut-over, the default is Ed25519 alone.
    lc.put("/__admin/webhooks", json={"signatures": ["ed25519"]}).raise_for_status()
    create(lc, firstName="Bo")
    later = catcher.wait_for(2)[1]
    assert "x-wh-signature" not in later.headers and "x-ghl-signature" in later.headers


def test_a_429_is_retried_six_times_and_nothing_else_is_retried(world) -> None:
    sim, lc, catcher = world
    catcher.statuses = [429] * 10
    create(lc, firstName="Ada")
    settle(sim)
    assert len(catcher.caught) == 7  # the first attempt and six retries
    assert len({c.payload["webhookId"] for c in catcher.caught}) == 1
    assert {c.body for c in catcher.caught} == {catcher.caught[0].body}  # the same body each time
    (delivery,) = lc.get("/__admin/webhooks/deliveries").json()["deliveries"]
    assert delivery["state"] == "failed" and [a["status"] for a in delivery["attempts"]] == [429] * 7

    catcher.caught.clear()
    catcher.statuses = [429, 429, 200]
    create(lc, firstName="Bo")
    settle(sim)
    assert len(catcher.caught) == 3
    assert lc.get("/__admin/webhooks/deliveries").json()["deliveries"][-1]["state"] == "delivered"

    for status in (500, 503, 408, 401):
        catcher.caught.clear()
        catcher.statuses = [status]
        create(lc, firstName=f"Failing{status}")
        settle(sim)
        assert len(catcher.caught) == 1, status


def test_a_timeout_is_not_retried(world) -> None:
    sim, lc, catcher = world
    lc.put("/__admin/webhooks", json={"timeout_seconds": 0.1}).raise_for_status()
    catcher.delay_seconds = 0.5
    create(lc, firstName="Ada")
    settle(sim)
    time.sleep(0.6)
    assert len(catcher.caught) == 1
    (delivery,) = lc.get("/__admin/webhooks/deliveries").json()["deliveries"]
    assert delivery["state"] == "failed" and delivery["attempts"][0]["status"] is None


def test_dropped_deliveries_never_arrive_and_duplicates_arrive_twice(world) -> None:
    sim, lc, catcher = world
    lc.put("/__admin/webhooks", json={"drop_rate": 1.0}).raise_for_status()
    create(lc, firstName="Ada")
    settle(sim)
    assert catcher.caught == []
    assert lc.get("/__admin/webhooks/deliveries").json()["deliveries"][0]["state"] == "dropped"
    lc.put("/__admin/webhooks", json={"drop_rate": 0.0, "duplicate_rate": 1.0}).raise_for_status()
    create(lc, firstName="Bo")
    twice = catcher.wait_for(2)
    assert len(twice) == 2 and twice[0].body == twice[1].body


def test_held_deliveries_are_released_in_the_order_asked(world) -> None:
    _, lc, catcher = world
    lc.put("/__admin/webhooks", json={"hold": True}).raise_for_status()
    names = ["Ada", "Bo", "Cy", "Di"]
    for name in names:
        create(lc, firstName=name)
    time.sleep(0.2)
    assert catcher.caught == []
    assert lc.post("/__admin/webhooks/release", json={"order": "reverse"}).json() == {"released": 4}
    caught = catcher.wait_for(4)
    assert [c.payload["firstName"] for c in caught] == names[::-1]


def test_delay_holds_a_delivery_back(world) -> None:
    _, lc, catcher = world
    lc.put("/__admin/webhooks", json={"delay_ms": 300}).raise_for_status()
    started = time.monotonic()
    create(lc, firstName="Ada")
    catcher.wait_for(1)
    assert time.monotonic() - started >= 0.3


def test_bad_settings_are_refused_with_400(world) -> None:
    _, lc, _ = world
    for bad in ({"url": "ftp://x"}, {"drop_rate": 2}, {"signatures": []}, {"max_retries": -1}, {"nope": 1},
                {"events": ["ContactMerge"]}):  # fmt: skip
        assert lc.put("/__admin/webhooks", json=bad).status_code == 400, bad
    assert lc.post("/__admin/webhooks/release", json={"order": "sideways"}).status_code == 400


def test_reset_stops_the_webhooks() -> None:
    sim = LeadConnectorSim(location_id=LOCATION)
    with ServerThread(sim.app) as server, hook_catcher() as catcher:
        httpx.put(server.url + "/__admin/webhooks", json={"url": catcher.url}).raise_for_status()
        httpx.post(server.url + "/__admin/reset").raise_for_status()
        sim.seed_contacts([{"firstName": "Ada", "id": "a" * 20}])
        sim.ui_edit("a" * 20, {"city": "Paris"})
        settle(sim)
        assert catcher.caught == []
    sim.close()


def test_the_cluster_prints_the_public_keys_and_points_the_webhooks_where_asked() -> None:
    with hook_catcher() as catcher:
        cluster = SimCluster(systems=("leadconnector",), rate_limits=False, env={}, webhook_url=catcher.url)
        with cluster:
            line = cluster.lines()[-1]
            variables = dict(pair.split("=", 1) for pair in line.split()[1:])
            assert line.startswith("webhooks ") and variables == cluster.webhook_environment()
            ed = load_der_public_key(base64.b64decode(variables["LEADCONNECTOR_WEBHOOK_PUBLIC_KEY"]))
            sim = cluster["leadconnector"].sim
            sim.seed_contacts([{"firstName": "Ada", "id": "a" * 20}])
            sim.ui_edit("a" * 20, {"city": "Paris"})
            (caught,) = catcher.wait_for(1)
            assert isinstance(ed, ed25519.Ed25519PublicKey)
            ed.verify(base64.b64decode(caught.headers["x-ghl-signature"]), caught.body)
