"""The Apollo field map: round trips through the simulator's store and the values it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import apollo_records
from test_apollo_support import CATALOGUES

from syncengine.canonical import InvalidValueError
from syncengine.connectors.base import ConnectorOptions
from syncengine.fieldmaps.apollo import ApolloCatalogue, ApolloMap, CustomField, compose_address
from syncengine.sim.apollo.bulk import set_on_many
from syncengine.sim.apollo.shapes import CREATE_FIELDS
from syncengine.sim.apollo.simulator import ApolloSim
from syncengine.sim.apollo.store import WriteOptions


def team() -> ApolloSim:
    sim = ApolloSim()
    sim.seed_custom_fields(CATALOGUES["typed_custom_fields"])
    return sim


def catalogue_of(sim: ApolloSim) -> ApolloCatalogue:
    """The catalogue as ``load_catalogue`` reads it from the simulator's endpoints."""
    fields = tuple(
        CustomField(f["id"], f["name"], f["type"], {v["id"]: v["name"] for v in f.get("picklist_values", [])})
        for f in sim.catalogues.custom_fields.values()
    )
    return ApolloCatalogue(
        labels={i: label["name"] for i, label in sim.catalogues.labels.items()},
        stages={i: s["name"] for i, s in sim.catalogues.stages.items()},
        users={i: u["email"] for i, u in sim.catalogues.users.items()},
        custom_fields=fields,
    )


def stored_after_create(sim: ApolloSim, body: dict[str, Any]) -> dict[str, Any]:
    """The contact as Apollo stores it after ``POST /contacts`` (+ ``update_owners``) with ``body``."""
    body = dict(body)
    owner_id = body.pop("owner_id", None)
    record = sim.store.create(sim.store.check_write(body, CREATE_FIELDS), WriteOptions())
    if owner_id:
        set_on_many(sim.store, [record["id"]], "owner_id", owner_id)
    return record


SIM = team()
MAP = ApolloMap(catalogue_of(SIM))
STAGES = sorted(MAP.catalogue.stages.values())
OWNERS = sorted(MAP.catalogue.users.values())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(apollo_records(MAP.fields, STAGES, OWNERS))
def test_a_created_record_reads_back_as_the_values_written(values: dict[str, Any]) -> None:
    sim = team()
    record = stored_after_create(sim, ApolloMap(catalogue_of(sim)).create_body(values))

    assert ApolloMap(catalogue_of(sim)).to_canonical(record).values == values


def test_the_map_holds_the_sample_catalogue_custom_fields() -> None:
    assert {"shirt_size", "custom", "tags", "stage", "owner", "phone_home"} <= MAP.fields
    assert "website" not in MAP.fields  # Apollo keeps the website on the account, not the contact


def test_a_ui_address_reads_through_apollos_inferred_location() -> None:
    raw = {
        "present_raw_address": "San Francisco Bay Area",
        "city": "San Francisco",
        "state": "California",
        "country": "United States",
    }

    values = MAP.to_canonical(raw).values

    assert values == {"city": "San Francisco", "region": "CA", "country": "US"}


def test_a_country_edited_apart_from_the_address_line_is_reported_not_read() -> None:
    line = compose_address({"street": "1 Main St", "city": "Austin", "region": "TX", "country": "US"})
    raw = {"present_raw_address": line, "city": "Austin", "state": "Texas", "country": "Germany"}

    canonical = MAP.to_canonical(raw)

    assert canonical.values["country"] == "US" and canonical.values["street"] == "1 Main St"
    flagged = canonical.invalid["country"]
    assert flagged.raw == "Germany" and "'Germany'" in flagged.reason and "address line" in flagged.reason


def test_a_country_apollo_inferred_from_the_line_is_no_disagreement() -> None:
    line = compose_address({"city": "Austin", "region": "TX", "country": "US"})

    for country in ("United States", None, ""):
        raw = {"present_raw_address": line, "country": country}
        assert MAP.to_canonical(raw).invalid == {}, country
    no_country = compose_address({"city": "Austin", "region": "TX"})
    assert MAP.to_canonical({"present_raw_address": no_country, "country": "United States"}).invalid == {}


def test_the_address_line_is_one_apollo_infers_from() -> None:
    line = compose_address({"street": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "78701"})

    sim = team()
    record = stored_after_create(sim, {"present_raw_address": line + "United States"})

    assert line == "1 Main St, , Austin, TX 78701, "
    assert (record["city"], record["state"]) == ("Austin", "Texas")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"street": "1 Main St, Apt 4"}, "street"),
        ({"region": "Zone 5", "country": "DE"}, "region"),
        ({"postal_code": "ABC DEF"}, "postal_code"),
        ({"stage": "Nonexistent"}, "stage"),
        ({"shirt_size": "MD", "email": "not an email"}, "email"),
        ({"custom": {"favourite_colour": "red"}}, "custom"),
        ({"website": "https://example.com"}, "website"),
    ],
)
def test_a_value_apollo_cannot_hold_is_refused_naming_its_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        MAP.create_body(values)

    assert caught.value.field == field


def test_an_update_clears_with_empty_values_and_sends_only_the_changes() -> None:
    body = MAP.update_body({"title": None, "phone_mobile": None, "tags": None, "shirt_size": None})

    shirt = next(fid for fid, target in MAP.targets.items() if target == "shirt_size")
    assert body == {"title": "", "mobile_phone": "", "label_names": [], "typed_custom_fields": {shirt: ""}}


def test_a_shirt_size_is_written_as_its_picklist_option_id() -> None:
    body = MAP.create_body({"shirt_size": "XL"})

    [(field_id, option_id)] = body["typed_custom_fields"].items()
    assert MAP.catalogue.custom_fields[0].options[option_id] == "XL"
    assert MAP.targets[field_id] == "shirt_size"


def test_a_list_id_missing_from_the_catalogue_is_flagged_not_dropped() -> None:
    canonical = MAP.to_canonical({"label_ids": ["0123456789abcdef01234567"]})

    assert "tags" in canonical.invalid and "tags" not in canonical.values


def test_a_custom_field_option_may_map_a_field_by_name() -> None:
    options = ConnectorOptions(custom_fields={"start_date": "Client Since"})

    remapped = ApolloMap(MAP.catalogue, options)

    since = next(f.id for f in MAP.catalogue.custom_fields if f.name == "Client Since")
    assert remapped.targets[since] == "start_date" and "start_date" in remapped.fields


def test_a_custom_field_option_naming_no_field_is_an_error() -> None:
    with pytest.raises(ValueError, match="Favourite"):
        ApolloMap(MAP.catalogue, ConnectorOptions(custom_fields={"gender": "Favourite"}))


@given(st.sampled_from(["CA", "US", "GB", "XK", "DE"]))
def test_the_country_slot_reads_back_as_its_code(code: str) -> None:
    line = compose_address({"city": "Springfield", "country": code})

    assert MAP.to_canonical({"present_raw_address": line}).values["country"] == code
