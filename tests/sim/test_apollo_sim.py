"""Contract tests of the Apollo simulator's single-contact endpoints, written from the vendor's docs
(apis.md section 1, seeds 000-002) and driven over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sim_specs import spec_path

from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.core import ServerThread

API_KEY = "sim-apollo-key-contract"
V1 = "/api/v1"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")
NEW_STAGE = "6095a710bd01d100a506d4ae"
REPLIED_STAGE = "6095a710bd01d100a506d4b0"
INVALID_KEY_TEXT = (
    "Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate."
)
APOLLO_SPEC = "apollo/apollo-rest-api.openapi.json"


@pytest.fixture(scope="module")
def get_example_keys() -> set[str]:
    """The keys of the contact in the spec's ``GET /contacts/{contact_id}`` example (70)."""
    spec = json.loads(spec_path(APOLLO_SPEC, whole_module=False).read_text())
    example = spec["paths"]["/contacts/{contact_id}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    return set(example["examples"]["Result"]["value"]["contact"])


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    sim = ApolloSim(api_key=API_KEY, seed=11)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers={"x-api-key": API_KEY}, timeout=5) as client:
        yield client


@pytest.fixture
def apollo(server: httpx.Client) -> httpx.Client:
    server.post("/__admin/reset").raise_for_status()
    server.put("/__admin/ratelimits", json={"enabled": False}).raise_for_status()
    return server


def create(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = client.post(f"{V1}/contacts", json=fields)
    assert response.status_code == 200, response.text
    return response.json()["contact"]


def patch(client: httpx.Client, contact_id: str, **fields: Any) -> httpx.Response:
    return client.patch(f"{V1}/contacts/{contact_id}", json=fields)


def show(client: httpx.Client, contact_id: str) -> dict[str, Any]:
    response = client.get(f"{V1}/contacts/{contact_id}")
    assert response.status_code == 200, response.text
    return response.json()["contact"]


def seed(client: httpx.Client, *contacts: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/__admin/contacts", json={"contacts": list(contacts)})
    assert response.status_code == 200, response.text
    return response.json()["contacts"]


def add_custom_field(client: httpx.Client, **field: Any) -> dict[str, Any]:
    response = client.post("/__admin/typed_custom_fields", json={"typed_custom_fields": [field]})
    assert response.status_code == 200, response.text
    return response.json()["typed_custom_fields"][0]


# --------------------------------------------------------------------------- authentication


def test_missing_api_key_is_401_plain_text(apollo: httpx.Client) -> None:
    response = httpx.get(f"{apollo.base_url}{V1}/contact_stages")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == INVALID_KEY_TEXT


def test_wrong_api_key_is_401_plain_text(apollo: httpx.Client) -> None:
    response = apollo.get(f"{V1}/contact_stages", headers={"x-api-key": "not-the-key"})
    assert (response.status_code, response.text) == (401, INVALID_KEY_TEXT)


def test_api_key_sent_as_bearer_token_is_401_invalid_access_credentials(apollo: httpx.Client) -> None:
    response = httpx.get(
        f"{apollo.base_url}{V1}/contact_stages", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert (response.status_code, response.text) == (401, "Invalid access credentials.")


def test_unauthenticated_answers_carry_no_rate_limit_headers(apollo: httpx.Client) -> None:
    apollo.put("/__admin/ratelimits", json={"enabled": True})
    response = apollo.get(f"{V1}/contact_stages", headers={"x-api-key": "wrong"})
    assert response.status_code == 401
    assert not [h for h in response.headers if h.startswith("x-rate-limit") or h.endswith("-usage")]


def test_legacy_v1_prefix_reaches_the_same_contacts(apollo: httpx.Client) -> None:
    contact = apollo.post("/v1/contacts", json={"first_name": "Jon", "last_name": "Snow"}).json()["contact"]
    assert show(apollo, contact["id"])["name"] == "Jon Snow"


def test_admin_paths_need_no_api_key(apollo: httpx.Client) -> None:
    create(apollo, first_name="Ada")
    response = httpx.get(f"{apollo.base_url}/__admin/contacts")
    assert response.status_code == 200 and len(response.json()["contacts"]) == 1


def test_journal_redacts_the_api_key(apollo: httpx.Client) -> None:
    create(apollo, first_name="Ada")
    entries = apollo.get("/__admin/journal").json()["entries"]
    assert entries[-1]["headers"]["x-api-key"] == "***"
    assert API_KEY not in str(entries)


# --------------------------------------------------------------------------- view a contact


def test_view_answers_contact_and_its_lists(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Walt", label_names=["Writers"])
    body = apollo.get(f"{V1}/contacts/{contact['id']}").json()
    assert body["contact"]["id"] == contact["id"]
    assert [label["name"] for label in body["labels"]] == ["Writers"]


def test_view_of_unknown_contact_is_422_not_404(apollo: httpx.Client) -> None:
    response = apollo.get(f"{V1}/contacts/0123456789abcdef01234567")
    assert response.status_code == 422
    assert response.json() == {"error": "Oops! This contact does not exist in Apollo."}


def test_view_of_contact_deleted_in_the_ui_is_422(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Gone")
    apollo.delete(f"/__admin/contacts/{contact['id']}").raise_for_status()
    response = apollo.get(f"{V1}/contacts/{contact['id']}")
    assert (response.status_code, response.json()) == (422, {"error": "This contact has been deleted."})


def test_there_is_no_delete_endpoint(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Kept")
    assert apollo.delete(f"{V1}/contacts/{contact['id']}").status_code == 405
    assert show(apollo, contact["id"])["first_name"] == "Kept"


# --------------------------------------------------------------------------- create


def test_created_contact_has_the_documented_shape(apollo: httpx.Client, get_example_keys: set[str]) -> None:
    contact = create(apollo, first_name="Fyodor", last_name="Dostoevsky", email="fyodor@apollo.io")
    assert len(get_example_keys) == 70
    assert set(contact) == get_example_keys | {"contact_campaign_statuses"}  # as in the create example
    assert (
        HEX24.match(contact["id"])
        and ISO_MS.match(contact["created_at"])
        and ISO_MS.match(contact["updated_at"])
    )
    assert (contact["name"], contact["source"], contact["source_display_name"]) == (
        "Fyodor Dostoevsky",
        "api",
        "Created from API",
    )
    assert (contact["email_status"], contact["email_true_status"]) == ("verified", "User Managed")


def test_create_puts_contact_in_first_stage_owned_by_the_caller(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Stage")
    assert contact["contact_stage_id"] == NEW_STAGE
    assert contact["owner_id"] == contact["creator_id"] and HEX24.match(contact["owner_id"])


def test_create_without_run_dedupe_always_creates(apollo: httpx.Client) -> None:
    first = create(apollo, first_name="Jon", email="jon@westeros.com", organization_name="Westeros")
    second = create(apollo, first_name="Jon", email="jon@westeros.com", organization_name="Westeros")
    assert first["id"] != second["id"]


def test_create_ignores_an_invalid_email(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Bad", email="not-an-email")
    assert contact["email"] is None


def test_create_with_unknown_stage_is_422_not_a_valid_id(apollo: httpx.Client) -> None:
    response = apollo.post(f"{V1}/contacts", json={"first_name": "X", "contact_stage_id": "2342432"})
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Parameters misconfigured. 2342432 is not a valid ID"},
    )


def test_create_with_unknown_account_is_422_not_a_valid_id(apollo: httpx.Client) -> None:
    response = apollo.post(f"{V1}/contacts", json={"account_id": "63f53afe4ceeca00016bdd2fsfsdf"})
    assert response.json() == {
        "error": "Parameters misconfigured. 63f53afe4ceeca00016bdd2fsfsdf is not a valid ID"
    }


def test_create_creates_missing_lists_from_label_names(apollo: httpx.Client) -> None:
    create(apollo, first_name="L", label_names=["inbound contact", "smb clients"])
    names = {label["name"] for label in apollo.get(f"{V1}/labels").json()}
    assert names == {"inbound contact", "smb clients"}


def test_create_links_the_company_account(apollo: httpx.Client) -> None:
    first = create(apollo, first_name="A", organization_name="Acme")
    second = create(apollo, first_name="B", organization_name="acme")
    assert HEX24.match(first["account_id"]) and first["account_id"] == second["account_id"]


def test_invalid_json_body_is_400(apollo: httpx.Client) -> None:
    response = apollo.post(
        f"{V1}/contacts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "error" in response.json()


# --------------------------------------------------------------------------- run_dedupe


def test_run_dedupe_email_match_updates_existing_contact_in_place(apollo: httpx.Client) -> None:
    old = create(apollo, first_name="Jane", last_name="Doe", email="jane@example.com", title="PM")
    body = apollo.post(
        f"{V1}/contacts", json={"email": "jane@example.com", "title": "VP", "run_dedupe": True}
    ).json()
    assert body["dedupe_result"] == {
        "found_existing": True,
        "match_reason": "email_match",
        "existing_contact_id": old["id"],
    }
    assert (body["contact"]["id"], body["contact"]["title"], body["contact"]["first_name"]) == (
        old["id"],
        "VP",
        "Jane",
    )


def test_run_dedupe_empty_value_clears_the_field(apollo: httpx.Client) -> None:
    create(apollo, first_name="Jane", email="jane@example.com", title="PM")
    body = apollo.post(
        f"{V1}/contacts", json={"email": "jane@example.com", "title": "", "run_dedupe": True}
    ).json()
    assert body["contact"]["title"] is None


def test_run_dedupe_matches_an_additional_email(apollo: httpx.Client) -> None:
    [old] = seed(
        apollo,
        {
            "first_name": "Multi",
            "email": "main@corp.com",
            "contact_emails": [{"email": "alt@corp.com", "position": 1}],
        },
    )
    body = apollo.post(f"{V1}/contacts", json={"email": "alt@corp.com", "run_dedupe": True}).json()
    assert body["contact"]["id"] == old["id"]


def test_run_dedupe_name_and_company_match_overwrites_the_email(apollo: httpx.Client) -> None:
    old = create(
        apollo, first_name="Tim", last_name="Zheng", email="tim@apollo.io", organization_name="Apollo"
    )
    body = apollo.post(
        f"{V1}/contacts",
        json={
            "first_name": "Tim",
            "last_name": "Zheng",
            "organization_name": "Apollo",
            "email": "tzheng@apollo.io",
            "run_dedupe": True,
        },
    ).json()
    assert body["dedupe_result"]["match_reason"] == "name_company_match"
    assert (body["contact"]["id"], body["contact"]["email"]) == (old["id"], "tzheng@apollo.io")


def test_run_dedupe_checks_crm_ids_before_email(apollo: httpx.Client) -> None:
    by_crm, _by_email = seed(
        apollo,
        {"first_name": "Crm", "hubspot_vid": "12345678"},
        {"first_name": "Mail", "email": "shared@example.com"},
    )
    body = apollo.post(
        f"{V1}/contacts", json={"hubspot_vid": "12345678", "email": "shared@example.com", "run_dedupe": True}
    ).json()
    assert body["contact"]["id"] == by_crm["id"]


def test_run_dedupe_does_not_reverify_the_overwritten_email(apollo: httpx.Client) -> None:
    [old] = seed(
        apollo,
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "organization_name": "Initech",
            "email": "ann@initech.com",
            "email_status": "unavailable",
        },
    )
    body = apollo.post(
        f"{V1}/contacts",
        json={
            "first_name": "Ann",
            "last_name": "Lee",
            "organization_name": "Initech",
            "email": "ann.lee@initech.com",
            "run_dedupe": True,
        },
    ).json()
    assert body["contact"]["id"] == old["id"] and body["contact"]["email_status"] == "unavailable"


def test_run_dedupe_cannot_change_a_person_id_once_set(apollo: httpx.Client) -> None:
    [old] = seed(
        apollo, {"first_name": "P", "email": "p@example.com", "person_id": "5f2b88aaaaaaaaaaaaaaaaaa"}
    )
    body = apollo.post(
        f"{V1}/contacts",
        json={"email": "p@example.com", "person_id": "5f2b88bbbbbbbbbbbbbbbbbb", "run_dedupe": True},
    ).json()
    assert body["contact"]["id"] == old["id"] and body["contact"]["person_id"] == "5f2b88aaaaaaaaaaaaaaaaaa"


def test_run_dedupe_without_a_match_creates(apollo: httpx.Client) -> None:
    create(apollo, first_name="One", email="one@example.com")
    body = apollo.post(
        f"{V1}/contacts", json={"first_name": "Two", "email": "two@example.com", "run_dedupe": True}
    ).json()
    assert "dedupe_result" not in body
    assert len(apollo.get("/__admin/contacts").json()["contacts"]) == 2


# --------------------------------------------------------------------------- update


def test_patch_changes_only_the_sent_fields(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Tim", last_name="Zheng", title="CEO")
    updated = patch(apollo, contact["id"], title="Founder").json()["contact"]
    assert (updated["first_name"], updated["last_name"], updated["title"]) == ("Tim", "Zheng", "Founder")


def test_patch_with_empty_string_clears_the_field(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Tim", title="CEO")
    assert patch(apollo, contact["id"], title="").json()["contact"]["title"] is None


def test_patch_label_names_replaces_all_list_memberships(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="L", label_names=["a", "b"])
    body = patch(apollo, contact["id"], label_names=["c"]).json()
    assert [label["name"] for label in body["labels"]] == ["c"]
    assert len(body["contact"]["label_ids"]) == 1


def test_patch_label_names_drop_unknown_names_when_autocreate_is_off(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"label_names_autocreate": False}).raise_for_status()
    contact = create(apollo, first_name="L", label_names=["known"])
    body = patch(apollo, contact["id"], label_names=["known", "unknown"]).json()
    assert [label["name"] for label in body["labels"]] == ["known"]


@pytest.mark.parametrize(
    ("field", "read_type"),
    [
        ("direct_phone", "work_direct"),
        ("corporate_phone", "work_hq"),
        ("mobile_phone", "mobile"),
        ("home_phone", "home"),
        ("other_phone", "other"),
    ],
)
def test_typed_phone_reads_back_with_its_type_and_e164(
    apollo: httpx.Client, field: str, read_type: str
) -> None:
    contact = create(apollo, first_name="Phone")
    numbers = patch(apollo, contact["id"], **{field: "555-303-1234"}).json()["contact"]["phone_numbers"]
    assert [
        (n["raw_number"], n["sanitized_number"], n["type"], n["position"], n["status"]) for n in numbers
    ] == [("555-303-1234", "+15553031234", read_type, 0, "no_status")]


def test_typed_phone_overwrites_the_number_of_its_type(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="P", mobile_phone="555-303-1234", direct_phone="555-555-0117")
    numbers = patch(apollo, contact["id"], mobile_phone="+44 7911 123456").json()["contact"]["phone_numbers"]
    assert {n["type"]: n["sanitized_number"] for n in numbers} == {
        "mobile": "+447911123456",
        "work_direct": "+15555550117",
    }


def test_typed_phone_of_a_new_type_is_added_after_the_others(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="P", direct_phone="555-555-0117")
    updated = patch(apollo, contact["id"], home_phone="555-555-0149").json()["contact"]
    assert [(n["type"], n["position"]) for n in updated["phone_numbers"]] == [("work_direct", 0), ("home", 1)]
    assert updated["sanitized_phone"] == "+15555550117"


def test_empty_typed_phone_removes_that_number(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="P", direct_phone="555-555-0117", mobile_phone="555-555-0149")
    updated = patch(apollo, contact["id"], direct_phone="").json()["contact"]
    assert [(n["type"], n["position"]) for n in updated["phone_numbers"]] == [("mobile", 0)]
    assert updated["sanitized_phone"] == "+15555550149"


def test_custom_fields_merge_per_key(apollo: httpx.Client) -> None:
    a, b = add_custom_field(apollo, name="A"), add_custom_field(apollo, name="B")
    contact = create(apollo, first_name="C", typed_custom_fields={a["id"]: "one", b["id"]: "two"})
    updated = patch(apollo, contact["id"], typed_custom_fields={a["id"]: "uno"}).json()["contact"]
    assert updated["typed_custom_fields"] == {a["id"]: "uno", b["id"]: "two"}


def test_custom_fields_replace_whole_object_when_merge_is_off(apollo: httpx.Client) -> None:
    apollo.put("/__admin/settings", json={"custom_fields_merge": False}).raise_for_status()
    a, b = add_custom_field(apollo, name="A"), add_custom_field(apollo, name="B")
    contact = create(apollo, first_name="C", typed_custom_fields={a["id"]: "one", b["id"]: "two"})
    updated = patch(apollo, contact["id"], typed_custom_fields={a["id"]: "uno"}).json()["contact"]
    assert updated["typed_custom_fields"] == {a["id"]: "uno"}


def test_custom_field_empty_value_removes_the_key(apollo: httpx.Client) -> None:
    field = add_custom_field(apollo, name="Launch", type="datetime")
    contact = create(apollo, first_name="C", typed_custom_fields={field["id"]: "2025-08-07"})
    updated = patch(apollo, contact["id"], typed_custom_fields={field["id"]: ""}).json()["contact"]
    assert updated["typed_custom_fields"] == {}


def test_picklist_custom_field_takes_the_option_id(apollo: httpx.Client) -> None:
    field = add_custom_field(apollo, name="Age", type="picklist", picklist_values=["New Customer", "1 year"])
    option = field["picklist_values"][1]["id"]
    contact = create(apollo, first_name="C")
    updated = patch(apollo, contact["id"], typed_custom_fields={field["id"]: "1 year"}).json()["contact"]
    assert updated["typed_custom_fields"] == {} and field["id"] in updated["custom_field_errors"]
    updated = patch(apollo, contact["id"], typed_custom_fields={field["id"]: option}).json()["contact"]
    assert updated["typed_custom_fields"] == {field["id"]: option}


@pytest.mark.parametrize(
    ("raw", "city", "state", "country"),
    [
        ("123 Main St, Austin, TX 78701, US", "Austin", "Texas", "United States"),
        ("San Francisco, CA", "San Francisco", "California", "United States"),
        ("St. Petersburg, Russia", "Saint Petersburg", None, "Russia"),
        ("Toronto, ON, Canada", "Toronto", "Ontario", "Canada"),
        ("Atlanta, United States", "Atlanta", None, "United States"),
        ("London, UK", "London", None, "United Kingdom"),
    ],
)
def test_raw_address_is_read_into_full_names(
    apollo: httpx.Client, raw: str, city: str, state: Any, country: str
) -> None:
    contact = create(apollo, first_name="Addr")
    updated = patch(apollo, contact["id"], present_raw_address=raw).json()["contact"]
    assert (updated["present_raw_address"], updated["city"], updated["state"], updated["country"]) == (
        raw,
        city,
        state,
        country,
    )


def test_clearing_the_raw_address_clears_the_location(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Addr", present_raw_address="Austin, TX")
    updated = patch(apollo, contact["id"], present_raw_address="").json()["contact"]
    assert (updated["present_raw_address"], updated["city"], updated["state"], updated["country"]) == (
        None,
        None,
        None,
        None,
    )


def test_patch_sets_a_valid_stage(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="S")
    assert patch(apollo, contact["id"], contact_stage_id=REPLIED_STAGE).json()["contact"][
        "contact_stage_id"
    ] == (REPLIED_STAGE)


def test_patch_with_unknown_stage_is_422_not_a_valid_id(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="S")
    response = patch(apollo, contact["id"], contact_stage_id="6095a710bd01d100a506ffff")
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Parameters misconfigured. 6095a710bd01d100a506ffff is not a valid ID"},
    )


def test_patch_of_deleted_contact_is_422_naming_it(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Gone")
    apollo.delete(f"/__admin/contacts/{contact['id']}").raise_for_status()
    response = patch(apollo, contact["id"], title="x")
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Cannot update contact as it is deleted.", "deleted_contact_ids": [contact["id"]]},
    )


def test_patch_of_unknown_contact_is_422(apollo: httpx.Client) -> None:
    response = patch(apollo, "0123456789abcdef01234567", title="x")
    assert response.status_code == 422 and "does not exist" in response.json()["error"]


def test_patch_with_non_string_value_is_422_naming_the_field(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="T")
    response = patch(apollo, contact["id"], title=42)
    assert response.status_code == 422 and "title" in response.json()["error"]


def test_legacy_put_has_the_same_partial_semantics(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Jon", title="Lord")
    updated = apollo.put(f"/v1/contacts/{contact['id']}", json={"title": "Commander"}).json()["contact"]
    assert (updated["first_name"], updated["title"]) == ("Jon", "Commander")


def test_legacy_put_takes_the_id_from_the_body(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Jon")
    response = apollo.put("/v1/contacts", json={"id": contact["id"], "last_name": "Snow"})
    assert response.json()["contact"]["name"] == "Jon Snow"


def test_updated_at_advances_on_a_real_change(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="T")
    apollo.post("/__admin/clock", json={"advance": 5})
    updated = patch(apollo, contact["id"], title="New").json()["contact"]
    assert updated["updated_at"] > contact["updated_at"] and updated["created_at"] == contact["created_at"]


def test_updated_at_stays_when_nothing_changes(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="T", title="Same")
    apollo.post("/__admin/clock", json={"advance": 5})
    assert patch(apollo, contact["id"], title="Same").json()["contact"]["updated_at"] == contact["updated_at"]


# --------------------------------------------------------------------------- admin surface


def test_seeded_contacts_keep_given_ids_and_timestamps(apollo: httpx.Client) -> None:
    given = {
        "id": "66e34b81740c50074e3d1bd4",
        "first_name": "Old",
        "created_at": "2024-09-12T20:13:53.207Z",
        "updated_at": "2024-09-12T20:14:53.134Z",
        "phone_numbers": [{"raw_number": "555-555-0117", "type": "work_direct"}],
    }
    [stored] = seed(apollo, given)
    assert (stored["id"], stored["created_at"], stored["updated_at"]) == (
        given["id"],
        given["created_at"],
        given["updated_at"],
    )
    assert stored["sanitized_phone"] == "+15555550117" and set(stored) == set(show(apollo, given["id"]))


def test_seeding_a_bad_record_names_it_and_stores_nothing(apollo: httpx.Client) -> None:
    response = apollo.post(
        "/__admin/contacts",
        json={
            "contacts": [
                {"first_name": "Fine"},
                {"id": "66e34b81740c50074e3d1bd4", "contact_stage_id": "nope"},
            ]
        },
    )
    assert response.status_code == 400
    assert (
        "66e34b81740c50074e3d1bd4" in response.json()["error"]
        and "contact_stage_id" in response.json()["error"]
    )
    assert apollo.get("/__admin/contacts").json()["contacts"] == []


def test_ui_edit_moves_updated_at_to_now(apollo: httpx.Client) -> None:
    [contact] = seed(apollo, {"first_name": "Old", "updated_at": "2024-01-01T00:00:00.000Z"})
    edited = apollo.patch(f"/__admin/contacts/{contact['id']}", json={"title": "Edited in UI"}).json()[
        "contact"
    ]
    assert edited["title"] == "Edited in UI" and edited["updated_at"] > "2024-01-01T00:00:00.000Z"
    assert show(apollo, contact["id"])["title"] == "Edited in UI"


def test_ui_deleted_contacts_are_listed_only_on_request(apollo: httpx.Client) -> None:
    contact = create(apollo, first_name="Gone")
    apollo.delete(f"/__admin/contacts/{contact['id']}").raise_for_status()
    assert apollo.get("/__admin/contacts").json()["contacts"] == []
    assert [c["id"] for c in apollo.get("/__admin/contacts?include_deleted=1").json()["contacts"]] == [
        contact["id"]
    ]


def test_state_export_and_import_round_trip() -> None:
    sim = ApolloSim(seed=3)
    sim.seed_labels(["VIP"])
    sim.seed_custom_fields([{"name": "Tier"}])
    [contact] = sim.seed_contacts(
        [{"first_name": "Ada", "label_names": ["VIP"], "organization_name": "Acme"}]
    )
    sim.ui_delete(sim.seed_contacts([{"first_name": "Gone"}])[0]["id"])
    exported = sim.export_state()
    copy = ApolloSim(seed=3)
    copy.import_state(exported)
    assert copy.export_state() == exported
    [fresh] = copy.seed_contacts([{"first_name": "New"}])
    assert fresh["id"] not in {c["id"] for c in sim.contacts(include_deleted=True)} and contact["label_ids"]


def test_same_seed_gives_the_same_ids() -> None:
    first = ApolloSim(seed=5).seed_contacts([{"first_name": "A"}, {"first_name": "B"}])
    second = ApolloSim(seed=5).seed_contacts([{"first_name": "A"}, {"first_name": "B"}])
    assert [c["id"] for c in first] == [c["id"] for c in second]
