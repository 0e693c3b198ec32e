"""LeadConnector connector, write side, against the simulator over real HTTP: partial updates, tag
deltas, duplicates, creates whose reply was lost, record errors, stops and the dry-run calls."""

from __future__ import annotations

import time

import pytest
from test_leadconnector_support import (  # noqa: F401 - fixtures
    LOCATION,
    SHIRT_FIELD,
    SINCE_FIELD,
    Lc,
    connector_fixture,
    contact,
    lc_fixture,
    person,
    running_fixture,
    writes,
)

from syncengine.connectors.base import WriteOp, WriteResult
from syncengine.connectors.errors import (
    AuthError,
    DuplicateRecordError,
    MissingRecordError,
    OutcomeUnknownError,
    RecordError,
)
from syncengine.connectors.http import HttpOptions
from syncengine.connectors.leadconnector import LeadConnectorConnector
from syncengine.fieldmaps.leadconnector import CustomField, LeadConnectorCatalogue


def update(remote_id: str, op_id: str = "u1", **fields: object) -> WriteOp:
    return WriteOp(op_id, "leadconnector", "update", remote_id=remote_id, **fields)  # type: ignore[arg-type]


def create(i: int, op_id: str = "c1", **values: object) -> WriteOp:
    return WriteOp(op_id, "leadconnector", "create", values=person(i, **values))


def sent(lc: Lc) -> list[tuple[str, str, object]]:
    return [(e["method"], e["path"], e["body"]) for e in lc.journal()]


# ---------------------------------------------------------------------- updates


def test_an_update_puts_only_the_changed_fields(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1, tags=["vip"])])
    lc.clear_journal()

    [result] = connector.push([update(seeded["id"], values={"last_name": "Changed", "company": None})])

    assert result.ok, result.error
    assert sent(lc) == [("PUT", f"/contacts/{seeded['id']}", {"lastName": "Changed", "companyName": None})]
    assert result.record is not None and result.record.raw["lastName"] == "Changed"


def test_an_update_that_sets_the_tags_sends_the_whole_list(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1, tags=["vip", "old"])])
    lc.clear_journal()

    connector.push([update(seeded["id"], values={"tags": ["vip", "new"]})])

    assert [body for _, _, body in sent(lc)] == [{"tags": ["new", "vip"]}]
    assert lc.contacts()[0]["tags"] == ["new", "vip"]


def test_tag_deltas_keep_a_tag_added_in_the_crm_meanwhile(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1, tags=["vip", "old"])])
    lc.ui_edit(seeded["id"], tags=["vip", "old", "partner"])  # added by a person after the engine's read
    lc.clear_journal()
    op = update(
        seeded["id"],
        values={"tags": ["vip", "gift"], "city": "Dallas"},
        add={"tags": frozenset({"gift"})},
        remove={"tags": frozenset({"old"})},
    )

    [result] = connector.push([op])

    assert result.ok, result.error
    path = f"/contacts/{seeded['id']}"
    assert sent(lc) == [
        ("POST", path + "/tags", {"tags": ["gift"]}),
        ("DELETE", path + "/tags", {"tags": ["old"]}),
        ("PUT", path, {"city": "Dallas"}),
    ]
    assert sorted(lc.contacts()[0]["tags"]) == ["gift", "partner", "vip"]
    assert result.record is not None and sorted(result.record.raw["tags"]) == ["gift", "partner", "vip"]


def test_tag_deltas_alone_read_the_record_back(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1)])
    lc.clear_journal()

    [result] = connector.push([update(seeded["id"], add={"tags": frozenset({"vip"})})])

    assert [m for m, _, _ in sent(lc)] == ["POST", "GET"]
    assert result.ok and result.record is not None and result.record.raw["tags"] == ["vip"]


def test_custom_fields_are_written_by_id(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1)])
    lc.clear_journal()

    connector.push(
        [update(seeded["id"], values={"shirt_size": "LG", "custom": {"client_since": "2021-05-01"}})]
    )

    [(_, _, body)] = sent(lc)
    assert body == {
        "customFields": [
            {"id": SHIRT_FIELD, "field_value": "LG"},
            {"id": SINCE_FIELD, "field_value": "2021-05-01"},
        ]
    }


def test_a_429_on_the_write_is_retried(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1)])
    lc.faults(burst_429=1, methods=["PUT"])

    [result] = connector.push([update(seeded["id"], values={"last_name": "X"})])

    assert result.ok and lc.contacts()[0]["lastName"] == "X"


# ---------------------------------------------------------------------- creates


def test_a_create_posts_the_values_with_the_location(lc: Lc, connector: LeadConnectorConnector) -> None:
    lc.clear_journal()

    [result] = connector.push([create(1, tags=["vip"], phone="+15125550147")])

    assert result.ok and result.record is not None
    [(method, path, body)] = sent(lc)
    assert (method, path) == ("POST", "/contacts/") and body["locationId"] == LOCATION
    assert body["tags"] == ["vip"] and body["phone"] == "+15125550147"
    assert [c["id"] for c in lc.contacts()] == [result.record.remote_id]


def test_a_duplicate_create_names_the_existing_record(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1)])

    [result] = connector.push([create(1)])

    assert isinstance(result.error, DuplicateRecordError)
    assert result.error.existing_id == seeded["id"] and result.error.field == "email"
    assert len(lc.contacts()) == 1


def test_a_duplicate_create_can_update_the_existing_record(lc: Lc) -> None:
    connector = lc.connector(update_duplicates=True)
    [seeded] = lc.seed([contact(1, tags=["partner"])])

    [result] = connector.push([create(1, company="Engines", tags=["vip"])])

    assert result.ok and result.record is not None and result.record.remote_id == seeded["id"]
    [stored] = lc.contacts()
    assert stored["companyName"] == "Engines" and sorted(stored["tags"]) == ["partner", "vip"]


def test_a_create_whose_reply_was_lost_is_found_not_sent_again(
    lc: Lc, connector: LeadConnectorConnector
) -> None:
    lc.faults(drop_after_rate=1.0, methods=["POST"], paths=["/contacts/"])

    [result] = connector.push([create(1)])

    assert result.ok and result.recovered and result.record is not None
    assert [c["id"] for c in lc.contacts()] == [result.record.remote_id]
    assert [(e["method"], e["path"]) for e in writes(lc.journal())] == [("POST", "/contacts/")]


def test_a_create_that_timed_out_is_not_resent_and_is_found_later(lc: Lc) -> None:
    connector = lc.connector(http=HttpOptions(read_timeout=0.2))
    connector.load_catalogue()
    lc.faults(timeout_rate=1.0, timeout_seconds=0.6, methods=["POST"], paths=["/contacts/"])
    op = create(1)

    [result] = connector.push([op])

    assert isinstance(result.error, OutcomeUnknownError)
    time.sleep(0.8)  # the slow server applies the create after the client gave up
    found = connector.find_created(op)
    assert found is not None and [c["id"] for c in lc.contacts()] == [found.remote_id]
    assert len(writes(lc.journal())) == 1


def test_find_created_ignores_an_older_contact_when_duplicates_are_allowed(
    lc: Lc, connector: LeadConnectorConnector
) -> None:
    lc.configure(allow_duplicates=True)
    lc.seed([contact(1, dateAdded="2020-01-01T00:00:00.000Z")])
    # Seed 1 drops the first POST (the create) and answers the second (the search that finds it).
    lc.faults(drop_after_rate=0.5, methods=["POST"], paths=["/contacts/"], seed=1)

    [result] = connector.push([create(1)])

    assert result.ok and result.recovered and result.record is not None
    newest = max(lc.contacts(), key=lambda c: c["dateAdded"])
    assert result.record.remote_id == newest["id"]


def test_find_created_without_email_or_phone_finds_nothing(connector: LeadConnectorConnector) -> None:
    assert (
        connector.find_created(WriteOp("c9", "leadconnector", "create", values={"first_name": "Ada"})) is None
    )


# ---------------------------------------------------------------------- record errors and stops


def test_an_invalid_value_is_left_out_naming_the_field_and_the_rest_is_sent(
    lc: Lc, connector: LeadConnectorConnector
) -> None:
    [seeded] = lc.seed([contact(1)])
    lc.clear_journal()

    [result] = connector.push([update(seeded["id"], values={"country": "SS", "company": "Kept"})])

    assert result.ok and result.error is None
    [left] = result.left_out
    assert left.field == "country" and seeded["id"] in str(left) and "'SS'" in str(left)
    assert [w["body"] for w in writes(lc.journal())] == [{"companyName": "Kept"}]


def test_a_delta_on_a_set_leadconnector_lacks_is_left_out(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1)])
    lc.clear_journal()

    [result] = connector.push([update(seeded["id"], add={"lists": frozenset({"Holiday Gift"})})])

    assert result.ok and [e.field for e in result.left_out] == ["lists"]
    assert writes(lc.journal()) == []


def test_a_422_names_the_canonical_field_of_the_custom_field_it_refused(
    lc: Lc, connector: LeadConnectorConnector
) -> None:
    [seeded] = lc.seed([contact(1)])
    as_number = CustomField(SINCE_FIELD, "Client Since", "contact.client_since", "NUMERICAL")
    connector.field_map = connector.field_map.with_catalogue(LeadConnectorCatalogue({SINCE_FIELD: as_number}))

    [result] = connector.push([update(seeded["id"], values={"custom": {"client_since": "2020"}})])

    assert isinstance(result.error, RecordError) and result.error.status == 422
    assert result.error.field == "custom"


def test_a_missing_record_fails_its_op_and_the_batch_goes_on(
    lc: Lc, connector: LeadConnectorConnector
) -> None:
    gone, kept = lc.seed([contact(1), contact(2)])
    lc.admin.delete(f"/contacts/{gone['id']}").raise_for_status()
    reported: list[WriteResult] = []

    results = connector.push(
        [update(gone["id"], "u1", values={"city": "X"}), update(kept["id"], "u2", values={"city": "Y"})],
        on_result=reported.append,
    )

    assert isinstance(results[0].error, MissingRecordError) and results[1].ok
    assert reported == results


def test_refused_credentials_stop_the_batch(lc: Lc) -> None:
    [seeded] = lc.seed([contact(1)])
    connector = lc.connector(token="expired-token-987654")
    connector.catalogue = LeadConnectorCatalogue()  # as if loaded before the token expired

    with pytest.raises(AuthError) as caught:
        connector.push(
            [update(seeded["id"], values={"city": "X"}), update(seeded["id"], "u2", values={"city": "Y"})]
        )

    assert "expired-token-987654" not in str(caught.value)
    assert len(writes(lc.journal())) == 1


# ---------------------------------------------------------------------- dry run


def test_describe_equals_what_push_sends(lc: Lc, connector: LeadConnectorConnector) -> None:
    [seeded] = lc.seed([contact(1, tags=["old"])])
    ops = [
        create(2, tags=["vip"], shirt_size="SM"),
        update(seeded["id"], "u1", values={"last_name": "New"}, add={"tags": frozenset({"a"})}),
        update(seeded["id"], "u2", remove={"tags": frozenset({"old"})}),
        update(seeded["id"], "u3", values={"country": "BQ"}),  # refused locally: nothing is sent
    ]
    described = connector.describe(ops)
    lc.clear_journal()

    connector.push(ops)

    assert [(c.method, c.path, c.body) for c in described] == sent(lc)
