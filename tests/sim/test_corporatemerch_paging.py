"""Contract tests of ``GET /contacts`` in the CorporateMerch simulator: ``page``/``limit`` with the
``pagination`` object, newest-first order and the 422 for bad parameters (apis.md 3.3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.corporatemerch.simulator import CorporateMerchSim

TOKEN = "sim-cm-token-paging"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[CorporateMerchSim, httpx.Client]]:
    sim = CorporateMerchSim(token=TOKEN)
    thread = ServerThread(sim.app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with thread, httpx.Client(base_url=thread.url, headers=headers, timeout=5) as client:
        yield sim, client


@pytest.fixture
def cm(server: tuple[CorporateMerchSim, httpx.Client]) -> httpx.Client:
    client = server[1]
    client.post("/__admin/reset").raise_for_status()
    client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    return client


def person(n: int, created_at: str | None = None) -> dict[str, Any]:
    record = {
        "id": None,
        "type": "employee",
        "first_name": f"P{n}",
        "last_name": "Doe",
        "email": f"p{n}@example.com",
        "country": "CA",
        "address": f"{n} King St",
        "city": "Toronto",
        "state": "ON",
        "zip_code": "M5H 2N2",
    }
    if created_at:
        record["created_at"] = created_at
    return record


def seed(cm: httpx.Client, count: int) -> list[dict[str, Any]]:
    stamps = [f"2024-01-{1 + n % 28:02d}T10:00:00.000Z" for n in range(count)]
    records = [person(n, stamps[n]) for n in range(count)]
    response = cm.post("/__admin/contacts", json={"contacts": records})
    response.raise_for_status()
    return response.json()["contacts"]


def read_all(cm: httpx.Client, limit: int) -> tuple[list[int], list[dict[str, Any]]]:
    ids: list[int] = []
    pages: list[dict[str, Any]] = []
    page = 1
    while True:
        body = cm.get("/v2/contacts", params={"page": page, "limit": limit}).json()
        ids += [c["id"] for c in body["data"]]
        pages.append(body["pagination"])
        if not body["pagination"]["has_more"]:
            return ids, pages
        page += 1


def test_paging_to_the_end_returns_every_contact_once(cm: httpx.Client) -> None:
    seed(cm, 23)
    ids, pages = read_all(cm, limit=5)
    assert sorted(ids) == list(range(1, 24))
    assert [p["current_page"] for p in pages] == [1, 2, 3, 4, 5]


def test_pagination_reports_total_limit_and_last_page(cm: httpx.Client) -> None:
    seed(cm, 23)
    pagination = cm.get("/v2/contacts", params={"page": 2, "limit": 5}).json()["pagination"]
    assert pagination == {
        "path": str(cm.base_url.join("/v2/contacts")),
        "total": 23,
        "limit": 5,
        "current_page": 2,
        "last_page": 5,
        "has_more": True,
    }


def test_the_last_page_has_the_rest_and_no_more(cm: httpx.Client) -> None:
    seed(cm, 23)
    body = cm.get("/v2/contacts", params={"page": 5, "limit": 5}).json()
    assert (len(body["data"]), body["pagination"]["has_more"]) == (3, False)


def test_the_default_limit_is_15(cm: httpx.Client) -> None:
    seed(cm, 16)
    body = cm.get("/v2/contacts").json()
    assert (len(body["data"]), body["pagination"]["limit"], body["pagination"]["last_page"]) == (15, 15, 2)


def test_the_limit_may_be_50(cm: httpx.Client) -> None:
    seed(cm, 51)
    body = cm.get("/v2/contacts", params={"limit": 50}).json()
    assert (len(body["data"]), body["pagination"]["has_more"]) == (50, True)


def test_a_page_past_the_end_is_empty(cm: httpx.Client) -> None:
    seed(cm, 3)
    body = cm.get("/v2/contacts", params={"page": 9}).json()
    assert body["data"] == []
    assert (body["pagination"]["total"], body["pagination"]["has_more"]) == (3, False)


def test_no_contacts_is_one_empty_page(cm: httpx.Client) -> None:
    pagination = cm.get("/v2/contacts").json()["pagination"]
    assert (pagination["total"], pagination["last_page"], pagination["has_more"]) == (0, 1, False)


def test_the_path_leaves_out_the_page_parameters(cm: httpx.Client) -> None:
    path = cm.get("/v1/contacts", params={"page": 1, "limit": 2}).json()["pagination"]["path"]
    assert path.endswith("/v1/contacts")


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"limit": 51}, {"limit": ["The limit field must not be greater than 50."]}),
        ({"limit": 0}, {"limit": ["The limit field must be at least 1."]}),
        ({"limit": "ten"}, {"limit": ["The limit field must be an integer."]}),
        ({"page": "two"}, {"page": ["The page field must be an integer."]}),
        ({"page": 0}, {"page": ["The page field must be at least 1."]}),
    ],
)
def test_bad_page_parameters_are_422(cm: httpx.Client, params: dict[str, Any], errors: Any) -> None:
    response = cm.get("/v2/contacts", params=params)
    assert response.status_code == 422
    assert response.json() == {"message": next(iter(errors.values()))[0], "errors": errors}


def test_newest_created_comes_first(cm: httpx.Client) -> None:
    cm.post("/__admin/contacts", json={"contacts": [
        person(1, "2024-03-01T00:00:00.000Z"), person(2, "2024-05-01T00:00:00.000Z"),
        person(3, "2024-04-01T00:00:00.000Z"),
    ]})  # fmt: skip
    names = [c["first_name"] for c in cm.get("/v2/contacts").json()["data"]]
    assert names == ["P2", "P3", "P1"]


def test_equal_creation_times_put_the_higher_id_first(cm: httpx.Client) -> None:
    stamp = "2024-03-01T00:00:00.000Z"
    cm.post("/__admin/contacts", json={"contacts": [person(n, stamp) for n in range(3)]})
    assert [c["id"] for c in cm.get("/v2/contacts").json()["data"]] == [3, 2, 1]


def test_an_update_does_not_move_a_contact_in_the_order(cm: httpx.Client) -> None:
    seeded = seed(cm, 3)
    oldest = min(seeded, key=lambda c: c["created_at"])
    body = {k: v for k, v in oldest.items() if k not in ("id", "created_at", "updated_at")}
    cm.put(f"/v2/contacts/{oldest['id']}", json={**body, "first_name": "Moved"}).raise_for_status()
    assert cm.get("/v2/contacts").json()["data"][-1]["first_name"] == "Moved"


def test_a_contact_created_over_the_api_is_first(cm: httpx.Client) -> None:
    seed(cm, 3)
    created = cm.post("/v2/contacts", json=person(9)).json()["data"]
    assert cm.get("/v2/contacts").json()["data"][0]["id"] == created["id"]
