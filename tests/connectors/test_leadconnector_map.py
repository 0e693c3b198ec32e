"""The LeadConnector field map: reading records, writing bodies, refusing what LeadConnector would
refuse, and the round trip canonical -> create body -> stored record -> canonical."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import leadconnector_records
from test_leadconnector_support import (  # noqa: F401 - fixtures
    SHIRT_FIELD,
    SINCE_FIELD,
    Lc,
    contact,
    lc_fixture,
    running_fixture,
)

from syncengine.canonical import InvalidValueError
from syncengine.connectors.base import ConnectorOptions, WriteOp
from syncengine.connectors.leadconnector_writes import read_shape
from syncengine.fieldmaps.leadconnector import (
    UPDATE_WHITELIST,
    CustomField,
    LeadConnectorCatalogue,
    LeadConnectorMap,
)
from syncengine.sim.core import SimClock
from syncengine.sim.leadconnector.shapes import get_shape, search_shape
from syncengine.sim.leadconnector.store import ContactStore, LocationSettings
from syncengine.sim.leadconnector.values import CREATE_FIELDS
from syncengine.sim.sampledata import catalogues

SAMPLE = LeadConnectorCatalogue.from_json(catalogues()["leadconnector"]["customFields"])


def catalogue_for(record: Mapping[str, Any]) -> LeadConnectorCatalogue:
    """The sample catalogue's shirt-size picklist plus a text field for each custom key of ``record``."""
    fields = {SHIRT_FIELD: SAMPLE.custom_fields[SHIRT_FIELD]}
    for i, key in enumerate(record.get("custom", {})):
        field_id = f"TextField{i:011d}"
        fields[field_id] = CustomField(field_id, key.replace("_", " ").title(), f"contact.{key}", "TEXT")
    return LeadConnectorCatalogue(fields)


def stored_after_create(body: Mapping[str, Any], catalogue: LeadConnectorCatalogue) -> dict[str, Any]:
    """The contact as LeadConnector answers ``GET /contacts/{id}`` after ``POST /contacts/`` with
    ``body``, applied with the simulator's validation and store (its documented write rules)."""
    store = ContactStore("Loc", SimClock(), LocationSettings())
    for custom_field in catalogue.custom_fields.values():
        store.add_custom_field(
            {
                "id": custom_field.id,
                "name": custom_field.name,
                "fieldKey": custom_field.key,
                "dataType": custom_field.data_type,
                "picklistOptions": list(custom_field.options),
            }
        )
    changes = store.validator().check({"locationId": "Loc", **body}, CREATE_FIELDS)
    return get_shape(store.create(changes))


# ---------------------------------------------------------------------- reading


def test_fields_are_the_native_fields_plus_what_the_catalogue_feeds() -> None:
    bare, loaded = LeadConnectorMap().fields, LeadConnectorMap(SAMPLE).fields

    assert {"first_name", "phone", "company", "street", "region", "tags", "date_of_birth"} <= bare
    # assignedTo is a LeadConnector user id: never taken for Apollo's owner.
    assert not {"title", "phone_mobile", "lists", "shirt_size", "custom", "gender", "owner"} & bare
    assert loaded - bare == {"shirt_size", "custom"}


def test_to_canonical_renames_and_normalises() -> None:
    raw = contact(
        1,
        email="Ada@Example.COM",
        companyName="Engines",
        dateOfBirth="1990-02-03T00:00:00.000Z",
        tags=["vip", "lead"],
        assignedTo="UserId00000000000001",
    )

    values = LeadConnectorMap().to_canonical(raw).values

    assert values["email"] == "ada@example.com" and values["company"] == "Engines"
    assert values["date_of_birth"] == "1990-02-03" and values["street"] == "1 Main St"
    assert values["tags"] == ["lead", "vip"] and "owner" not in values


def test_custom_fields_feed_canonical_fields_and_custom_keys() -> None:
    raw = contact(
        1,
        customFields=[{"id": SHIRT_FIELD, "value": "XL"}, {"id": SINCE_FIELD, "value": "2020-03-01"}],
    )

    values = LeadConnectorMap(SAMPLE).to_canonical(raw).values

    assert values["shirt_size"] == "XL" and values["custom"] == {"client_since": "2020-03-01"}


def test_a_custom_field_not_in_the_catalogue_is_not_synced() -> None:
    raw = contact(1, customFields=[{"id": "NotInTheCatalogue001", "value": "x"}])

    assert "custom" not in LeadConnectorMap(SAMPLE).to_canonical(raw).values


def test_a_user_mapping_sends_a_custom_field_to_another_target() -> None:
    options = ConnectorOptions(custom_fields={"start_date": "Client Since"})

    values = LeadConnectorMap(SAMPLE, options).to_canonical(
        contact(1, customFields=[{"id": SINCE_FIELD, "value": "2020-03-01"}])
    )

    assert values.values["start_date"] == "2020-03-01" and "custom" not in values.values


def test_an_unnormalisable_value_is_kept_raw_and_flagged() -> None:
    canonical = LeadConnectorMap().to_canonical(contact(1, website="not a url at all"))

    assert canonical.values["website"] == "not a url at all" and "website" in canonical.invalid


def test_a_search_hit_reads_as_the_same_record_as_a_get() -> None:
    body = {"firstName": "Ada", "address1": "1 Main St", "dateOfBirth": "1990-02-03", "tags": ["vip"]}
    store = ContactStore("Loc", SimClock(), LocationSettings())
    stored = store.create(store.validator().check({"locationId": "Loc", **body}, CREATE_FIELDS))

    hit = search_shape(stored, [0, stored["id"]])

    assert hit["address"] == "1 Main St" and isinstance(hit["dateOfBirth"], int)
    assert read_shape(hit) == read_shape(get_shape(stored))


# ---------------------------------------------------------------------- writing


def test_create_body_uses_leadconnector_names() -> None:
    body = LeadConnectorMap(SAMPLE).create_body(
        {"first_name": "Ada", "company": "Engines", "tags": ["vip", "lead"], "shirt_size": "MD"}
    )

    assert body == {
        "firstName": "Ada",
        "companyName": "Engines",
        "tags": ["lead", "vip"],
        "customFields": [{"id": SHIRT_FIELD, "field_value": "MD"}],
    }


def test_create_body_leaves_out_fields_leadconnector_cannot_hold() -> None:
    body = LeadConnectorMap().create_body({"first_name": "Ada", "title": "Buyer", "contact_type": "client"})

    assert body == {"firstName": "Ada"}


def test_update_body_clears_with_null_or_with_an_empty_string_where_null_is_refused() -> None:
    body = LeadConnectorMap().update_body({"company": None, "postal_code": None, "country": None})

    assert body == {"companyName": None, "postalCode": "", "country": ""}


def test_update_body_sends_only_whitelisted_keys() -> None:
    values = {name: "x" for name in LeadConnectorMap().fields - {"tags", "country", "custom"}}

    assert set(LeadConnectorMap().update_body(values)) <= UPDATE_WHITELIST


def test_update_body_refuses_a_field_leadconnector_cannot_hold() -> None:
    with pytest.raises(InvalidValueError) as caught:
        LeadConnectorMap().update_body({"title": "Buyer"})

    assert caught.value.field == "title"


@pytest.mark.parametrize("country", ["BL", "BQ", "CW", "SS"])
def test_a_country_outside_leadconnectors_list_is_refused(country: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        LeadConnectorMap().update_body({"country": country})

    assert caught.value.field == "country" and country in str(caught.value)


def test_a_shirt_size_must_be_an_option_of_the_picklist() -> None:
    narrow = CustomField(SHIRT_FIELD, "Shirt Size", "contact.shirt_size", "SINGLE_OPTIONS", ("SM", "MD"))

    with pytest.raises(InvalidValueError) as caught:
        LeadConnectorMap(LeadConnectorCatalogue({SHIRT_FIELD: narrow})).update_body({"shirt_size": "3XL"})

    assert caught.value.field == "shirt_size" and "Shirt Size" in str(caught.value)


def test_a_picklist_option_spelled_differently_is_written_as_the_option() -> None:
    spelled = CustomField(SHIRT_FIELD, "Shirt Size", "contact.shirt_size", "RADIO", ("Small", "Medium"))

    body = LeadConnectorMap(LeadConnectorCatalogue({SHIRT_FIELD: spelled})).update_body({"shirt_size": "MD"})

    assert body["customFields"] == [{"id": SHIRT_FIELD, "field_value": "Medium"}]


def test_a_number_field_takes_numbers_only() -> None:
    count = CustomField("CountField0000000001", "Orders", "contact.orders", "NUMERICAL")
    field_map = LeadConnectorMap(LeadConnectorCatalogue({count.id: count}))

    assert field_map.update_body({"custom": {"orders": "12"}})["customFields"] == [
        {"id": count.id, "field_value": 12}
    ]
    with pytest.raises(InvalidValueError) as caught:
        field_map.update_body({"custom": {"orders": "twelve"}})
    assert caught.value.field == "custom"


def test_the_custom_map_clears_keys_it_no_longer_holds() -> None:
    body = LeadConnectorMap(SAMPLE).update_body({"custom": {}})

    assert body == {"customFields": [{"id": SINCE_FIELD, "field_value": None}]}


def test_a_custom_key_without_a_field_is_refused() -> None:
    with pytest.raises(InvalidValueError) as caught:
        LeadConnectorMap(SAMPLE).update_body({"custom": {"nickname": "Ada"}})

    assert caught.value.field == "custom" and "nickname" in str(caught.value)


# ---------------------------------------------------------------------- round trip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=leadconnector_records())
def test_a_created_record_reads_back_as_the_values_written(record: dict[str, Any]) -> None:
    catalogue = catalogue_for(record)
    field_map = LeadConnectorMap(catalogue)

    stored = stored_after_create(field_map.create_body(record), catalogue)
    canonical = field_map.to_canonical(read_shape(stored))

    assert canonical.invalid == {}
    assert canonical.values == record


@pytest.mark.parametrize(
    "record",
    [
        {"first_name": "Ada", "email": "ada@lc.example", "country": "XK", "region": "Prishtina"},
        {"last_name": "Ñúñez", "phone": "+442079460001", "tags": ["gift", "vip"], "shirt_size": "2XL"},
        {"email": "bo@lc.example", "date_of_birth": "1901-12-31", "website": "https://lc.example/a?b=1",
         "region": "QC", "country": "CA", "custom": {"client_since": "2019-01-05"}},
    ],
)  # fmt: skip
def test_a_record_created_over_http_reads_back_as_the_values_written(lc: Lc, record: dict[str, Any]) -> None:
    connector = lc.connector()
    connector.load_catalogue()

    [result] = connector.push([WriteOp("c1", "leadconnector", "create", values=record)])

    assert result.ok, result.error
    assert connector.to_canonical(connector.get(result.record.remote_id)).values == record  # type: ignore[union-attr]
