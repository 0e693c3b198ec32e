"""``POST /contacts/search`` of the Apollo simulator: filters, sorting, pages and caps, per the docs
(apis.md 1.3, seed 001) and over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread

API_KEY = "sim-apollo-key-search"
SEARCH = "/api/v1/contacts/search"
NEW, APPROACHING, REPLIED = "6095a710bd01d100a506d4ae", "6095a710bd01d100a506d4af", "6095a710bd01d100a506d4b0"


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    sim = ApolloSim(api_key=API_KEY, seed=12)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers={"x-api-key": API_KEY}, timeout=10) as client:
        yield client


@pytest.fixture
def apollo(server: httpx.Client) -> httpx.Client:
    server.post("/__admin/reset").raise_for_status()
    server.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    return server


def seed(client: httpx.Client, *contacts: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/__admin/contacts", json={"contacts": list(contacts)})
    assert response.status_code == 200, response.text
    return response.json()["contacts"]


def seed_many(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    stamps = (f"2024-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z" for i in range(count))
    return seed(client, *({"first_name": f"P{i:04d}", "created_at": at} for i, at in enumerate(stamps)))


def search(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def names(body: dict[str, Any]) -> list[str]:
    return [c["first_name"] for c in body["contacts"]]


def test_response_has_the_documented_envelope(apollo: httpx.Client) -> None:
    seed(apollo, {"first_name": "A"})
    body = search(apollo)
    assert list(body) == [
        "contacts",
        "breadcrumbs",
        "partial_results_only",
        "has_join",
        "disable_eu_prospecting",
        "partial_results_limit",
        "pagination",
        "num_fetch_result",
    ]
    assert body["partial_results_limit"] == 10000
    assert body["pagination"] == {"page": 1, "per_page": 25, "total_entries": 1, "total_pages": 1}


def test_search_items_embed_account_and_organization(apollo: httpx.Client) -> None:
    seed(apollo, {"first_name": "A", "organization_name": "Apollo.io"})
    [item] = search(apollo)["contacts"]
    assert item["account"]["id"] == item["account_id"] and item["account"]["name"] == "Apollo.io"
    assert item["organization"]["id"] == item["organization_id"]
    assert "contact_job_change_event" in item


def test_sort_by_updated_at_is_newest_first_by_default(apollo: httpx.Client) -> None:
    seed(
        apollo,
        {"first_name": "old", "updated_at": "2024-01-01T00:00:00.000Z"},
        {"first_name": "new", "updated_at": "2024-03-01T00:00:00.000Z"},
        {"first_name": "mid", "updated_at": "2024-02-01T00:00:00.000Z"},
    )
    assert names(search(apollo, sort_by_field="contact_updated_at")) == ["new", "mid", "old"]


def test_sort_ascending_reverses_the_order(apollo: httpx.Client) -> None:
    seed(
        apollo,
        {"first_name": "old", "updated_at": "2024-01-01T00:00:00.000Z"},
        {"first_name": "new", "updated_at": "2024-03-01T00:00:00.000Z"},
    )
    assert names(search(apollo, sort_by_field="contact_updated_at", sort_ascending=True)) == ["old", "new"]


def test_sort_by_created_at(apollo: httpx.Client) -> None:
    seed(
        apollo,
        {
            "first_name": "second",
            "created_at": "2024-02-01T00:00:00.000Z",
            "updated_at": "2024-02-01T00:00:00.000Z",
        },
        {
            "first_name": "first",
            "created_at": "2024-01-01T00:00:00.000Z",
            "updated_at": "2024-05-01T00:00:00.000Z",
        },
    )
    assert names(search(apollo, sort_by_field="contact_created_at", sort_ascending=True)) == [
        "first",
        "second",
    ]


def test_sort_ascending_alone_applies_no_sorting(apollo: httpx.Client) -> None:
    seed(
        apollo,
        {"first_name": "old", "created_at": "2024-01-01T00:00:00.000Z"},
        {"first_name": "new", "created_at": "2024-03-01T00:00:00.000Z"},
    )
    assert names(search(apollo, sort_ascending=True)) == names(search(apollo))


@pytest.mark.parametrize(
    "field", ["contact_last_activity_date", "contact_email_last_opened_at", "contact_email_last_clicked_at"]
)
def test_other_documented_sort_fields_are_accepted(apollo: httpx.Client, field: str) -> None:
    seed(
        apollo,
        {"first_name": "quiet"},
        {"first_name": "active", "last_activity_date": "2018-06-26T16:30:35.000+00:00"},
    )
    body = search(apollo, sort_by_field=field)
    assert body["pagination"]["total_entries"] == 2
    if field == "contact_last_activity_date":
        assert names(body) == ["active", "quiet"]


def test_equal_sort_values_are_ordered_by_id(apollo: httpx.Client) -> None:
    stamp = "2024-01-01T00:00:00.000Z"
    stored = seed(apollo, *({"first_name": f"n{i}", "updated_at": stamp} for i in range(5)))
    body = search(apollo, sort_by_field="contact_updated_at")
    assert [c["id"] for c in body["contacts"]] == sorted(c["id"] for c in stored)


def test_pages_are_one_based_and_walk_to_the_end(apollo: httpx.Client) -> None:
    stored = seed_many(apollo, 7)
    seen: list[str] = []
    for page in (1, 2, 3):
        body = search(apollo, page=page, per_page=3, sort_by_field="contact_created_at", sort_ascending=True)
        assert body["pagination"] == {"page": page, "per_page": 3, "total_entries": 7, "total_pages": 3}
        seen += [c["id"] for c in body["contacts"]]
    assert seen == [c["id"] for c in stored]
    assert search(apollo, page=4, per_page=3)["contacts"] == []


def test_per_page_is_capped_at_100(apollo: httpx.Client) -> None:
    seed_many(apollo, 120)
    body = search(apollo, per_page=200)
    assert len(body["contacts"]) == 100 and body["pagination"]["per_page"] == 100
    assert body["pagination"]["total_pages"] == 2


def test_pages_beyond_500_come_back_empty_by_default(apollo: httpx.Client) -> None:
    seed_many(apollo, 3)
    body = search(apollo, page=501, per_page=1)
    assert body["contacts"] == [] and body["pagination"]["page"] == 501


def test_total_pages_never_exceed_500(apollo: httpx.Client) -> None:
    seed_many(apollo, 502)
    assert search(apollo, page=500, per_page=1)["pagination"]["total_pages"] == 500


def test_pages_beyond_500_are_refused_when_switched(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"page_cap": "refuse"}).raise_for_status()
    response = apollo.post(SEARCH, json={"page": 501})
    assert response.status_code == 422 and "500" in response.json()["error"]


def test_keywords_match_name_title_company_and_email(apollo: httpx.Client) -> None:
    seed(
        apollo,
        {"first_name": "Matthew", "last_name": "Helm", "title": "CEO"},
        {"first_name": "Ann", "organization_name": "Sumware Software"},
        {"first_name": "Bob", "email": "bob@helm.io"},
        {"first_name": "Zed"},
    )
    assert sorted(names(search(apollo, q_keywords="helm"))) == ["Bob", "Matthew"]
    assert names(search(apollo, q_keywords="Sumware Software")) == ["Ann"]
    assert names(search(apollo, q_keywords="matthew helm"))[0] == "Matthew"


def test_keywords_show_up_in_breadcrumbs(apollo: httpx.Client) -> None:
    body = search(apollo, q_keywords="Apollo.io")
    assert body["breadcrumbs"] == [
        {
            "label": "Contains Keywords",
            "signal_field_name": "q_keywords",
            "value": "Apollo.io",
            "display_name": "Apollo.io",
        }
    ]


def test_stage_filter_matches_any_given_stage(apollo: httpx.Client) -> None:
    seed(
        apollo,
        {"first_name": "new", "contact_stage_id": NEW},
        {"first_name": "app", "contact_stage_id": APPROACHING},
        {"first_name": "rep", "contact_stage_id": REPLIED},
    )
    assert sorted(names(search(apollo, contact_stage_ids=[NEW, REPLIED]))) == ["new", "rep"]


def test_label_filter_matches_any_given_list(apollo: httpx.Client) -> None:
    seed(
        apollo,
        {"first_name": "a", "label_names": ["A"]},
        {"first_name": "b", "label_names": ["B"]},
        {"first_name": "ab", "label_names": ["A", "B"]},
        {"first_name": "none"},
    )
    label_a = next(label["id"] for label in apollo.get("/api/v1/labels").json() if label["name"] == "A")
    assert sorted(names(search(apollo, contact_label_ids=[label_a]))) == ["a", "ab"]


def test_deleted_contacts_are_not_found(apollo: httpx.Client) -> None:
    _kept, gone = seed(apollo, {"first_name": "kept"}, {"first_name": "gone"})
    apollo.delete(f"/__admin/contacts/{gone['id']}").raise_for_status()
    assert names(search(apollo)) == ["kept"]


def test_there_is_no_updated_at_filter(apollo: httpx.Client) -> None:
    seed(apollo, {"first_name": "old", "updated_at": "2020-01-01T00:00:00.000Z"})
    body = search(
        apollo, updated_at={"gte": "2024-01-01T00:00:00.000Z"}, contact_updated_at_range={"min": "2024"}
    )
    assert names(body) == ["old"]


def test_an_edit_moves_the_contact_to_the_top_of_the_updated_sort(apollo: httpx.Client) -> None:
    first, _second = seed(
        apollo,
        {"first_name": "first", "updated_at": "2024-01-01T00:00:00.000Z"},
        {"first_name": "second", "updated_at": "2024-02-01T00:00:00.000Z"},
    )
    apollo.patch(f"/api/v1/contacts/{first['id']}", json={"title": "moved"}).raise_for_status()
    assert names(search(apollo, sort_by_field="contact_updated_at")) == ["first", "second"]
