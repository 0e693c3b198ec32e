"""One contract every connector keeps, run against each through its simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.connectors.base import Connector, ConnectorOptions, WriteOp
from syncengine.connectors.errors import AuthError
from syncengine.connectors.http import HttpClient, RetryPolicy
from syncengine.connectors.ratelimit import ManualClock, RateLimiter
from syncengine.connectors.registry import connector_class
from syncengine.connectors.settings import load_settings
from syncengine.sim.runner import SimCluster
from syncengine.sim.sampledata import catalogues, generate
from syncengine.systems import NAMES as SYSTEMS

PAGE = {"apollo": 100, "leadconnector": 500, "corporatemerch": 50}


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimCluster]:
    with SimCluster(rate_limits=False, env={}, seed=9) as running:
        yield running


@pytest.fixture(params=SYSTEMS)
def system(request: pytest.FixtureRequest, cluster: SimCluster) -> str:
    name = request.param
    admin = cluster[name].admin_url
    httpx.post(admin + "/reset", timeout=10).raise_for_status()
    for key, items in catalogues().get(name, {}).items():
        httpx.post(f"{admin}/{key}", json={key: items}, timeout=10).raise_for_status()
    return name


def connect(cluster: SimCluster, system: str, **env: str) -> Connector:
    """A connector whose rate-limit waits pass on a manual clock (a 429's Retry-After costs no time)."""
    settings = load_settings({**cluster.environment(), **env}).system(system)
    limiter = RateLimiter(system, clock=ManualClock())
    client = HttpClient(settings, limiter=limiter, retry=RetryPolicy.without_backoff())
    return connector_class(system)(settings, client=client, options=ConnectorOptions())


def person(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "email": f"person{i}@contract.example",
        "street": f"{i} Main St",
        "city": "Austin",
        "region": "TX",
        "postal_code": "78701",
        "country": "US",
        "contact_type": "client",
        "tags": ["vip"],
        **extra,
    }


def create(connector: Connector, values: list[dict[str, Any]]) -> list[str]:
    ops = [WriteOp(f"op{i}", connector.system, "create", values=v) for i, v in enumerate(values)]
    results = connector.push(ops)
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    return [r.record.remote_id for r in results if r.record]


def journal(cluster: SimCluster, system: str) -> list[dict[str, Any]]:
    return httpx.get(cluster[system].admin_url + "/journal", timeout=10).json()["entries"]


def test_a_full_pull_pages_to_the_end_and_yields_each_record_once(cluster: SimCluster, system: str) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    n = PAGE[system] + 7
    create(connector, [person(i) for i in range(n)])

    ids = [r.remote_id for r in connector.pull(None, full=True)]

    assert len(ids) == n == len(set(ids))


def test_an_incremental_pull_keeps_records_at_the_cursor_and_looks_back_by_the_overlap(
    cluster: SimCluster, system: str
) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    [old] = create(connector, [person(1)])
    cluster[system].sim.state.clock.advance(3600)
    [new] = create(connector, [person(2)])
    record = connector.get(new)
    assert record.updated_at is not None and record.updated_at.tzinfo is not None

    since = record.updated_at  # a cursor equal to the newest record's time keeps that record
    found = {r.remote_id for r in connector.pull(since)}

    assert new in found
    assert old not in found or system == "corporatemerch"  # CM has no filter: a full scan every time


def test_records_come_back_as_the_canonical_values_written(cluster: SimCluster, system: str) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    values = person(3, title="Engineer", phone="+15125550147")
    [remote_id] = create(connector, [values])

    canonical = connector.to_canonical(connector.get(remote_id)).values

    for name in ("first_name", "last_name", "email", "phone", "tags"):
        assert canonical.get(name) == values[name], name


def test_an_update_sends_only_what_the_api_needs(cluster: SimCluster, system: str) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    [remote_id] = create(connector, [person(4)])
    expected = connector.get(remote_id)
    httpx.delete(cluster[system].admin_url + "/journal", timeout=10)
    op = WriteOp(
        "u1", system, "update", remote_id=remote_id, values={"last_name": "Changed"}, expected=expected
    )

    [result] = connector.push([op])

    assert result.ok, result.error
    writes = [e for e in journal(cluster, system) if e["method"] in ("PUT", "PATCH")]
    assert len(writes) == 1
    body = writes[0]["body"]
    if system == "corporatemerch":  # replace semantics: the whole record, required fields included
        assert {"first_name", "email", "country", "city", "state", "zip_code", "type"} <= set(body)
    else:  # partial semantics: the changed field only
        assert len(body) <= 2, body
    assert connector.to_canonical(connector.get(remote_id)).values["last_name"] == "Changed"


def test_describe_shows_the_calls_push_then_makes(cluster: SimCluster, system: str) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    op = WriteOp("c1", system, "create", values=person(5))

    described = connector.describe([op])
    connector.push([op])

    sent = [e for e in journal(cluster, system) if e["method"] == described[-1].method]
    assert sent and sent[-1]["path"].endswith(described[-1].path)


def test_a_429_is_waited_out_and_retried(cluster: SimCluster, system: str) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    create(connector, [person(6)])
    httpx.put(cluster[system].admin_url + "/faults", json={"burst_429": 1}, timeout=10).raise_for_status()

    assert len(list(connector.pull(None, full=True))) == 1


def test_refused_credentials_stop_the_system(cluster: SimCluster, system: str) -> None:
    variable = {
        "apollo": "APOLLO_API_KEY",
        "leadconnector": "LEADCONNECTOR_TOKEN",
        "corporatemerch": "CORPORATEMERCH_TOKEN",
    }[system]
    connector = connect(cluster, system, **{variable: "wrong-credential-1234"})

    with pytest.raises(AuthError) as caught:
        connector.check()
    assert "wrong-credential-1234" not in str(caught.value)


def test_a_missing_record_is_a_record_error_not_a_stop(cluster: SimCluster, system: str) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    [remote_id] = create(connector, [person(7)])
    httpx.delete(f"{cluster[system].admin_url}/contacts/{remote_id}", timeout=10).raise_for_status()
    op = WriteOp("u2", system, "update", remote_id=remote_id, values={"last_name": "Gone"})

    [result] = connector.push([op])

    assert not result.ok and result.error is not None


# A value each system cannot take (apis.md: Apollo stages are ids of the team's catalogue,
# LeadConnector's country list lacks SS, CorporateMerch labels are ids of its catalogue) beside
# changes it can take.
UNWRITABLE: dict[str, tuple[str, dict[str, Any], dict[str, frozenset[str]]]] = {
    "apollo": ("stage", {"stage": "No Such Stage"}, {}),
    "leadconnector": ("country", {"country": "SS"}, {}),
    "corporatemerch": ("tags", {}, {"tags": frozenset({"swag-2031"})}),
}


def test_a_field_the_system_cannot_take_is_left_out_and_the_others_are_written(
    cluster: SimCluster, system: str
) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    [remote_id] = create(connector, [person(8)])
    field, values, add = UNWRITABLE[system]
    op = WriteOp(
        "u3", system, "update", remote_id=remote_id, values={"company": "Merch Co", **values}, add=add,
        expected=connector.get(remote_id),
    )  # fmt: skip

    assert connector.refusal(op) is None
    assert [e.field for e in connector.left_out(op)] == [field]
    [result] = connector.push([op])

    assert result.ok and result.error is None
    [left] = result.left_out
    assert (left.system, left.remote_id, left.field) == (system, remote_id, field)
    assert repr(values.get(field) or "swag-2031") in str(left)
    now = connector.to_canonical(connector.get(remote_id)).values
    assert now["company"] == "Merch Co" and now.get("tags") == ["vip"]


def test_a_create_leaves_out_a_field_the_system_cannot_take(cluster: SimCluster, system: str) -> None:
    connector = connect(cluster, system)
    connector.load_catalogue()
    field, values, add = UNWRITABLE[system]
    op = WriteOp("c2", system, "create", values=person(9, company="Merch Co", **values), add=add)

    [result] = connector.push([op])

    assert result.ok and result.record is not None
    [left] = result.left_out
    assert (left.system, left.remote_id, left.field) == (system, result.record.remote_id, field)
    now = connector.to_canonical(connector.get(result.record.remote_id)).values
    assert now["company"] == "Merch Co" and now["email"] == "person9@contract.example"


def test_a_full_pull_reaches_past_leadconnectors_10000_record_window(cluster: SimCluster) -> None:
    admin = cluster["leadconnector"].admin_url
    httpx.post(admin + "/reset", timeout=10).raise_for_status()
    for key, items in catalogues()["leadconnector"].items():
        httpx.post(f"{admin}/{key}", json={key: items}, timeout=10).raise_for_status()
    records = generate(10_500, overlap=0.0, seed=3, systems=("leadconnector",))["leadconnector"]
    cluster["leadconnector"].sim.seed_contacts(records)
    connector = connect(cluster, "leadconnector")
    connector.load_catalogue()

    ids = [r.remote_id for r in connector.pull(None, full=True)]

    assert len(ids) == 10_500 == len(set(ids))
