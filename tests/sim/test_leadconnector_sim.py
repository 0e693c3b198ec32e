"""Contract tests of the LeadConnector simulator: auth, contacts, duplicates, upsert, tags,
catalogues and the admin surface, written from apis.md section 2 and the vendor spec."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector.simulator import LeadConnectorSim

LOCATION = "SimLocation000000001"
TOKEN = "sim-lc-token-contract"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Version": "2021-07-28"}
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
FIREBASE_ID = re.compile(r"^[A-Za-z0-9]{20}$")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LeadConnectorSim, httpx.Client]]:
    sim = LeadConnectorSim(token=TOKEN, location_id=LOCATION, seed=11)
    thread = ServerThread(sim.app)
    with thread, httpx.Client(base_url=thread.url, headers=HEADERS, timeout=5) as client:
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


def create(lc: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = lc.post("/contacts/", json={"locationId": LOCATION, **fields})
    assert response.status_code == 201, response.text
    return response.json()["contact"]


def settings(lc: httpx.Client, **values: Any) -> None:
    lc.put("/__admin/settings", json=values).raise_for_status()


# ---------------------------------------------------------------------------- auth


def test_missing_token_gets_the_documented_401_body(lc: httpx.Client) -> None:
    response = lc.get("/contacts/abc", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "Invalid token: access token is invalid",
        "error": "Unauthorized",
    }


def test_wrong_token_is_refused(lc: httpx.Client) -> None:
    response = lc.get("/contacts/abc", headers={"Authorization": "Bearer not-the-token"})
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token: access token is invalid"


def test_missing_version_header_is_refused(lc: httpx.Client) -> None:
    request = lc.build_request("GET", "/contacts/abc")
    del request.headers["Version"]
    response = lc.send(request)
    assert response.status_code == 401
    assert response.json()["message"] == "version header was not found."


def test_unknown_version_header_is_refused(lc: httpx.Client) -> None:
    response = lc.get("/contacts/abc", headers={"Version": "2020-01-01"})
    assert response.status_code == 401
    assert response.json()["message"] == "version header is invalid"


@pytest.mark.parametrize("version", ["2021-04-15", "2021-07-28", "2023-02-21", "v3"])
def test_each_version_seen_accepted_live_is_accepted(lc: httpx.Client, version: str) -> None:
    contact = create(lc, firstName="Ada")
    response = lc.get(f"/contacts/{contact['id']}", headers={"Version": version})
    assert response.status_code == 200


def test_a_token_cannot_reach_another_location(lc: httpx.Client) -> None:
    response = lc.post("/contacts/", json={"locationId": "AnotherLocation00001", "firstName": "Ada"})
    assert response.status_code == 403
    assert response.json()["message"] == "The token does not have access to this location."


def test_another_locations_tag_list_is_forbidden(lc: httpx.Client) -> None:
    response = lc.get("/locations/AnotherLocation00001/tags")
    assert response.status_code == 403


# ---------------------------------------------------------------------------- get, create, delete


def test_create_answers_201_with_a_firebase_id_and_ms_timestamps(lc: httpx.Client) -> None:
    contact = create(lc, firstName="Ada", lastName="Lovelace", email="Ada@Example.com")
    assert FIREBASE_ID.match(contact["id"])
    assert ISO_MS_Z.match(contact["dateAdded"])
    assert contact["dateUpdated"] == contact["dateAdded"]
    assert contact["locationId"] == LOCATION


def test_create_fills_the_lower_case_copies_and_the_name(lc: httpx.Client) -> None:
    contact = create(lc, firstName="Ada", lastName="Lovelace", email="Ada@Example.com")
    assert contact["name"] == "Ada Lovelace"
    assert contact["firstNameLowerCase"] == "ada"
    assert contact["lastNameLowerCase"] == "lovelace"
    assert contact["fullNameLowerCase"] == "ada lovelace"
    assert contact["emailLowerCase"] == "ada@example.com"
    assert contact["email"] == "Ada@Example.com"


def test_create_without_location_id_is_a_422_with_a_message_array(lc: httpx.Client) -> None:
    response = lc.post("/contacts/", json={"firstName": "Ada"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "Unprocessable Entity"
    assert "locationId should not be empty" in body["message"]


def test_create_refuses_additional_emails(lc: httpx.Client) -> None:
    response = lc.post("/contacts/", json={"locationId": LOCATION, "additionalEmails": [{"email": "a@b.co"}]})
    assert response.status_code == 422
    assert response.json()["message"] == ["property additionalEmails should not exist"]


def test_get_answers_the_contact_without_unset_fields(lc: httpx.Client) -> None:
    created = create(lc, firstName="Ada", companyName="Analytical Engines", tags=["math"])
    response = lc.get(f"/contacts/{created['id']}")
    assert response.status_code == 200
    contact = response.json()["contact"]
    assert contact["companyName"] == "Analytical Engines"
    assert contact["tags"] == ["math"]
    assert contact["customFields"] == []
    assert contact["additionalEmails"] == []
    assert "address1" not in contact
    assert None not in contact.values()


def test_unknown_contact_id_is_a_400_naming_the_id(lc: httpx.Client) -> None:
    response = lc.get("/contacts/NoSuchContact0000000")
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": "Contact with id NoSuchContact0000000 not found"}


def test_not_found_switch_answers_404(lc: httpx.Client) -> None:
    settings(lc, not_found_status=404)
    response = lc.get("/contacts/NoSuchContact0000000")
    assert response.status_code == 404
    assert response.json()["message"] == "Contact with id NoSuchContact0000000 not found"


def test_delete_answers_succeded_and_the_contact_is_gone(lc: httpx.Client) -> None:
    contact = create(lc, firstName="Ada")
    response = lc.delete(f"/contacts/{contact['id']}")
    assert response.json() == {"succeded": True}
    assert lc.get(f"/contacts/{contact['id']}").status_code == 400


def test_an_unknown_path_answers_a_nest_style_404(lc: httpx.Client) -> None:
    response = lc.get("/contacts/x/nowhere")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "Cannot GET /contacts/x/nowhere",
        "error": "Not Found",
    }


def test_malformed_json_is_a_400(lc: httpx.Client) -> None:
    response = lc.post("/contacts/", content=b'{"locationId": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


# ---------------------------------------------------------------------------- duplicates


def test_create_with_a_known_email_is_refused_with_the_existing_id(lc: httpx.Client) -> None:
    first = create(lc, firstName="Ada", lastName="Lovelace", email="ada@example.com")
    response = lc.post("/contacts/", json={"locationId": LOCATION, "email": "ADA@example.com"})
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "message": "This location does not allow duplicated contacts.",
        "meta": {"contactId": first["id"], "contactName": "Ada Lovelace", "matchingField": "email"},
    }


def test_create_with_a_known_phone_in_another_format_is_a_phone_duplicate(lc: httpx.Client) -> None:
    first = create(lc, firstName="Ada", phone="+1 415-555-0100")
    response = lc.post("/contacts/", json={"locationId": LOCATION, "phone": "(415) 555-0100"})
    assert response.status_code == 400
    assert response.json()["meta"]["contactId"] == first["id"]
    assert response.json()["meta"]["matchingField"] == "phone"


def test_a_location_allowing_duplicates_creates_a_second_contact(lc: httpx.Client) -> None:
    settings(lc, allow_duplicates=True)
    first = create(lc, email="ada@example.com")
    second = create(lc, email="ada@example.com")
    assert second["id"] != first["id"]


def test_duplicate_lookup_finds_the_contact_by_email(lc: httpx.Client) -> None:
    contact = create(lc, email="ada+crm@example.com")
    response = lc.get(
        "/contacts/search/duplicate", params={"locationId": LOCATION, "email": "ada+crm@example.com"}
    )
    assert response.status_code == 200
    assert response.json()["contact"]["id"] == contact["id"]


def test_duplicate_lookup_finds_the_contact_by_number(lc: httpx.Client) -> None:
    contact = create(lc, phone="+14155550100")
    response = lc.get("/contacts/search/duplicate", params={"locationId": LOCATION, "number": "+14155550100"})
    assert response.json()["contact"]["id"] == contact["id"]


def test_duplicate_lookup_without_a_match_answers_null(lc: httpx.Client) -> None:
    response = lc.get(
        "/contacts/search/duplicate", params={"locationId": LOCATION, "email": "nobody@example.com"}
    )
    assert response.status_code == 200
    assert response.json() == {"contact": None}


def test_duplicate_lookup_needs_an_email_or_a_number(lc: httpx.Client) -> None:
    response = lc.get("/contacts/search/duplicate", params={"locationId": LOCATION})
    assert response.status_code == 400
    assert response.json()["message"] == "Pass at least one of number, email query parameter"


# ---------------------------------------------------------------------------- upsert


def upsert(lc: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = lc.post("/contacts/upsert", json={"locationId": LOCATION, **fields})
    assert response.status_code == 200, response.text
    return response.json()


def test_upsert_without_a_match_creates_a_contact(lc: httpx.Client) -> None:
    body = upsert(lc, email="new@example.com", firstName="Neo")
    assert body["new"] is True
    assert FIREBASE_ID.match(body["contact"]["id"])
    assert re.match(r"^[0-9a-f-]{36}$", body["traceId"])


def test_upsert_updates_the_contact_with_the_same_email(lc: httpx.Client) -> None:
    existing = create(lc, email="ada@example.com", firstName="Ada")
    body = upsert(lc, email="ada@example.com", lastName="Byron")
    assert body["new"] is False
    assert body["contact"]["id"] == existing["id"]
    assert body["contact"]["lastName"] == "Byron"
    assert body["contact"]["firstName"] == "Ada"


def test_upsert_ignores_gender_on_an_existing_contact(lc: httpx.Client, sim: LeadConnectorSim) -> None:
    existing = create(lc, email="ada@example.com", gender="female")
    body = upsert(lc, email="ada@example.com", gender="male")
    assert body["new"] is False
    stored = next(c for c in sim.export_state()["contacts"] if c["id"] == existing["id"])
    assert stored["gender"] == "female"


def test_upsert_matching_email_and_phone_of_two_contacts_updates_the_email_match_only(
    lc: httpx.Client,
) -> None:
    by_email = create(lc, email="ada@example.com")
    by_phone = create(lc, phone="+14155550100")
    body = upsert(lc, email="ada@example.com", phone="+14155550100", city="London")
    assert body["contact"]["id"] == by_email["id"]
    assert body["contact"]["city"] == "London"
    assert "phone" not in body["contact"]
    assert lc.get(f"/contacts/{by_phone['id']}").json()["contact"]["phone"] == "+14155550100"


def test_upsert_follows_a_phone_first_match_order(lc: httpx.Client) -> None:
    settings(lc, duplicate_match_order=["phone", "email"])
    create(lc, email="ada@example.com")
    by_phone = create(lc, phone="+14155550100")
    body = upsert(lc, email="ada@example.com", phone="+14155550100")
    assert body["contact"]["id"] == by_phone["id"]


def test_create_new_if_duplicate_allowed_creates_when_the_location_allows(lc: httpx.Client) -> None:
    settings(lc, allow_duplicates=True)
    existing = create(lc, email="ada@example.com")
    body = upsert(lc, email="ada@example.com", createNewIfDuplicateAllowed=True)
    assert body["new"] is True
    assert body["contact"]["id"] != existing["id"]


def test_create_new_if_duplicate_allowed_is_a_plain_upsert_when_the_location_disallows(
    lc: httpx.Client,
) -> None:
    existing = create(lc, email="ada@example.com")
    body = upsert(lc, email="ada@example.com", createNewIfDuplicateAllowed=True)
    assert body["new"] is False
    assert body["contact"]["id"] == existing["id"]


def test_upsert_with_a_secondary_email_drops_the_old_primary(lc: httpx.Client, sim: LeadConnectorSim) -> None:
    [seeded] = sim.seed_contacts(
        [{"email": "work@example.com", "additionalEmails": [{"email": "home@example.com"}]}]
    )
    body = upsert(lc, email="home@example.com")
    assert body["contact"]["id"] == seeded["id"]
    assert body["contact"]["email"] == "home@example.com"
    assert body["contact"]["additionalEmails"] == []


# ---------------------------------------------------------------------------- tags


def test_add_tags_answers_201_and_keeps_the_existing_tags(lc: httpx.Client) -> None:
    contact = create(lc, tags=["vip"])
    response = lc.post(f"/contacts/{contact['id']}/tags", json={"tags": ["returning"]})
    assert response.status_code == 201
    assert response.json() == {"tags": ["vip", "returning"]}


def test_remove_tags_answers_200_with_the_remaining_tags(lc: httpx.Client) -> None:
    contact = create(lc, tags=["vip", "returning"])
    response = lc.request("DELETE", f"/contacts/{contact['id']}/tags", json={"tags": ["vip"]})
    assert response.status_code == 200
    assert response.json() == {"tags": ["returning"]}


def test_tags_are_stored_lower_case_and_matched_without_case(lc: httpx.Client) -> None:
    contact = create(lc, tags=["VIP"])
    response = lc.post(f"/contacts/{contact['id']}/tags", json={"tags": ["vip", "New Lead"]})
    assert response.json() == {"tags": ["vip", "new lead"]}


def test_tag_add_without_a_tags_array_is_a_422(lc: httpx.Client) -> None:
    contact = create(lc)
    response = lc.post(f"/contacts/{contact['id']}/tags", json={"tag": "vip"})
    assert response.status_code == 422


def test_bulk_add_reports_each_contact(lc: httpx.Client) -> None:
    kept = create(lc, email="a@example.com", tags=["old"])
    gone = create(lc, email="b@example.com")
    lc.delete(f"/contacts/{gone['id']}")
    body = {"contacts": [kept["id"], "abcdef", gone["id"]], "tags": ["new"], "locationId": LOCATION}
    response = lc.post("/contacts/bulk/tags/update/add", json=body)
    assert response.status_code == 201
    answer = response.json()
    assert answer["errorCount"] == 2
    assert answer["responses"] == [
        {"contactId": kept["id"], "message": "Tags updated", "type": "success", "oldTags": ["old"],
         "tagsAdded": ["new"], "tagsRemoved": []},
        {"contactId": "abcdef", "message": "contact id is not a valid firebase id", "type": "error"},
        {"contactId": gone["id"], "message": "contact is deleted", "type": "error"},
    ]  # fmt: skip


def test_bulk_remove_all_tags_empties_the_tag_list(lc: httpx.Client) -> None:
    contact = create(lc, tags=["a", "b"])
    body = {"contacts": [contact["id"]], "tags": [], "locationId": LOCATION, "removeAllTags": True}
    lc.post("/contacts/bulk/tags/update/remove", json=body).raise_for_status()
    assert lc.get(f"/contacts/{contact['id']}").json()["contact"]["tags"] == []


def test_bulk_remove_all_tags_cannot_be_used_with_add(lc: httpx.Client) -> None:
    contact = create(lc, tags=["a"])
    body = {"contacts": [contact["id"]], "tags": [], "locationId": LOCATION, "removeAllTags": True}
    assert lc.post("/contacts/bulk/tags/update/add", json=body).status_code == 422


def test_bulk_tags_needs_a_location_id(lc: httpx.Client) -> None:
    response = lc.post("/contacts/bulk/tags/update/add", json={"contacts": [], "tags": ["a"]})
    assert response.status_code == 422
    assert "locationId must be a string" in response.json()["message"]


# ---------------------------------------------------------------------------- catalogues


def test_tags_given_to_contacts_join_the_location_tag_list(lc: httpx.Client) -> None:
    create(lc, tags=["vip"])
    tags = lc.get(f"/locations/{LOCATION}/tags").json()["tags"]
    assert [t["name"] for t in tags] == ["vip"]
    assert FIREBASE_ID.match(tags[0]["id"])
    assert tags[0]["locationId"] == LOCATION


def test_creating_a_location_tag_answers_the_tag(lc: httpx.Client) -> None:
    response = lc.post(f"/locations/{LOCATION}/tags", json={"name": "Partner"})
    assert response.status_code == 200
    assert response.json()["tag"]["name"] == "partner"


def test_creating_a_known_location_tag_is_refused(lc: httpx.Client) -> None:
    lc.post(f"/locations/{LOCATION}/tags", json={"name": "partner"}).raise_for_status()
    assert lc.post(f"/locations/{LOCATION}/tags", json={"name": "Partner"}).status_code == 400


def test_custom_fields_are_listed_with_the_spec_keys_and_filtered_by_model(lc: httpx.Client) -> None:
    fields = [
        {"name": "Pin code", "dataType": "TEXT"},
        {"name": "Deal size", "dataType": "NUMERICAL", "model": "opportunity"},
    ]
    lc.post("/__admin/customFields", json={"customFields": fields}).raise_for_status()
    listed = lc.get(f"/locations/{LOCATION}/customFields", params={"model": "contact"}).json()["customFields"]
    assert [f["fieldKey"] for f in listed] == ["contact.pin_code"]
    assert FIREBASE_ID.match(listed[0]["id"])
    assert set(listed[0]) == {
        "id", "name", "fieldKey", "placeholder", "dataType", "position", "picklistOptions",
        "picklistImageOptions", "isAllowedCustomOption", "isMultiFileAllowed", "maxFileLimit",
        "locationId", "model",
    }  # fmt: skip


def test_custom_fields_with_an_unknown_model_is_a_422(lc: httpx.Client) -> None:
    response = lc.get(f"/locations/{LOCATION}/customFields", params={"model": "person"})
    assert response.status_code == 422


# ---------------------------------------------------------------------------- admin surface


def test_seeding_keeps_given_ids_and_timestamps(lc: httpx.Client) -> None:
    record = {
        "id": "SeededContact0000001",
        "firstName": "Ada",
        "dateAdded": "2024-01-02T03:04:05.678Z",
        "dateUpdated": "2024-02-03T04:05:06.789Z",
    }
    [stored] = lc.post("/__admin/contacts", json={"contacts": [record]}).json()["contacts"]
    assert stored["id"] == "SeededContact0000001"
    assert stored["dateUpdated"] == "2024-02-03T04:05:06.789Z"
    assert (
        lc.get("/contacts/SeededContact0000001").json()["contact"]["dateAdded"] == "2024-01-02T03:04:05.678Z"
    )


def test_seeding_an_unknown_field_names_the_record_and_field(lc: httpx.Client) -> None:
    response = lc.post(
        "/__admin/contacts", json={"contacts": [{"id": "SeededContact0000001", "shoeSize": 9}]}
    )
    assert response.status_code == 400
    assert "SeededContact0000001" in response.json()["error"]
    assert "shoeSize" in response.json()["error"]


def test_a_seeding_with_one_bad_record_stores_none(lc: httpx.Client) -> None:
    records = [{"firstName": "Ada"}, {"firstName": "Bob", "phone": "call me"}]
    response = lc.post("/__admin/contacts", json={"contacts": records})
    assert response.status_code == 400
    assert "phone" in response.json()["error"]
    assert lc.get("/__admin/contacts").json()["contacts"] == []


def test_a_ui_edit_changes_the_field_and_moves_date_updated(lc: httpx.Client) -> None:
    contact = create(lc, firstName="Ada")
    lc.post("/__admin/clock", json={"advance": 60})
    response = lc.patch(f"/__admin/contacts/{contact['id']}", json={"firstName": "Augusta"})
    edited = response.json()["contact"]
    assert edited["firstName"] == "Augusta"
    assert edited["dateUpdated"] > contact["dateUpdated"]


def test_a_ui_delete_hides_the_contact_except_when_deleted_ones_are_asked_for(lc: httpx.Client) -> None:
    contact = create(lc, firstName="Ada")
    lc.delete(f"/__admin/contacts/{contact['id']}").raise_for_status()
    assert lc.get("/__admin/contacts").json()["contacts"] == []
    [listed] = lc.get("/__admin/contacts", params={"include_deleted": "true"}).json()["contacts"]
    assert listed["deleted"] is True


def test_export_and_import_round_trip_and_continue_the_id_sequence(
    lc: httpx.Client, sim: LeadConnectorSim
) -> None:
    create(lc, firstName="Ada", tags=["vip"])
    snapshot = lc.get("/__admin/state").json()
    twin = LeadConnectorSim(token=TOKEN, location_id=LOCATION, seed=11)
    twin.import_state(snapshot)
    assert twin.export_state() == snapshot
    assert (
        twin.seed_contacts([{"firstName": "Bob"}])[0]["id"]
        == sim.seed_contacts([{"firstName": "Bob"}])[0]["id"]
    )


def test_the_same_seed_gives_the_same_ids() -> None:
    first = LeadConnectorSim(seed=3).seed_contacts([{"firstName": "Ada"}, {"firstName": "Bob"}])
    second = LeadConnectorSim(seed=3).seed_contacts([{"firstName": "Ada"}, {"firstName": "Bob"}])
    assert [c["id"] for c in first] == [c["id"] for c in second]
