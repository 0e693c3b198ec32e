"""Contract tests of the LeadConnector simulator's ``POST /contacts/search``: required fields and
caps, ``page`` and ``searchAfter`` paging, filters, sorting and the lagging index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread, iso_ms
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

LOCATION = "SimLocation000000001"
TOKEN = "sim-lc-token-search"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Version": "2021-07-28"}
BASE_AT = datetime(2024, 10, 23, 0, 1, 51, 634000, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LeadConnectorSim, httpx.Client]]:
    sim = LeadConnectorSim(token=TOKEN, location_id=LOCATION, seed=9)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers=HEADERS, timeout=10) as client:
        yield sim, client


@pytest.fixture
def sim(server: tuple[LeadConnectorSim, httpx.Client]) -> LeadConnectorSim:
    return server[0]


@pytest.fixture
def lc(server: tuple[LeadConnectorSim, httpx.Client]) -> httpx.Client:
    client = server[1]
    client.post("/__admin/reset").raise_for_status()
    client.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    return client


def at(minutes: int) -> str:
    return iso_ms(BASE_AT + timedelta(minutes=minutes))


@pytest.fixture
def people(lc: httpx.Client, sim: LeadConnectorSim) -> list[dict[str, Any]]:
    """Five contacts added one minute apart, updated in the reverse order."""
    rows = [
        {"firstName": "Ada", "lastName": "Lovelace", "email": "Ada@Example.com", "companyName": "Engines",
         "tags": ["vip"], "phone": "+14155550100", "address1": "1 St James's Sq",
         "dateOfBirth": "1815-12-10"},
        {"firstName": "Bob", "lastName": "Babbage", "email": "bob@example.com", "tags": ["vip", "lead"]},
        {"firstName": "Cy", "lastName": "Young", "email": "cy@sample.org", "companyName": "Mound"},
        {"firstName": "Dee", "lastName": "Adams", "tags": ["lead"]},
        {"firstName": "Eve", "lastName": "Adamson", "email": "eve@sample.org"},
    ]  # fmt: skip
    for i, row in enumerate(rows):
        row["dateAdded"] = at(i)
        row["dateUpdated"] = at(100 - i)
    return sim.seed_contacts(rows)


def search(lc: httpx.Client, **body: Any) -> httpx.Response:
    return lc.post("/contacts/search", json={"locationId": LOCATION, "pageLimit": 100, **body})


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["firstName"] for c in response.json()["contacts"]]


# ---------------------------------------------------------------------------- request checks


def test_search_needs_location_id_and_page_limit(lc: httpx.Client) -> None:
    response = lc.post("/contacts/search", json={})
    assert response.status_code == 422
    messages = response.json()["message"]
    assert "locationId should not be empty" in messages
    assert "pageLimit must be a number conforming to the specified constraints" in messages


def test_page_limit_above_500_is_refused(lc: httpx.Client) -> None:
    response = search(lc, pageLimit=501)
    assert response.status_code == 422
    assert response.json()["message"] == ["pageLimit must not be greater than 500"]


def test_a_query_longer_than_75_characters_is_refused(lc: httpx.Client) -> None:
    assert search(lc, query="x" * 76).status_code == 422


def test_search_of_another_location_is_forbidden(lc: httpx.Client) -> None:
    response = lc.post("/contacts/search", json={"locationId": "AnotherLocation00001", "pageLimit": 1})
    assert response.status_code == 403


def test_the_answer_has_contacts_total_and_trace_id(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    body = search(lc, pageLimit=2).json()
    assert set(body) == {"contacts", "total", "traceId"}
    assert body["total"] == 5
    assert len(body["contacts"]) == 2


def test_search_hits_have_the_index_shape(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    [hit] = search(lc, filters=[{"field": "firstName", "operator": "eq", "value": "Ada"}]).json()["contacts"]
    assert hit["address"] == "1 St James's Sq"
    assert "address1" not in hit
    assert hit["dateOfBirth"] == int(datetime(1815, 12, 10, tzinfo=UTC).timestamp() * 1000)
    assert hit["additionalEmails"] == []
    assert hit["contactName"] == "ada lovelace"
    assert hit["businessName"] == "Engines"
    assert hit["lastNameLowerCase"] == "lovelace"


def test_each_hit_carries_its_sort_value_in_ms_and_id(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    hit = search(lc).json()["contacts"][0]
    added_ms = int(datetime.fromisoformat(hit["dateAdded"].replace("Z", "+00:00")).timestamp() * 1000)
    assert hit["searchAfter"] == [added_ms, hit["id"]]


def test_the_default_order_is_newest_added_first(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    assert names(search(lc)) == ["Eve", "Dee", "Cy", "Bob", "Ada"]


def test_deleted_contacts_are_not_found(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    lc.delete(f"/contacts/{people[0]['id']}").raise_for_status()
    assert "Ada" not in names(search(lc))


# ---------------------------------------------------------------------------- paging


def test_page_paging_reaches_the_end(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    pages = [names(search(lc, pageLimit=2, page=n)) for n in (1, 2, 3, 4)]
    assert pages == [["Eve", "Dee"], ["Cy", "Bob"], ["Ada"], []]


def test_page_paging_stops_at_10000_records(lc: httpx.Client) -> None:
    assert search(lc, pageLimit=500, page=20).status_code == 200
    response = search(lc, pageLimit=500, page=21)
    assert response.status_code == 400
    assert "searchAfter" in response.json()["message"]


def test_page_and_search_after_cannot_be_combined(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    response = search(lc, page=1, searchAfter=[0, "x"])
    assert response.status_code == 422
    assert "page and searchAfter cannot be used together" in response.json()["message"]


def test_a_search_after_of_the_wrong_shape_is_refused(lc: httpx.Client) -> None:
    assert search(lc, searchAfter=["yesterday"]).status_code == 422


def test_search_after_continues_after_the_given_hit(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    first = search(lc, pageLimit=2).json()["contacts"]
    assert names(search(lc, pageLimit=2, searchAfter=first[-1]["searchAfter"])) == ["Cy", "Bob"]


def test_search_after_pages_past_10000_records(lc: httpx.Client, sim: LeadConnectorSim) -> None:
    sim.seed_contacts([{"firstName": f"P{i}", "dateAdded": at(i // 3)} for i in range(10_050)])
    seen: list[str] = []
    after: list[Any] | None = None
    while True:
        body = search(lc, pageLimit=500, **({"searchAfter": after} if after else {})).json()
        if not body["contacts"]:
            break
        seen += [c["id"] for c in body["contacts"]]
        after = body["contacts"][-1]["searchAfter"]
    assert len(seen) == 10_050
    assert len(set(seen)) == 10_050


# ---------------------------------------------------------------------------- sorting


def test_sort_by_date_updated_ascending(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    response = search(lc, sort=[{"field": "dateUpdated", "direction": "asc"}])
    assert names(response) == ["Eve", "Dee", "Cy", "Bob", "Ada"]


def test_sort_by_date_added_ascending(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    assert names(search(lc, sort=[{"field": "dateAdded", "direction": "asc"}])) == [
        "Ada",
        "Bob",
        "Cy",
        "Dee",
        "Eve",
    ]


def test_equal_sort_values_are_ordered_by_id(lc: httpx.Client, sim: LeadConnectorSim) -> None:
    sim.seed_contacts([{"firstName": f"T{i}", "dateAdded": at(0), "dateUpdated": at(5)} for i in range(6)])
    for direction in ("asc", "desc"):
        hits = search(lc, sort=[{"field": "dateUpdated", "direction": direction}]).json()["contacts"]
        ids = [h["id"] for h in hits]
        assert ids == sorted(ids)


def test_sorting_by_an_unsupported_field_is_refused(lc: httpx.Client) -> None:
    assert search(lc, sort=[{"field": "email", "direction": "asc"}]).status_code == 422


# ---------------------------------------------------------------------------- filters


@pytest.mark.parametrize("bound", [at(98), int((BASE_AT + timedelta(minutes=98)).timestamp() * 1000)])
def test_range_on_date_updated_takes_iso_or_epoch_ms(
    lc: httpx.Client, people: list[dict[str, Any]], bound: str | int
) -> None:
    response = search(lc, filters=[{"field": "dateUpdated", "operator": "range", "value": {"gt": bound}}])
    assert sorted(names(response)) == ["Ada", "Bob"]


def test_range_with_gte_and_lt_on_date_added(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    value = {"gte": at(1), "lt": at(3)}
    response = search(lc, filters=[{"field": "dateAdded", "operator": "range", "value": value}])
    assert sorted(names(response)) == ["Bob", "Cy"]


def test_eq_on_email_ignores_case(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    assert names(search(lc, filters=[{"field": "email", "operator": "eq", "value": "ada@example.COM"}])) == [
        "Ada"
    ]


def test_not_eq_on_last_name(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    response = search(lc, filters=[{"field": "lastName", "operator": "not_eq", "value": "Adams"}])
    assert sorted(names(response)) == ["Ada", "Bob", "Cy", "Eve"]


def test_eq_on_tags_finds_contacts_with_the_tag(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    assert sorted(names(search(lc, filters=[{"field": "tags", "operator": "eq", "value": "lead"}]))) == [
        "Bob",
        "Dee",
    ]


def test_contains_on_last_name(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    response = search(lc, filters=[{"field": "lastName", "operator": "contains", "value": "adam"}])
    assert sorted(names(response)) == ["Dee", "Eve"]


def test_not_contains_on_email(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    response = search(lc, filters=[{"field": "email", "operator": "not_contains", "value": "sample"}])
    assert sorted(names(response)) == ["Ada", "Bob", "Dee"]


def test_exists_on_company_name(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    response = search(lc, filters=[{"field": "companyName", "operator": "exists"}])
    assert sorted(names(response)) == ["Ada", "Cy"]


def test_not_exists_on_email(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    assert names(search(lc, filters=[{"field": "email", "operator": "not_exists"}])) == ["Dee"]


def test_eq_on_phone_reads_a_national_number(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    assert names(search(lc, filters=[{"field": "phone", "operator": "eq", "value": "(415) 555-0100"}])) == [
        "Ada"
    ]


def test_top_level_filters_are_anded(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    filters = [
        {"field": "tags", "operator": "eq", "value": "vip"},
        {"field": "companyName", "operator": "exists"},
    ]
    assert names(search(lc, filters=filters)) == ["Ada"]


def test_an_or_group_matches_either_filter(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    group = {
        "group": "OR",
        "filters": [
            {"field": "firstName", "operator": "eq", "value": "cy"},
            {"field": "companyName", "operator": "eq", "value": "engines"},
        ],
    }
    assert sorted(names(search(lc, filters=[group]))) == ["Ada", "Cy"]


def test_an_unknown_filter_field_is_refused(lc: httpx.Client) -> None:
    assert search(lc, filters=[{"field": "shoeSize", "operator": "eq", "value": "9"}]).status_code == 422


def test_an_unknown_operator_is_refused(lc: httpx.Client) -> None:
    assert search(lc, filters=[{"field": "dateAdded", "operator": "lt", "value": at(1)}]).status_code == 422


def test_a_filter_value_longer_than_75_characters_is_refused(lc: httpx.Client) -> None:
    assert search(lc, filters=[{"field": "email", "operator": "eq", "value": "a" * 76}]).status_code == 422


def test_the_full_text_query_matches_names_and_emails(lc: httpx.Client, people: list[dict[str, Any]]) -> None:
    assert sorted(names(search(lc, query="sample"))) == ["Cy", "Eve"]


# ---------------------------------------------------------------------------- index lag


def test_with_index_lag_a_new_contact_appears_late(lc: httpx.Client) -> None:
    lc.put("/__admin/settings", json={"search_lag_seconds": 5}).raise_for_status()
    lc.post("/contacts/", json={"locationId": LOCATION, "firstName": "Fay"}).raise_for_status()
    assert names(search(lc)) == []
    lc.post("/__admin/clock", json={"advance": 5})
    assert names(search(lc)) == ["Fay"]


def test_with_index_lag_search_shows_the_old_version_of_an_update(lc: httpx.Client) -> None:
    lc.put("/__admin/settings", json={"search_lag_seconds": 5}).raise_for_status()
    contact = lc.post("/contacts/", json={"locationId": LOCATION, "firstName": "Fay"}).json()["contact"]
    lc.post("/__admin/clock", json={"advance": 10})
    lc.put(f"/contacts/{contact['id']}", json={"firstName": "Faye"}).raise_for_status()
    assert names(search(lc)) == ["Fay"]
    assert lc.get(f"/contacts/{contact['id']}").json()["contact"]["firstName"] == "Faye"
    lc.post("/__admin/clock", json={"advance": 5})
    assert names(search(lc)) == ["Faye"]


# ---------------------------------------------------------------------------- deprecated list


def test_the_deprecated_list_pages_to_the_end_with_its_cursor(
    lc: httpx.Client, people: list[dict[str, Any]]
) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"locationId": LOCATION, "limit": 2}
    while True:
        body = lc.get("/contacts/", params=params).json()
        seen += [c["firstName"] for c in body["contacts"]]
        if not body["meta"]["nextPageUrl"]:
            break
        params.update(startAfter=body["meta"]["startAfter"], startAfterId=body["meta"]["startAfterId"])
    assert seen == ["Ada", "Bob", "Cy", "Dee", "Eve"]


def test_the_deprecated_list_caps_the_limit_at_100(lc: httpx.Client) -> None:
    response = lc.get("/contacts/", params={"locationId": LOCATION, "limit": 101})
    assert response.status_code == 422
