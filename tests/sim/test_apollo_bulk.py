"""Bulk endpoints and catalogues of the Apollo simulator, from the docs (apis.md 1.7-1.8, seed 001),
over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread

API_KEY = "sim-apollo-key-bulk"
V1 = "/api/v1"
REPLIED = "6095a710bd01d100a506d4b0"
DEFAULT_STAGE_NAMES = [
    "New",
    "Approaching",
    "Replied",
    "Interested",
    "Not Interested",
    "Unresponsive",
    "Do Not Contact",
    "Bad Data",
    "Changed Job",
]


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    sim = ApolloSim(api_key=API_KEY, seed=13)
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


def show(client: httpx.Client, contact_id: str) -> dict[str, Any]:
    return client.get(f"{V1}/contacts/{contact_id}").json()["contact"]


def post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    return client.post(f"{V1}{path}", json=body)


def add_user(client: httpx.Client) -> str:
    response = client.post(
        "/__admin/users", json={"users": [{"first_name": "Owner", "email": "o@sim.example"}]}
    )
    return response.json()["users"][0]["id"]


# --------------------------------------------------------------------------- bulk create


def test_bulk_create_answers_created_contacts_with_the_documented_keys(apollo: httpx.Client) -> None:
    body = post(
        apollo,
        "/contacts/bulk_create",
        {
            "contacts": [
                {
                    "first_name": "John",
                    "last_name": "Doe",
                    "email": "john.doe@example.com",
                    "organization_name": "Acme",
                },
                {"first_name": "Jane", "linkedin_url": "https://www.linkedin.com/in/jane"},
            ]
        },
    ).json()
    assert body["existing_contacts"] == []
    john, jane = body["created_contacts"]
    assert set(john) == {
        "id",
        "first_name",
        "last_name",
        "email",
        "title",
        "organization_name",
        "team_id",
        "owner_id",
        "contact_stage_id",
        "created_at",
        "updated_at",
    }
    assert jane["linkedin_url"] == "https://www.linkedin.com/in/jane"


def test_bulk_create_stores_per_item_phones_emails_and_titles(apollo: httpx.Client) -> None:
    body = post(
        apollo,
        "/contacts/bulk_create",
        {
            "contacts": [
                {
                    "first_name": "Michael",
                    "title": "Eng",
                    "primary_title": "CTO",
                    "contact_emails": [
                        {"email": "michael@example.com", "position": 0},
                        {"email": "mb@example.com", "position": 1},
                    ],
                    "phone_numbers": [
                        {"raw_number": "+1-555-0135", "position": 0},
                        {"raw_number": "+1-555-0122", "position": 1},
                    ],
                }
            ]
        },
    ).json()
    contact = show(apollo, body["created_contacts"][0]["id"])
    assert (contact["title"], contact["email"]) == ("CTO", "michael@example.com")
    assert [e["email"] for e in contact["contact_emails"]] == ["mb@example.com"]
    assert [n["raw_number"] for n in contact["phone_numbers"]] == ["+1-555-0135", "+1-555-0122"]


def test_bulk_create_appends_label_names_to_every_contact(apollo: httpx.Client) -> None:
    body = post(
        apollo,
        "/contacts/bulk_create",
        {"contacts": [{"first_name": "A"}, {"first_name": "B"}], "append_label_names": ["VIP", "Q1 2024"]},
    ).json()
    for item in body["created_contacts"]:
        assert len(show(apollo, item["id"])["label_ids"]) == 2


def test_bulk_create_without_run_dedupe_creates_duplicates(apollo: httpx.Client) -> None:
    [old] = seed(apollo, {"first_name": "Dup", "email": "dup@example.com"})
    body = post(apollo, "/contacts/bulk_create", {"contacts": [{"email": "dup@example.com"}]}).json()
    assert len(body["created_contacts"]) == 1 and body["created_contacts"][0]["id"] != old["id"]


def test_bulk_create_with_run_dedupe_returns_matches_unmodified(apollo: httpx.Client) -> None:
    [old] = seed(
        apollo, {"first_name": "Original", "email": "existing@example.com", "title": "Original Title"}
    )
    body = post(
        apollo,
        "/contacts/bulk_create",
        {
            "run_dedupe": True,
            "contacts": [{"email": "existing@example.com", "first_name": "New", "title": "New Title"}],
        },
    ).json()
    assert body["created_contacts"] == []
    assert [(c["id"], c["title"]) for c in body["existing_contacts"]] == [(old["id"], "Original Title")]
    assert show(apollo, old["id"])["first_name"] == "Original"


@pytest.mark.parametrize("run_dedupe", [False, True])
def test_bulk_create_merges_email_import_placeholders_into_existing_contacts(
    apollo: httpx.Client, run_dedupe: bool
) -> None:
    [placeholder] = seed(apollo, {"email": "lead@example.com", "source": "email_import"})
    body = post(
        apollo,
        "/contacts/bulk_create",
        {"run_dedupe": run_dedupe, "contacts": [{"email": "lead@example.com", "first_name": "Lee"}]},
    ).json()
    assert (body["created_contacts"], [c["id"] for c in body["existing_contacts"]]) == (
        [],
        [placeholder["id"]],
    )
    assert body["existing_contacts"][0]["first_name"] == "Lee"
    assert show(apollo, placeholder["id"])["first_name"] == "Lee"


def test_merged_placeholders_can_be_answered_in_created_contacts(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"bulk_create_placeholders": "created_contacts"}).raise_for_status()
    [placeholder] = seed(apollo, {"email": "lead@example.com", "source": "email_import"})
    body = post(
        apollo, "/contacts/bulk_create", {"contacts": [{"email": "lead@example.com", "first_name": "Lee"}]}
    ).json()
    assert ([c["id"] for c in body["created_contacts"]], body["existing_contacts"]) == (
        [placeholder["id"]],
        [],
    )


def test_bulk_create_refuses_more_than_100_contacts(apollo: httpx.Client) -> None:
    response = post(
        apollo, "/contacts/bulk_create", {"contacts": [{"first_name": f"n{i}"} for i in range(101)]}
    )
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Please limit your array to 100 contacts or fewer."},
    )


@pytest.mark.parametrize("body", [{}, {"contacts": "nope"}, {"contacts": []}])
def test_bulk_create_without_an_array_names_contact_attributes(
    apollo: httpx.Client, body: dict[str, Any]
) -> None:
    response = post(apollo, "/contacts/bulk_create", body)
    assert (response.status_code, response.json()) == (
        422,
        {"error": 'Please provide an array of contact attributes in the "contact_attributes" parameter.'},
    )


def test_bulk_create_with_owner_outside_the_team_is_422(apollo: httpx.Client) -> None:
    response = post(
        apollo,
        "/contacts/bulk_create",
        {"contacts": [{"first_name": "A"}], "owner_id": "507f1f77bcf86cd799439013"},
    )
    assert response.status_code == 422 and "507f1f77bcf86cd799439013" in response.json()["error"]


# --------------------------------------------------------------------------- bulk update


def test_bulk_update_with_contact_ids_applies_shared_values(apollo: httpx.Client) -> None:
    a, b = seed(apollo, {"first_name": "A", "title": "x"}, {"first_name": "B", "title": "y"})
    body = post(
        apollo, "/contacts/bulk_update", {"contact_ids": [a["id"], b["id"]], "title": "Updated Title"}
    ).json()
    assert [(c["id"], c["title"]) for c in body["contacts"]] == [
        (a["id"], "Updated Title"),
        (b["id"], "Updated Title"),
    ]
    assert set(body["contacts"][0]) == {
        "id",
        "first_name",
        "last_name",
        "email",
        "title",
        "organization_name",
        "owner_id",
        "account_id",
        "present_raw_address",
        "linkedin_url",
        "updated_at",
    }


def test_bulk_update_with_contact_attributes_applies_each_item(apollo: httpx.Client) -> None:
    a, b = seed(apollo, {"first_name": "A"}, {"first_name": "B"})
    post(
        apollo,
        "/contacts/bulk_update",
        {"contact_attributes": [{"id": a["id"], "title": "CEO"}, {"id": b["id"], "last_name": "Lee"}]},
    )
    assert (show(apollo, a["id"])["title"], show(apollo, b["id"])["name"]) == ("CEO", "B Lee")


def test_bulk_update_echoes_only_visible_entity_ids(apollo: httpx.Client) -> None:
    a, b = seed(apollo, {"first_name": "A"}, {"first_name": "B"})
    body = post(
        apollo,
        "/contacts/bulk_update",
        {"contact_ids": [a["id"], b["id"]], "title": "T", "visible_entity_ids": [b["id"]]},
    ).json()
    assert [c["id"] for c in body["contacts"]] == [b["id"]]


def test_bulk_update_above_100_answers_a_pending_job(apollo: httpx.Client) -> None:
    stored = seed(apollo, *({"first_name": f"n{i}"} for i in range(101)))
    body = post(
        apollo, "/contacts/bulk_update", {"contact_ids": [c["id"] for c in stored], "title": "Async"}
    ).json()
    job = body["entity_progress_job"]
    assert (job["job_type"], job["status"], len(job["entity_ids"])) == ("contact_bulk_update", "pending", 101)
    assert show(apollo, stored[100]["id"])["title"] == "Async"


def test_async_bulk_update_lands_after_the_configured_delay(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"async_delay_seconds": 30}).raise_for_status()
    [contact] = seed(apollo, {"first_name": "A", "title": "before"})
    post(apollo, "/contacts/bulk_update", {"contact_ids": [contact["id"]], "title": "after", "async": True})
    assert show(apollo, contact["id"])["title"] == "before"
    apollo.post("/__admin/clock", json={"advance": 31})
    assert show(apollo, contact["id"])["title"] == "after"
    assert apollo.get("/__admin/jobs").json()["jobs"][0]["status"] == "completed"


def test_bulk_update_refuses_more_than_1000(apollo: httpx.Client) -> None:
    response = post(apollo, "/contacts/bulk_update", {"contact_ids": [f"{i:024x}" for i in range(1001)]})
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Please limit your array to fewer than 1000."},
    )


def test_bulk_update_needs_ids_or_attributes(apollo: httpx.Client) -> None:
    response = post(apollo, "/contacts/bulk_update", {"title": "x"})
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Please provide either contact_ids or contact_attributes"},
    )


def test_bulk_update_with_invalid_email_is_422_with_details_and_changes_nothing(apollo: httpx.Client) -> None:
    a, b = seed(apollo, {"first_name": "A", "title": "keep"}, {"first_name": "B"})
    response = post(
        apollo,
        "/contacts/bulk_update",
        {
            "contact_attributes": [
                {"id": a["id"], "title": "changed"},
                {"id": b["id"], "email": "not-an-email"},
            ]
        },
    )
    assert (response.status_code, response.json()) == (
        422,
        {
            "error": "Validation failed",
            "error_details": {"contact_id": b["id"], "field": "email", "message": "Invalid email format"},
        },
    )
    assert show(apollo, a["id"])["title"] == "keep"


# --------------------------------------------------------------------------- stages and owners


def test_update_stages_reads_query_parameters(apollo: httpx.Client) -> None:
    a, b = seed(apollo, {"first_name": "A"}, {"first_name": "B"})
    response = apollo.post(
        f"{V1}/contacts/update_stages",
        json={},
        params=[("contact_ids[]", a["id"]), ("contact_ids[]", b["id"]), ("contact_stage_id", REPLIED)],
    )
    assert [c["contact_stage_id"] for c in response.json()["contacts"]] == [REPLIED, REPLIED]


def test_update_stages_reads_a_legacy_json_body(apollo: httpx.Client) -> None:
    [a] = seed(apollo, {"first_name": "A"})
    post(apollo, "/contacts/update_stages", {"contact_ids": [a["id"]], "contact_stage_id": REPLIED})
    assert show(apollo, a["id"])["contact_stage_id"] == REPLIED


def test_update_stages_without_ids_is_422(apollo: httpx.Client) -> None:
    response = post(apollo, "/contacts/update_stages", {"contact_stage_id": REPLIED})
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Required parameter 'contact_ids' missing"},
    )


def test_update_stages_with_unknown_stage_is_422(apollo: httpx.Client) -> None:
    [a] = seed(apollo, {"first_name": "A"})
    response = post(
        apollo, "/contacts/update_stages", {"contact_ids": [a["id"]], "contact_stage_id": "2342432"}
    )
    assert response.json() == {"error": "Parameters misconfigured. 2342432 is not a valid ID"}


def test_update_owners_answers_id_owner_and_crm_owner(apollo: httpx.Client) -> None:
    [a] = seed(apollo, {"first_name": "A"})
    owner = add_user(apollo)
    response = apollo.post(
        f"{V1}/contacts/update_owners", params=[("contact_ids[]", a["id"]), ("owner_id", owner)]
    )
    assert response.json() == {"contacts": [{"id": a["id"], "owner_id": owner, "crm_owner_id": None}]}
    assert show(apollo, a["id"])["owner_id"] == owner


def test_update_owners_without_ids_is_422(apollo: httpx.Client) -> None:
    response = apollo.post(f"{V1}/contacts/update_owners", params={"owner_id": add_user(apollo)})
    assert response.json() == {"error": "Required parameter 'contact_ids' missing"}


# --------------------------------------------------------------------------- lists


def test_labels_are_a_bare_array_with_the_documented_keys(apollo: httpx.Client) -> None:
    seed(apollo, {"first_name": "A", "label_names": ["Trade Show Leads"]})
    [label] = apollo.get(f"{V1}/labels").json()
    assert set(label) == {
        "_id",
        "id",
        "key",
        "name",
        "modality",
        "cached_count",
        "concurrency_locks",
        "created_at",
        "updated_at",
        "needs_count_update_at",
        "need_cached_count_update",
        "rule_config_template_id",
        "team_id",
        "user_id",
    }
    assert label["_id"] == label["id"] == label["key"] and label["cached_count"] == 1


def test_create_list_answers_the_label(apollo: httpx.Client) -> None:
    body = post(apollo, "/labels", {"name": "Conference 2024 - Maui", "modality": "contacts"}).json()
    assert body["label"]["name"] == "Conference 2024 - Maui" and body["label"]["cached_count"] == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"modality": "contacts"}, "Please enter a non-empty name!"),
        ({"name": "X"}, "Please enter a non-empty modality!"),
        ({"name": "X", "modality": "leads"}, "Please enter a valid modality!"),
    ],
)
def test_create_list_validation_errors(apollo: httpx.Client, body: dict[str, Any], error: str) -> None:
    response = post(apollo, "/labels", body)
    assert (response.status_code, response.json()) == (422, {"error": error})


def test_list_names_are_unique_per_modality(apollo: httpx.Client) -> None:
    post(apollo, "/labels", {"name": "Maui", "modality": "contacts"})
    assert post(apollo, "/labels", {"name": "Maui", "modality": "accounts"}).status_code == 200
    response = post(apollo, "/labels", {"name": "Maui", "modality": "contacts"})
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Maui already exists", "skip_alert_dialog": True},
    )


def test_add_to_lists_is_additive_and_creates_missing_names(apollo: httpx.Client) -> None:
    [a] = seed(apollo, {"first_name": "A", "label_names": ["Old"]})
    body = post(
        apollo,
        "/labels/add_entity_ids_to_label_names",
        {"entity_ids": [a["id"], "ffffffffffffffffffffffff"], "label_names": ["New"], "modality": "contacts"},
    )
    assert [(label["name"], label["cached_count"]) for label in body.json()["labels"]] == [("New", 1)]
    assert len(show(apollo, a["id"])["label_ids"]) == 2


def test_remove_from_lists_only_removes_membership(apollo: httpx.Client) -> None:
    [a] = seed(apollo, {"first_name": "A", "label_names": ["Keep", "Drop"]})
    post(
        apollo,
        "/labels/remove_entity_ids_from_label_names",
        {"entity_ids": [a["id"]], "label_names": ["Drop"], "modality": "contacts"},
    )
    labels = {label["name"]: label["id"] for label in apollo.get(f"{V1}/labels").json()}
    assert show(apollo, a["id"])["label_ids"] == [labels["Keep"]] and "Drop" in labels


@pytest.mark.parametrize(
    "path", ["/labels/add_entity_ids_to_label_names", "/labels/remove_entity_ids_from_label_names"]
)
def test_list_membership_with_nothing_valid_changes_nothing(apollo: httpx.Client, path: str) -> None:
    response = post(apollo, path, {"entity_ids": ["nope"], "label_names": ["X"], "modality": "contacts"})
    assert (response.status_code, response.json()) == (200, {"message": "No Models or Lists provided"})


@pytest.mark.parametrize(
    "path", ["/labels/add_entity_ids_to_label_names", "/labels/remove_entity_ids_from_label_names"]
)
def test_list_membership_with_invalid_modality_is_422(apollo: httpx.Client, path: str) -> None:
    response = post(apollo, path, {"entity_ids": [], "label_names": ["X"], "modality": "leads"})
    assert (response.status_code, response.json()) == (422, {"error": "Invalid modality: leads."})


def test_async_list_membership_answers_a_job(apollo: httpx.Client) -> None:
    [a] = seed(apollo, {"first_name": "A"})
    body = post(
        apollo,
        "/labels/add_entity_ids_to_label_names",
        {"entity_ids": [a["id"]], "label_names": ["Later"], "modality": "contacts", "async": True},
    ).json()
    assert (body["entity_progress_job"]["job_type"], body["entity_progress_job"]["progress"]) == (
        "add_entities_to_labels",
        -1,
    )
    assert len(show(apollo, a["id"])["label_ids"]) == 1


def test_rename_list_and_unknown_list_404(apollo: httpx.Client) -> None:
    label = post(apollo, "/labels", {"name": "Maui", "modality": "contacts"}).json()["label"]
    assert (
        apollo.patch(f"{V1}/labels/{label['id']}", json={"name": "Maui West"}).json()["label"]["name"]
        == "Maui West"
    )
    response = apollo.patch(f"{V1}/labels/ffffffffffffffffffffffff", json={"name": "x"})
    assert (response.status_code, response.json()) == (
        404,
        {"message": "Could not find label with id ffffffffffffffffffffffff", "error": "Record not found."},
    )


# --------------------------------------------------------------------------- other catalogues


def test_contact_stages_are_the_documented_defaults_with_24_hex_ids(apollo: httpx.Client) -> None:
    stages = apollo.get(f"{V1}/contact_stages").json()["contact_stages"]
    assert [s["name"] for s in stages] == DEFAULT_STAGE_NAMES
    assert [s["display_order"] for s in stages] == list(range(9))
    assert all(len(s["id"]) == 24 and set(s["id"]) <= set("0123456789abcdef") for s in stages)


def test_fields_filter_by_source(apollo: httpx.Client) -> None:
    apollo.post("/__admin/typed_custom_fields", json={"typed_custom_fields": [{"name": "Tier"}]})
    custom = apollo.get(f"{V1}/fields", params={"source": "custom"}).json()["fields"]
    system = apollo.get(f"{V1}/fields", params={"source": "system"}).json()["fields"]
    assert [f["label"] for f in custom] == ["Tier"] and custom[0]["id"].startswith("contact.")
    assert system and all(f["source"] == "system" for f in system)


def test_created_custom_field_is_listed_and_writable(apollo: httpx.Client) -> None:
    body = post(
        apollo,
        "/fields",
        {"label": "Test Name", "modality": "contact", "type": "string", "meta": {"max_length": 120}},
    ).json()
    [field] = body["typed_custom_fields"]
    assert (field["name"], field["modality"], field["text_field_max_length"]) == ("Test Name", "contact", 120)
    listed = apollo.get(f"{V1}/typed_custom_fields").json()["typed_custom_fields"]
    assert [f["id"] for f in listed] == [field["id"]]
    [contact] = seed(apollo, {"first_name": "A"})
    updated = apollo.patch(f"{V1}/contacts/{contact['id']}", json={"typed_custom_fields": {field["id"]: "v"}})
    assert updated.json()["contact"]["typed_custom_fields"] == {field["id"]: "v"}


def test_users_search_pages_with_string_page_numbers(apollo: httpx.Client) -> None:
    add_user(apollo)
    body = apollo.get(f"{V1}/users/search", params={"page": 1, "per_page": 1}).json()
    assert body["pagination"] == {"page": "1", "per_page": "1", "total_entries": 2, "total_pages": 2}
    assert len(body["users"]) == 1


def test_usage_stats_are_keyed_by_route_and_action(apollo: httpx.Client) -> None:
    apollo.put("/__admin/ratelimits", json={"enabled": True})
    post(apollo, "/contacts/search", {})
    stats = post(apollo, "/usage_stats/api_usage_stats", None).json()
    search = stats[json.dumps(["api/v1/contacts", "search"])]
    assert search["minute"] == {"limit": 200, "consumed": 1, "left_over": 199}
    assert stats[json.dumps(["api/v1/contacts", "create"])]["day"] == {
        "limit": 6000,
        "consumed": 0,
        "left_over": 6000,
    }


# --------------------------------------------------------------------------- bulk update: fields and async


def add_custom_field(client: httpx.Client, name: str = "Tier") -> str:
    response = client.post("/__admin/typed_custom_fields", json={"typed_custom_fields": [{"name": name}]})
    return response.json()["typed_custom_fields"][0]["id"]


def test_bulk_update_of_exactly_100_contacts_is_synchronous(apollo: httpx.Client) -> None:
    stored = seed(apollo, *({"first_name": f"n{i}"} for i in range(100)))
    body = post(
        apollo, "/contacts/bulk_update", {"contact_ids": [c["id"] for c in stored], "title": "Sync"}
    ).json()
    assert "entity_progress_job" not in body
    assert [c["title"] for c in body["contacts"]] == ["Sync"] * 100


def test_bulk_update_above_100_lands_when_the_simulated_clock_reaches_the_job(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"async_delay_seconds": 30}).raise_for_status()
    stored = seed(apollo, *({"first_name": f"n{i}", "title": "before"} for i in range(101)))
    body = post(
        apollo,
        "/contacts/bulk_update",
        {"contact_attributes": [{"id": c["id"], "title": "after"} for c in stored]},
    ).json()
    job = body["entity_progress_job"]
    assert set(job) == {"id", "job_type", "status", "entity_ids", "created_at", "updated_at"}
    assert job["entity_ids"] == [c["id"] for c in stored]
    assert show(apollo, stored[0]["id"])["title"] == "before"
    apollo.post("/__admin/clock", json={"advance": 29})
    assert show(apollo, stored[0]["id"])["title"] == "before"
    apollo.post("/__admin/clock", json={"advance": 1})
    assert {show(apollo, c["id"])["title"] for c in (stored[0], stored[100])} == {"after"}


def test_bulk_update_of_1000_contacts_is_accepted_as_a_job(apollo: httpx.Client) -> None:
    ids = [c["id"] for c in seed(apollo, *({"first_name": f"n{i}"} for i in range(1000)))]
    body = post(apollo, "/contacts/bulk_update", {"contact_ids": ids, "title": "T"}).json()
    assert len(body["entity_progress_job"]["entity_ids"]) == 1000


def test_bulk_update_takes_owner_and_typed_custom_fields(apollo: httpx.Client) -> None:
    owner, field = add_user(apollo), add_custom_field(apollo)
    a, b = seed(apollo, {"first_name": "A"}, {"first_name": "B"})
    post(
        apollo,
        "/contacts/bulk_update",
        {"contact_ids": [a["id"]], "owner_id": owner, "typed_custom_fields": {field: "gold"}},
    )
    post(
        apollo,
        "/contacts/bulk_update",
        {
            "contact_attributes": [
                {"id": b["id"], "owner_id": owner, "typed_custom_fields": {field: "silver"}}
            ]
        },
    )
    assert [
        (show(apollo, c["id"])["owner_id"], show(apollo, c["id"])["typed_custom_fields"]) for c in (a, b)
    ] == [
        (owner, {field: "gold"}),
        (owner, {field: "silver"}),
    ]


def test_bulk_update_with_an_owner_outside_the_team_is_422(apollo: httpx.Client) -> None:
    [a] = seed(apollo, {"first_name": "A"})
    response = post(apollo, "/contacts/bulk_update", {"contact_ids": [a["id"]], "owner_id": "0" * 24})
    assert (response.status_code, response.json()) == (
        422,
        {"error": f"Parameters misconfigured. {'0' * 24} is not a valid ID"},
    )


UNLISTED = {
    "contact_stage_id": REPLIED,
    "label_names": ["Ignored List"],
    "mobile_phone": "+1 555 303 1234",
    "phone_numbers": [{"raw_number": "+1 555 303 9999", "position": 0}],
}


@pytest.mark.parametrize("shape", ["contact_ids", "contact_attributes"])
def test_bulk_update_ignores_stage_lists_and_phones(apollo: httpx.Client, shape: str) -> None:
    [a] = seed(apollo, {"first_name": "A", "label_names": ["Kept"]})
    before = show(apollo, a["id"])
    if shape == "contact_ids":
        body: dict[str, Any] = {"contact_ids": [a["id"]], "title": "New", **UNLISTED}
    else:
        body = {"contact_attributes": [{"id": a["id"], "title": "New", **UNLISTED}]}
    assert post(apollo, "/contacts/bulk_update", body).status_code == 200
    after = show(apollo, a["id"])
    assert after["title"] == "New"
    for key in ("contact_stage_id", "label_ids", "phone_numbers", "sanitized_phone"):
        assert after[key] == before[key], key


# --------------------------------------------------------------------------- bulk create: dedupe


EXISTING_KEYS = {  # the keys of the spec's existing_contacts example
    "id",
    "first_name",
    "last_name",
    "email",
    "title",
    "team_id",
    "owner_id",
    "created_at",
    "updated_at",
}


def test_bulk_create_answers_created_and_existing_side_by_side(apollo: httpx.Client) -> None:
    [old] = seed(apollo, {"first_name": "Old", "email": "old@example.com", "title": "Kept"})
    body = post(
        apollo,
        "/contacts/bulk_create",
        {
            "run_dedupe": True,
            "contacts": [
                {"first_name": "New", "email": "new@example.com"},
                {"first_name": "Changed", "email": "old@example.com", "title": "Changed"},
            ],
        },
    ).json()
    assert [c["email"] for c in body["created_contacts"]] == ["new@example.com"]
    [existing] = body["existing_contacts"]
    assert set(existing) == EXISTING_KEYS
    assert (existing["id"], existing["first_name"], existing["title"]) == (old["id"], "Old", "Kept")
    assert len(apollo.get("/__admin/contacts").json()["contacts"]) == 2


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        ({"salesforce_contact_id": "003xx000004TmiQAAS"}, {"salesforce_contact_id": "003xx000004TmiQAAS"}),
        ({"hubspot_vid": "12345678"}, {"hubspot_id": "12345678"}),
        (
            {
                "email": "main@acme.example",
                "contact_emails": [{"email": "second@acme.example", "position": 1}],
            },
            {"email": "second@acme.example"},
        ),
        (
            {"first_name": "Jane", "last_name": "Smith", "organization_name": "TechStart Inc"},
            {"first_name": "Jane", "last_name": "Smith", "organization_name": "TechStart Inc"},
        ),
    ],
    ids=["salesforce_contact_id", "hubspot_id", "additional_email", "name_and_company"],
)
def test_bulk_create_with_run_dedupe_matches_by_the_documented_rules(
    apollo: httpx.Client, stored: dict[str, Any], sent: dict[str, Any]
) -> None:
    [old] = seed(apollo, {"first_name": "Jane", "last_name": "Smith", **stored})
    body = post(apollo, "/contacts/bulk_create", {"run_dedupe": True, "contacts": [sent]}).json()
    assert (body["created_contacts"], [c["id"] for c in body["existing_contacts"]]) == ([], [old["id"]])


def test_bulk_create_without_run_dedupe_creates_a_contact_with_a_known_crm_id(apollo: httpx.Client) -> None:
    # The spec's example "With CRM IDs (Returns Existing Without Updating)" sends no run_dedupe; the
    # parameter's own text ("When false (default), creates duplicates ...") is followed.
    [old] = seed(apollo, {"first_name": "John", "hubspot_vid": "12345678"})
    body = post(apollo, "/contacts/bulk_create", {"contacts": [{"hubspot_id": "12345678"}]}).json()
    assert body["existing_contacts"] == [] and body["created_contacts"][0]["id"] != old["id"]


def test_bulk_create_with_run_dedupe_does_not_match_a_deleted_contact(apollo: httpx.Client) -> None:
    [old] = seed(apollo, {"first_name": "Gone", "email": "gone@example.com"})
    apollo.delete(f"/__admin/contacts/{old['id']}").raise_for_status()
    body = post(
        apollo, "/contacts/bulk_create", {"run_dedupe": True, "contacts": [{"email": "gone@example.com"}]}
    ).json()
    assert body["existing_contacts"] == [] and len(body["created_contacts"]) == 1
