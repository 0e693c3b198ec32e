"""The CorporateMerch field map: reading records, writing bodies, refusing what CorporateMerch
would refuse, and the round trip canonical -> create body -> stored record -> canonical."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from test_corporatemerch_support import Cm, contact, running_fixture  # noqa: F401 - fixtures

from syncengine.canonical import InvalidValueError
from syncengine.connectors.base import ConnectorOptions, WriteOp
from syncengine.fieldmaps.corporatemerch import CorporateMerchCatalogue, CorporateMerchMap
from syncengine.sim.core import SimClock
from syncengine.sim.corporatemerch.store import ContactStore, read_shape
from syncengine.sim.corporatemerch.values import Rules
from tests.strategies import corporatemerch_records

CATALOGUE = CorporateMerchCatalogue(labels={1: "alpha", 2: "VIP"}, lists={5: "Holiday Gift"})


def catalogue_for(record: Mapping[str, Any]) -> CorporateMerchCatalogue:
    """A catalogue naming every tag and list of ``record`` (ids in a different order than names)."""
    labels = {i: name for i, name in enumerate(reversed(record.get("tags", [])), start=1)}
    lists = {i: name for i, name in enumerate(record.get("lists", []), start=100)}
    return CorporateMerchCatalogue(labels=labels, lists=lists)


def stored_after_create(body: Mapping[str, Any], catalogue: CorporateMerchCatalogue) -> dict[str, Any]:
    """The contact as CorporateMerch answers it after ``POST /contacts`` with ``body``, applied with the
    simulator's rules and store (trimmed strings, every field present, null when not sent)."""
    rules = Rules(lists=frozenset(catalogue.lists), labels=frozenset(catalogue.labels))
    return read_shape(ContactStore(SimClock()).create(rules.check(dict(body), address_required=True)))


# ---------------------------------------------------------------------- reading


def test_fields_are_the_canonical_fields_corporatemerch_holds() -> None:
    fields = CorporateMerchMap().fields

    assert {"contact_type", "shirt_size", "anniversary", "tags", "lists", "title", "company"} <= fields
    assert not {"phone_mobile", "website", "stage", "owner", "custom"} & fields


def test_to_canonical_renames_and_normalises() -> None:
    raw = contact(
        1, email="Ada@Example.COM", position="Buyer", birthday="1990-02-03", labels=[2, 1], lists=[5]
    )

    values = CorporateMerchMap(CATALOGUE).to_canonical(raw).values

    assert values["email"] == "ada@example.com" and values["title"] == "Buyer"
    assert values["date_of_birth"] == "1990-02-03" and values["street"] == "1 Main St"
    assert values["tags"] == ["alpha", "VIP"] and values["lists"] == ["Holiday Gift"]


def test_fields_the_engine_does_not_sync_stay_out_of_the_canonical_record() -> None:
    values = (
        CorporateMerchMap().to_canonical(contact(1, classification="VIP", client_since="2020-01-01")).values
    )

    assert "VIP" not in values.values() and "2020-01-01" not in values.values()


def test_an_unknown_label_id_is_flagged_not_dropped_silently() -> None:
    canonical = CorporateMerchMap(CATALOGUE).to_canonical(contact(1, labels=[1, 77]))

    assert canonical.values["tags"] == ["alpha"]
    assert "77" in canonical.invalid["tags"].reason


def test_an_unnormalisable_value_is_kept_raw_and_flagged() -> None:
    canonical = CorporateMerchMap().to_canonical(contact(1, phone_number="call me"))

    assert canonical.values["phone"] == "call me" and "phone" in canonical.invalid


def test_a_secondary_line_named_address2_reads_as_unit() -> None:
    raw = {k: v for k, v in contact(1, address2="Suite 4").items() if k != "address"}

    assert CorporateMerchMap().to_canonical(raw).values["unit"] == "Suite 4"


# ---------------------------------------------------------------------- writing


def test_create_body_uses_corporatemerch_names_and_label_ids() -> None:
    values = {
        "first_name": "Ada",
        "title": "Buyer",
        "tags": ["vip", "alpha"],
        "region": "TX",
        "country": "US",
    }

    body = CorporateMerchMap(CATALOGUE).create_body(values)

    assert body == {
        "first_name": "Ada",
        "position": "Buyer",
        "labels": [2, 1],
        "state": "TX",
        "country": "US",
    }


def test_update_body_sends_none_to_clear_an_optional_field() -> None:
    assert CorporateMerchMap().update_body({"department": None, "lists": None}) == {
        "department": None,
        "lists": [],
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"first_name": None}, "first_name"),
        ({"country": "XK"}, "country"),  # canonical knows Kosovo; CorporateMerch's ISO list does not
        ({"country": "US", "region": "PR"}, "region"),  # a territory, not a state CorporateMerch takes
        ({"date_of_birth": "1990-2-3"}, "date_of_birth"),
        ({"shirt_size": "XXL"}, "shirt_size"),
        ({"gender": "other"}, "gender"),
        ({"tags": ["unknown tag"]}, "tags"),
        ({"company": "x" * 256}, "company"),
        ({"website": "https://example.com"}, "website"),
    ],
)
def test_a_value_corporatemerch_would_refuse_names_its_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        CorporateMerchMap(CATALOGUE).update_body(values)

    assert caught.value.field == field


def test_a_custom_field_option_maps_a_kept_field_to_a_custom_target() -> None:
    field_map = CorporateMerchMap(
        options=ConnectorOptions(custom_fields={"custom.client_since": "Client Since"})
    )

    assert "custom" in field_map.fields
    assert field_map.to_canonical(contact(1, client_since="2020-03-01")).values["custom"] == {
        "client_since": "2020-03-01"
    }
    assert field_map.update_body({"custom": {"client_since": "2021-01-02"}}) == {"client_since": "2021-01-02"}


def test_a_custom_field_option_naming_no_corporatemerch_field_is_refused() -> None:
    with pytest.raises(ValueError, match="Favourite Colour"):
        CorporateMerchMap(options=ConnectorOptions(custom_fields={"custom.colour": "Favourite Colour"}))


# ---------------------------------------------------------------------- round trip


@given(corporatemerch_records())
def test_a_created_record_reads_back_as_the_values_written(record: dict[str, Any]) -> None:
    field_map = CorporateMerchMap(catalogue_for(record))

    stored = stored_after_create(field_map.create_body(record), field_map.catalogue)

    assert field_map.to_canonical(stored).values == record


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corporatemerch_records())
def test_a_record_created_over_http_reads_back_as_the_values_written(
    running: Cm, record: dict[str, Any]
) -> None:
    running.reset()
    running.admin.post("/labels", json={"labels": [{"name": t} for t in record.get("tags", [])]})
    running.admin.post("/lists", json={"lists": [{"name": n} for n in record.get("lists", [])]})
    connector = running.connector()
    connector.load_catalogue()
    try:
        [result] = connector.push([WriteOp("c1", "corporatemerch", "create", values=record)])
        assert result.ok, result.error
        assert connector.to_canonical(connector.get(result.record.remote_id)).values == record  # type: ignore[union-attr]
    finally:
        connector.close()
