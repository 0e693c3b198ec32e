"""Reading records by id, as a targeted sync does: each connector against its simulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from syncengine.connectors.base import Connector
from syncengine.connectors.registry import build_connectors
from syncengine.connectors.settings import load_settings
from syncengine.sim import drive
from syncengine.sim.runner import SimCluster

UNKNOWN = {"apollo": "0" * 24, "leadconnector": "Z" * 20, "corporatemerch": "999999"}


@pytest.fixture(scope="module")
def connectors() -> Iterator[tuple[SimCluster, dict[str, Connector]]]:
    with SimCluster(rate_limits=False, env={}, seed=9) as cluster:
        drive.seed_catalogues(cluster)
        drive.seed_people(cluster, 20, seed=9)
        built = build_connectors(load_settings(cluster.environment()), proactive_limits=False)
        yield cluster, built
        for connector in built.values():
            connector.close()


@pytest.mark.parametrize("system", ["apollo", "leadconnector", "corporatemerch"])
def test_fetch_many_reads_each_id_once_and_reports_the_ids_not_found(connectors, system: str) -> None:
    cluster, built = connectors
    connector = built[system]
    connector.load_catalogue()
    pulled = {r.remote_id: r for r in connector.pull(None, full=True)}
    wanted = sorted(pulled)[:3]
    admin = cluster[system].admin_url
    since = httpx.get(f"{admin}/journal").json()["last_seq"]
    found, missing = connector.fetch_many([wanted[0], UNKNOWN[system], *wanted, wanted[1]])
    assert [r.remote_id for r in found] == wanted
    assert [r.raw for r in found] == [pulled[i].raw for i in wanted]  # the same read shape as a pull
    assert missing == [UNKNOWN[system]]
    calls = [
        (e["method"], e["path"])
        for e in httpx.get(f"{admin}/journal", params={"since": since}).json()["entries"]
    ]
    assert len(calls) == 4 and all(method == "GET" for method, _ in calls)
