"""CorporateMerch connector, write side, against the simulator over real HTTP: whole-record updates,
set deltas, stale records, creates whose reply was lost, record errors and the dry-run calls."""

from __future__ import annotations

import time

import pytest
from test_corporatemerch_support import (  # noqa: F401 - fixtures
    KEPT,
    Cm,
    cm_fixture,
    connector_fixture,
    contact,
    person,
    running_fixture,
    writes,
)

from syncengine.connectors.base import WriteOp, WriteResult
from syncengine.connectors.corporatemerch import CorporateMerchConnector
from syncengine.connectors.corporatemerch_writes import record_body
from syncengine.connectors.errors import (
    AuthError,
    MissingRecordError,
    OutcomeUnknownError,
    RecordError,
    StaleRecordError,
)
from syncengine.connectors.http import HttpOptions
from syncengine.fieldmaps.corporatemerch import CorporateMerchCatalogue


def update(remote_id: str, op_id: str = "u1", **fields: object) -> WriteOp:
    return WriteOp(op_id, "corporatemerch", "update", remote_id=remote_id, **fields)  # type: ignore[arg-type]


def create(i: int, op_id: str = "c1", **values: object) -> WriteOp:
    return WriteOp(op_id, "corporatemerch", "create", values=person(i, **values))


# ---------------------------------------------------------------------- updates


def test_an_update_reads_then_puts_the_whole_record_with_only_the_change(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1, labels=[1], lists=[11], phone_number="+15125550147", **KEPT)])
    cm.clear_journal()

    [result] = connector.push([update(str(seeded["id"]), values={"last_name": "Changed"})])

    assert result.ok, result.error
    get, put = cm.journal()
    assert (get["method"], put["method"]) == ("GET", "PUT")
    assert put["body"] == {**record_body(seeded), "last_name": "Changed"}


def test_fields_the_engine_does_not_sync_survive_an_update(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1, **KEPT)])

    connector.push([update(str(seeded["id"]), values={"title": "Buyer"})])

    [stored] = cm.contacts()
    assert {k: stored[k] for k in KEPT} == KEPT and stored["position"] == "Buyer"


def test_none_clears_an_optional_field(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1, department="Sales")])

    [result] = connector.push([update(str(seeded["id"]), values={"department": None})])

    assert result.ok and result.record is not None and result.record.raw["department"] is None


def test_a_replaced_set_is_sent_whole_as_ids(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1, labels=[1])])
    cm.clear_journal()

    connector.push([update(str(seeded["id"]), values={"tags": ["beta", "gamma"]})])

    assert writes(cm.journal())[0]["body"]["labels"] == [2, 3]


def test_set_deltas_keep_a_member_added_in_the_crm_meanwhile(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1, labels=[1], lists=[11])])
    cm.ui_edit(seeded["id"], labels=[1, 3])  # gamma added by a person after the engine's read
    op = update(
        str(seeded["id"]),
        values={"tags": ["beta"], "lists": ["New Hire Kit"]},
        add={"tags": frozenset({"beta"}), "lists": frozenset({"New Hire Kit"})},
        remove={"tags": frozenset({"alpha"})},
    )

    [result] = connector.push([op])

    assert result.ok, result.error
    [stored] = cm.contacts()
    assert sorted(stored["labels"]) == [2, 3] and stored["lists"] == [11, 12]


def test_a_record_that_moved_since_it_was_read_is_left_for_the_next_run(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1)])
    expected = connector.get(str(seeded["id"]))
    cm.sim.state.clock.advance(5)
    cm.ui_edit(seeded["id"], city="Dallas")
    cm.clear_journal()

    [result] = connector.push([update(str(seeded["id"]), values={"last_name": "X"}, expected=expected)])

    assert isinstance(result.error, StaleRecordError) and "updated at" in str(result.error)
    assert writes(cm.journal()) == [] and cm.contacts()[0]["last_name"] == "Last1"


def test_a_change_within_the_same_timestamp_is_seen_in_the_content(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    cm.sim.state.clock.freeze()  # every write in this test shares one updated_at
    [seeded] = cm.seed([contact(1)])
    expected = connector.get(str(seeded["id"]))
    edited = cm.ui_edit(seeded["id"], city="Dallas")
    assert edited["updated_at"] == expected.raw["updated_at"]

    [result] = connector.push([update(str(seeded["id"]), values={"last_name": "X"}, expected=expected)])

    assert isinstance(result.error, StaleRecordError) and "city changed" in str(result.error)


def test_a_record_as_expected_is_written(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1)])
    expected = connector.get(str(seeded["id"]))

    [result] = connector.push([update(str(seeded["id"]), values={"last_name": "X"}, expected=expected)])

    assert result.ok and cm.contacts()[0]["last_name"] == "X"


def test_a_429_on_the_write_is_retried(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1)])
    cm.faults(burst_429=1, methods=["PUT"])

    [result] = connector.push([update(str(seeded["id"]), values={"last_name": "X"})])

    assert result.ok and cm.contacts()[0]["last_name"] == "X"


# ---------------------------------------------------------------------- record errors


def test_an_invalid_value_is_left_out_naming_the_field_and_the_rest_is_sent(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1)])
    cm.clear_journal()

    [result] = connector.push(
        [update(str(seeded["id"]), values={"region": "ON", "title": "Kept"})]  # ON: not a US state
    )

    assert result.ok and result.error is None
    [left] = result.left_out
    assert left.field == "region" and str(seeded["id"]) in str(left) and "'ON'" in str(left)
    [put] = writes(cm.journal())
    assert put["body"]["position"] == "Kept" and put["body"]["state"] == "TX"


def test_an_op_whose_every_field_is_refused_sends_nothing(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1)])
    cm.clear_journal()

    [result] = connector.push([update(str(seeded["id"]), values={"region": "ON"})])

    assert result.ok and [e.field for e in result.left_out] == ["region"]
    assert writes(cm.journal()) == []


def test_clearing_a_required_field_is_left_out_locally(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1)])

    [result] = connector.push([update(str(seeded["id"]), values={"first_name": None, "title": "Kept"})])

    assert result.ok and [e.field for e in result.left_out] == ["first_name"]
    assert result.record is not None and result.record.raw["first_name"] == "First1"
    assert result.record.raw["position"] == "Kept"


def test_a_create_with_a_required_field_it_cannot_take_is_refused_whole(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    values = {"first_name": "Ada", "last_name": "L", "email": "ada@cm.example", "contact_type": "client",
              "street": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "78701",
              "country": "Narnia"}  # fmt: skip

    [result] = connector.push([WriteOp("c1", "corporatemerch", "create", values=values)])

    assert not result.ok and isinstance(result.error, RecordError) and result.error.field == "country"
    assert "alpha-2" in str(result.error) and writes(cm.journal()) == []


def test_an_unknown_tag_is_left_out_and_the_known_ones_are_written(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    [seeded] = cm.seed([contact(1)])

    [result] = connector.push([update(str(seeded["id"]), values={"tags": ["nope", "alpha"]})])

    assert result.ok and [e.field for e in result.left_out] == ["tags"]
    assert "'nope'" in str(result.left_out[0]) and "'alpha'" not in str(result.left_out[0])
    assert result.record is not None and connector.to_canonical(result.record).values["tags"] == ["alpha"]


def test_a_422_from_the_system_names_the_canonical_field(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1)])
    connector.field_map = connector.field_map.with_catalogue(CorporateMerchCatalogue(labels={99: "ghost"}))

    [result] = connector.push([update(str(seeded["id"]), values={"tags": ["ghost"]})])

    assert isinstance(result.error, RecordError) and result.error.status == 422
    assert result.error.field == "tags"


def test_a_create_without_required_fields_names_each_and_sends_nothing(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    values = {k: v for k, v in person(1).items() if k not in ("city", "postal_code")}
    cm.clear_journal()

    [result] = connector.push([WriteOp("c1", "corporatemerch", "create", values=values)])

    assert isinstance(result.error, RecordError) and result.error.field == "city"
    assert "postal_code" in str(result.error)
    assert cm.journal() == []


def test_one_failed_op_does_not_stop_the_others(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1)])
    cm.admin.delete(f"/contacts/{seeded['id']}").raise_for_status()
    reported: list[WriteResult] = []

    results = connector.push(
        [update(str(seeded["id"]), "gone", values={"last_name": "X"}), create(2, "new")],
        on_result=reported.append,
    )

    assert [r.op_id for r in reported] == ["gone", "new"] == [r.op_id for r in results]
    assert isinstance(results[0].error, MissingRecordError) and results[1].ok


def test_refused_credentials_stop_the_batch(cm: Cm) -> None:
    connector = cm.connector(token="wrong-token-4711")
    connector.catalogue = CorporateMerchCatalogue()

    with pytest.raises(AuthError):
        connector.push([create(1), create(2, "c2")])

    assert len(cm.journal()) == 1


# ---------------------------------------------------------------------- creates


def test_a_create_posts_the_values_and_returns_the_record(cm: Cm, connector: CorporateMerchConnector) -> None:
    [result] = connector.push([create(1, tags=["alpha"], lists=["Holiday Gift"])])

    assert result.ok and result.record is not None
    assert connector.to_canonical(result.record).values == person(1, tags=["alpha"], lists=["Holiday Gift"])


def test_a_create_whose_reply_was_lost_is_found_and_not_sent_again(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    cm.seed([contact(1, created_at="2020-01-01T00:00:00.000Z")])  # an older record with the same email
    cm.faults(drop_after_rate=1.0, methods=["POST"])

    [result] = connector.push([create(1)])

    assert result.ok and result.recovered and result.record is not None
    assert len([e for e in cm.journal() if e["method"] == "POST"]) == 1
    assert result.record.remote_id == str(max(c["id"] for c in cm.contacts()))


def test_a_create_that_did_not_happen_is_not_mistaken_for_an_older_record(
    cm: Cm, connector: CorporateMerchConnector
) -> None:
    cm.seed([contact(1, created_at="2020-01-01T00:00:00.000Z")])
    cm.faults(error_rate=1.0, error_status=500, methods=["POST"])

    [result] = connector.push([create(1)])

    assert isinstance(result.error, OutcomeUnknownError) and len(cm.contacts()) == 1


def test_a_create_that_lands_after_a_timeout_is_found_later(cm: Cm) -> None:
    connector = cm.connector(http=HttpOptions(read_timeout=0.2))
    connector.load_catalogue()
    cm.faults(timeout_rate=1.0, timeout_seconds=0.6, methods=["POST"])
    op = create(1)

    [result] = connector.push([op])
    deadline = time.monotonic() + 5
    while not cm.contacts() and time.monotonic() < deadline:
        time.sleep(0.05)
    found = connector.find_created(op)

    assert isinstance(result.error, OutcomeUnknownError)
    assert found is not None and found.remote_id == str(cm.contacts()[0]["id"])
    assert len([e for e in cm.journal() if e["method"] == "POST"]) == 1


# ---------------------------------------------------------------------- the dry run


def test_describe_shows_exactly_the_calls_push_makes(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1, labels=[1], **KEPT)])
    expected = connector.get(str(seeded["id"]))
    ops = [
        create(2, tags=["beta"]),
        update(
            str(seeded["id"]),
            values={"title": "Buyer"},
            add={"tags": frozenset({"gamma"})},
            expected=expected,
        ),
    ]
    described = connector.describe(ops)
    cm.clear_journal()

    connector.push(ops)

    sent = [(e["method"], e["path"], e["body"]) for e in cm.journal()]
    assert sent == [(c.method, "/v2" + c.path, c.body) for c in described]


def test_describe_leaves_out_what_push_would_refuse(cm: Cm, connector: CorporateMerchConnector) -> None:
    [seeded] = cm.seed([contact(1)])
    expected = connector.get(str(seeded["id"]))
    ops = [create(2, country="XK"), update(str(seeded["id"]), values={"first_name": None}, expected=expected)]

    described = connector.describe(ops)

    assert [(c.method, c.op_ids) for c in described] == [("GET", ("u1",))]
