"""Apollo writes: partial updates, list deltas, creates (bulk and single), recovery and errors."""

from __future__ import annotations

from typing import Any

import pytest
from test_apollo_support import (  # noqa: F401 - fixtures
    Apollo,
    apollo_fixture,
    connector_fixture,
    person,
    running_fixture,
    vendor,
)

from syncengine.connectors.apollo import ApolloConnector
from syncengine.connectors.base import WriteOp
from syncengine.connectors.errors import (
    AuthError,
    MissingRecordError,
    OutcomeUnknownError,
    RecordError,
    TransientError,
)


def create(connector: ApolloConnector, *values: dict[str, Any]) -> list[str]:
    ops = [WriteOp(f"c{i}", "apollo", "create", values=v) for i, v in enumerate(values)]
    results = connector.push(ops)
    assert all(r.ok for r in results), [str(r.error) for r in results]
    return [r.record.remote_id for r in results if r.record is not None]


def update(remote_id: str, op_id: str = "u1", **kw: Any) -> WriteOp:
    return WriteOp(op_id, "apollo", "update", remote_id=remote_id, **kw)


def writes(apollo: Apollo) -> list[dict[str, Any]]:
    return [
        c for c in vendor(apollo.journal()) if c["method"] in ("POST", "PATCH") and "search" not in c["path"]
    ]


def canonical(connector: ApolloConnector, remote_id: str) -> dict[str, Any]:
    return connector.to_canonical(connector.get(remote_id)).values


def test_an_update_sends_only_the_changed_fields(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = create(connector, person(1, title="Engineer"))
    apollo.clear_journal()

    [result] = connector.push([update(remote_id, values={"title": "CTO", "phone_mobile": "+15125550147"})])

    assert result.ok, result.error
    [patch] = writes(apollo)
    assert patch["method"] == "PATCH" and patch["body"] == {"title": "CTO", "mobile_phone": "+15125550147"}
    assert canonical(connector, remote_id)["phone_mobile"] == "+15125550147"


def test_list_deltas_keep_a_list_added_in_apollo_meanwhile(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    [remote_id] = create(connector, person(2, tags=["vip", "newsletter"]))
    apollo.ui_edit(remote_id, label_names=["vip", "newsletter", "webinar"])  # a person adds a list
    op = update(remote_id, values={"tags": ["vip", "merch"]}, add={"tags": frozenset({"merch"})},
                remove={"tags": frozenset({"newsletter"})})  # fmt: skip
    apollo.clear_journal()

    [result] = connector.push([op])

    assert result.ok, result.error
    assert {c["path"] for c in writes(apollo)} == {
        "/labels/add_entity_ids_to_label_names",
        "/labels/remove_entity_ids_from_label_names",
    }
    assert canonical(connector, remote_id)["tags"] == ["merch", "vip", "webinar"]


def test_a_whole_set_without_deltas_is_sent_whole(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = create(connector, person(3, tags=["vip"]))
    apollo.clear_journal()

    connector.push([update(remote_id, values={"tags": ["alpha", "vip"]})])

    [patch] = writes(apollo)
    assert patch["body"] == {"label_names": ["alpha", "vip"]}


def test_an_address_part_is_written_with_the_others_as_read_just_before(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    [remote_id] = create(connector, person(4))
    apollo.clear_journal()

    connector.push([update(remote_id, values={"postal_code": "78702"})])

    calls = [(c["method"], c["path"]) for c in vendor(apollo.journal())]
    assert calls[0] == ("GET", f"/contacts/{remote_id}")
    [patch] = writes(apollo)
    assert patch["body"] == {"present_raw_address": "4 Main St, , Austin, TX 78702, United States"}
    values = canonical(connector, remote_id)
    assert (values["street"], values["postal_code"], values["region"]) == ("4 Main St", "78702", "TX")


def test_several_creates_go_in_one_bulk_call_and_come_back_whole(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    apollo.clear_journal()

    ids = create(connector, *(person(i, tags=["vip"]) for i in range(5)))

    posts = writes(apollo)
    assert [c["path"] for c in posts] == ["/contacts/bulk_create"]
    assert posts[0]["body"]["append_label_names"] == ["vip"] and "run_dedupe" not in posts[0]["body"]
    assert [canonical(connector, i)["email"] for i in ids] == [f"person{i}@apollo.example" for i in range(5)]
    assert all(canonical(connector, i)["tags"] == ["vip"] for i in ids)


def test_a_create_with_typed_phones_and_an_owner_is_posted_alone(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    apollo.admin.post("/users", json={"users": [{"first_name": "Ann", "email": "ann@team.example"}]})
    connector.load_catalogue()
    apollo.clear_journal()

    [remote_id] = create(connector, person(5, phone="+15125550100", owner="ann@team.example"))

    assert [c["path"] for c in writes(apollo)] == ["/contacts", "/contacts/update_owners"]
    values = canonical(connector, remote_id)
    assert (values["phone"], values["owner"]) == ("+15125550100", "ann@team.example")


def test_a_create_whose_reply_was_lost_is_found_not_sent_again(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    # The first POST lands and its reply is lost; the look-up that follows gets through.
    apollo.faults(drop_after_rate=0.5, seed=36, methods=["POST"], paths=["/contacts"])
    op = WriteOp("lost", "apollo", "create", values=person(6, phone="+15125550106"))

    [result] = connector.push([op])

    assert result.ok and result.recovered, result.error
    assert [c["email"] for c in apollo.contacts()] == ["person6@apollo.example"]


def test_a_bulk_create_whose_reply_was_lost_is_found_not_sent_again(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    apollo.faults(drop_after_rate=1.0, methods=["POST"], paths=["bulk_create"])
    ops = [WriteOp(f"b{i}", "apollo", "create", values=person(10 + i)) for i in range(3)]

    results = connector.push(ops)

    assert all(r.ok and r.recovered for r in results), [str(r.error) for r in results]
    assert len(apollo.contacts()) == 3


def test_a_create_not_found_after_a_lost_reply_stays_unknown(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    apollo.faults(error_rate=1.0, error_status=500, methods=["POST"], paths=["bulk_create"])
    ops = [WriteOp(f"e{i}", "apollo", "create", values=person(20 + i)) for i in range(2)]

    results = connector.push(ops)

    assert all(isinstance(r.error, OutcomeUnknownError) for r in results)


def test_a_bulk_create_refused_with_503_fails_its_ops_and_the_push_goes_on(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    # 503: the server did not act. The retries run out; the creates fail, to be planned again, and
    # the error does not escape ``push`` (it did, and stopped the whole run).
    [remote_id] = create(connector, person(30))
    apollo.faults(error_rate=1.0, error_status=503, methods=["POST"], paths=["bulk_create"])
    ops = [WriteOp(f"t{i}", "apollo", "create", values=person(31 + i)) for i in range(2)]

    results = connector.push([*ops, update(remote_id, values={"title": "Still written"})])

    assert [type(r.error) for r in results[:2]] == [TransientError, TransientError]
    assert results[2].ok, results[2].error
    assert len(apollo.contacts()) == 1


def test_a_bulk_create_not_read_back_is_left_to_be_looked_up(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    # The bulk call creates the records; the search that reads them back answers 503 throughout.
    apollo.faults(error_rate=1.0, error_status=503, methods=["POST"], paths=["/contacts/search"])
    ops = [WriteOp(f"r{i}", "apollo", "create", values=person(40 + i)) for i in range(2)]

    results = connector.push(ops)

    assert all(isinstance(r.error, OutcomeUnknownError) for r in results), [str(r.error) for r in results]
    assert all("reading it back failed" in str(r.error) for r in results)
    apollo.faults(error_rate=0)
    assert [connector.find_created(op) is not None for op in ops] == [True, True]
    assert len(apollo.contacts()) == 2


def test_a_429_is_retried(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = create(connector, person(7))
    apollo.faults(burst_429=1, methods=["PATCH"])

    [result] = connector.push([update(remote_id, values={"title": "Retried"})])

    assert result.ok, result.error
    assert [c["outcome"] for c in vendor(apollo.journal(), "PATCH")] == ["burst", "ok"]


def test_a_refused_key_stops_the_batch(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = create(connector, person(8))
    refused = apollo.connector(key="wrong-key-4242")
    refused.catalogue, refused.field_map = connector.catalogue, connector.field_map

    with pytest.raises(AuthError):
        refused.push([update(remote_id, values={"title": "X"})])


def test_a_value_apollo_cannot_hold_is_left_out_and_reported_naming_the_field(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    [remote_id] = create(connector, person(9))
    apollo.clear_journal()
    bad = update(remote_id, "bad", values={"stage": "No Such Stage", "title": "Kept"})
    good = update(remote_id, "good", values={"title": "Fine"})

    results = connector.push([bad, good])

    assert [r.ok for r in results] == [True, True]
    [left] = results[0].left_out
    assert left.field == "stage" and left.remote_id == remote_id and "'No Such Stage'" in str(left)
    assert results[1].left_out == ()
    rows = [{"id": remote_id, "title": "Kept"}, {"id": remote_id, "title": "Fine"}]
    assert [c["body"] for c in writes(apollo)] == [{"contact_attributes": rows}]


def test_a_custom_value_longer_than_apollo_documents_is_left_out(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    apollo.sim.seed_custom_fields([{"name": "Nickname", "type": "string", "meta": {"max_length": 10}}])
    connector.load_catalogue()
    [remote_id] = create(connector, person(10))
    apollo.clear_journal()

    [result] = connector.push(
        [update(remote_id, values={"custom": {"nickname": "x" * 11}, "title": "Kept"})]
    )

    assert result.ok and [e.field for e in result.left_out] == ["custom"]
    assert "10 characters" in str(result.left_out[0])
    assert [c["body"] for c in writes(apollo)] == [{"title": "Kept"}]


def test_a_refusal_by_apollo_names_the_field(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = create(connector, person(11))

    [result] = connector.push([update(remote_id, values={"owner": "0123456789abcdef01234567"})])

    assert not result.ok and isinstance(result.error, RecordError) and result.error.field == "owner"


def test_an_update_of_a_deleted_contact_is_a_missing_record(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    [remote_id] = create(connector, person(12))
    apollo.sim.ui_delete(remote_id)

    [result] = connector.push([update(remote_id, values={"title": "Gone"})])

    assert isinstance(result.error, MissingRecordError)


def test_results_are_reported_as_they_come_in_op_order(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = create(connector, person(13))
    ops = [WriteOp("n1", "apollo", "create", values=person(14)), update(remote_id, values={"title": "T"})]
    seen: list[str] = []

    results = connector.push(ops, on_result=lambda r: seen.append(r.op_id))

    assert [r.op_id for r in results] == ["n1", "u1"] and sorted(seen) == ["n1", "u1"]


def test_describe_equals_what_push_sends(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = create(connector, person(15, tags=["vip"]))
    expected = connector.get(remote_id)
    ops = [
        update(remote_id, values={"title": "Lead", "city": "Dallas", "tags": ["vip", "merch"]},
               add={"tags": frozenset({"merch"})}, expected=expected),
        WriteOp("n1", "apollo", "create", values=person(16, tags=["vip"])),
        WriteOp("n2", "apollo", "create", values=person(17, tags=["vip"])),
    ]  # fmt: skip
    described = connector.describe(ops)
    apollo.clear_journal()

    connector.push(ops)

    sent = [(c["method"], c["path"], c["body"]) for c in vendor(apollo.journal()) if c["method"] != "GET"]
    shown = [(c.method, c.path, c.body) for c in described if c.method != "GET"]
    assert sent == shown


def test_apollo_has_no_delete(apollo: Apollo, connector: ApolloConnector) -> None:
    [remote_id] = create(connector, person(18))

    [result] = connector.push([WriteOp("d1", "apollo", "delete", remote_id=remote_id)])

    assert not result.ok and "no contact delete" in str(result.error)
