"""Apollo updates through bulk_update: 100 contacts a call, a PATCH only for what it cannot carry."""

from __future__ import annotations

from typing import Any

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
from syncengine.connectors.errors import TransientError


def created(connector: ApolloConnector, n: int, start: int = 100) -> list[str]:
    ops = [WriteOp(f"c{i}", "apollo", "create", values=person(start + i)) for i in range(n)]
    results = connector.push(ops)
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    return [r.record.remote_id for r in results if r.record is not None]


def update(remote_id: str, op_id: str, connector: ApolloConnector, **values: Any) -> WriteOp:
    expected = connector.get(remote_id)
    return WriteOp(op_id, "apollo", "update", remote_id=remote_id, values=values, expected=expected)


def calls(apollo: Apollo) -> list[tuple[str, str]]:
    return [(c["method"], c["path"]) for c in vendor(apollo.journal())]


def test_250_scalar_updates_make_3_bulk_calls_and_no_patch(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    ids = created(connector, 250)
    list(connector.pull(None, full=True))  # the check before writes lists changes since this pull
    ops = [update(r, f"u{i}", connector, title=f"Title {i}") for i, r in enumerate(ids)]
    apollo.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    sent = calls(apollo)
    bulk = [c for c in vendor(apollo.journal()) if c["path"] == "/contacts/bulk_update"]
    assert [len(c["body"]["contact_attributes"]) for c in bulk] == [100, 100, 50]
    assert not [c for c in sent if c[0] in ("PATCH", "GET")]
    assert all(r.record is not None and r.record.raw["title"] == f"Title {i}" for i, r in enumerate(results))
    assert {c["title"] for c in apollo.contacts()} == {f"Title {i}" for i in range(250)}


def test_a_phone_goes_in_one_patch_and_an_owner_beside_it_in_the_bulk_row(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    apollo.admin.post("/users", json={"users": [{"first_name": "Ann", "email": "ann@team.example"}]})
    connector.load_catalogue()
    a, b, c, d = created(connector, 4)
    ops = [
        update(a, "title", connector, title="Only scalar"),
        update(b, "phone", connector, phone_mobile="+15125550147"),
        update(c, "both", connector, title="With phone", phone="+15125550148"),
        update(d, "owner", connector, owner="ann@team.example", phone="+15125550149"),
    ]
    apollo.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    journal = [x for x in vendor(apollo.journal()) if x["method"] != "GET" and "search" not in x["path"]]
    [bulk, *patches] = journal
    assert bulk["body"]["contact_attributes"] == [
        {"id": a, "title": "Only scalar"},
        {"id": d, "owner_id": connector.field_map.update_body({"owner": "ann@team.example"})["owner_id"]},
    ]
    assert [(x["path"], x["body"]) for x in patches] == [
        (f"/contacts/{b}", {"mobile_phone": "+15125550147"}),
        (f"/contacts/{c}", {"title": "With phone", "direct_phone": "+15125550148"}),
        (f"/contacts/{d}", {"direct_phone": "+15125550149"}),
    ]
    owner = connector.to_canonical(results[3].record).values  # type: ignore[arg-type]
    assert (owner["owner"], owner["phone"]) == ("ann@team.example", "+15125550149")


def test_describe_equals_the_journal_for_a_mixed_batch(apollo: Apollo, connector: ApolloConnector) -> None:
    ids = created(connector, 5)
    list(connector.pull(None, full=True))  # the check before writes lists changes since this pull
    ops = [
        update(ids[0], "u0", connector, title="A"),
        update(ids[1], "u1", connector, title="B", phone="+15125550150"),
        WriteOp("u2", "apollo", "update", remote_id=ids[2], values={"tags": ["new"]},
                add={"tags": frozenset({"new"})}, expected=connector.get(ids[2])),
        update(ids[3], "u3", connector, city="Dallas", last_name="Moved"),
        update(ids[4], "u4", connector, email="changed4@apollo.example"),
        WriteOp("n1", "apollo", "create", values=person(300)),
        WriteOp("n2", "apollo", "create", values=person(301)),
    ]  # fmt: skip
    described = connector.describe(ops)
    apollo.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    # the list catalogue is read again once a new list appears: a catalogue read, not a write's call
    sent = [(c["method"], c["path"], c["body"]) for c in vendor(apollo.journal()) if c["path"] != "/labels"]
    shown = [(c.method, c.path, c.body) for c in described]
    assert sent == shown
    assert [m for m, p, _ in sent].count("PATCH") == 1


def test_a_503_on_bulk_update_fails_all_its_ops_and_the_next_run_sends_them(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    ids = created(connector, 3)
    ops = [update(r, f"u{i}", connector, title=f"T{i}") for i, r in enumerate(ids)]
    apollo.faults(error_rate=1.0, error_status=503, methods=["POST"], paths=["bulk_update"])

    results = connector.push(ops)

    assert all(isinstance(r.error, TransientError) for r in results), [r.error for r in results]
    assert not [c for c in apollo.contacts() if str(c["title"]).startswith("T")]
    apollo.faults(error_rate=0)
    again = connector.push([update(r, f"v{i}", connector, title=f"T{i}") for i, r in enumerate(ids)])

    assert all(r.ok for r in again), [str(r.error) for r in again if not r.ok]
    assert sorted(c["title"] for c in apollo.contacts()) == ["T0", "T1", "T2"]


def test_a_contact_the_answer_lacks_is_not_confirmed(apollo: Apollo, connector: ApolloConnector) -> None:
    ids = created(connector, 3)
    ops = [update(r, f"u{i}", connector, title=f"T{i}") for i, r in enumerate(ids)]
    apollo.sim.ui_delete(ids[1])

    results = connector.push(ops)

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is not None


def test_a_stale_record_is_refused_and_not_sent(apollo: Apollo, connector: ApolloConnector) -> None:
    ids = created(connector, 3)
    list(connector.pull(None, full=True))
    ops = [update(r, f"u{i}", connector, title=f"T{i}") for i, r in enumerate(ids)]
    apollo.ui_edit(ids[0], title="Saved by a person")
    apollo.clear_journal()

    results = connector.push(ops)

    assert [r.ok for r in results] == [False, True, True]
    [bulk] = [c for c in vendor(apollo.journal()) if c["path"] == "/contacts/bulk_update"]
    assert [row["id"] for row in bulk["body"]["contact_attributes"]] == ids[1:]
    assert {c["id"]: c["title"] for c in apollo.contacts()}[ids[0]] == "Saved by a person"
