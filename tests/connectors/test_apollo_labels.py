"""Apollo list changes and creates through the bulk and label endpoints: few calls, no read-back."""

from __future__ import annotations

from test_apollo_bulk_update import calls, created
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


def tagged(
    remote_id: str, op_id: str, connector: ApolloConnector, add: set[str], remove: set[str]
) -> WriteOp:
    expected = connector.get(remote_id)
    return WriteOp(
        op_id, "apollo", "update", remote_id=remote_id, expected=expected,
        add={"tags": frozenset(add)} if add else {}, remove={"tags": frozenset(remove)} if remove else {},
    )  # fmt: skip


def names(connector: ApolloConnector, remote_id: str) -> set[str]:
    return set(connector.to_canonical(connector.get(remote_id)).values.get("tags") or [])


def test_list_changes_of_a_batch_share_one_call_per_list_and_read_nothing_back(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    ids = created(connector, 30)
    list(connector.pull(None, full=True))
    ops = [tagged(r, f"t{i}", connector, {"vip", f"own-{i % 2}"}, set()) for i, r in enumerate(ids)]
    apollo.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    sent = [c for c in calls(apollo) if c[1] != "/labels"]  # the catalogue read is not the write's
    # two sets of lists ({vip, own-0}, {vip, own-1}): two calls, not thirty, and no GET afterwards
    assert sent == [("POST", "/labels/add_entity_ids_to_label_names")] * 2
    for i, (remote_id, result) in enumerate(zip(ids, results, strict=True)):
        assert result.record is not None
        written = set(connector.to_canonical(result.record).values.get("tags") or [])
        assert written == names(connector, remote_id) == {"vip", f"own-{i % 2}"}


def test_removals_go_per_list_when_that_is_fewer_calls(apollo: Apollo, connector: ApolloConnector) -> None:
    ids = created(connector, 3)
    first = [tagged(r, f"a{i}", connector, {"a", "b", "c"}, set()) for i, r in enumerate(ids)]
    assert all(r.ok for r in connector.push(first))
    ops = [
        tagged(ids[0], "r0", connector, set(), {"a", "b"}),
        tagged(ids[1], "r1", connector, set(), {"a", "c"}),
        tagged(ids[2], "r2", connector, set(), {"b", "c"}),
    ]
    apollo.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results)
    removals = [c for c in vendor(apollo.journal()) if c["path"].startswith("/labels/remove")]
    assert len(removals) == 3  # three sets or three lists: a tie goes to the sets
    assert [names(connector, r) for r in ids] == [{"c"}, {"b"}, {"a"}]
    assert [set(connector.to_canonical(r.record).values.get("tags") or []) for r in results if r.record] == [
        {"c"}, {"b"}, {"a"},
    ]  # fmt: skip


def test_creates_without_phones_go_in_bulk_with_their_lists_added_per_list(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    ops = [
        WriteOp(f"n{i}", "apollo", "create", values=person(400 + i, owner=None, tags=[f"l{i % 3}"]))
        for i in range(12)
    ]  # fmt: skip
    described = connector.describe(ops)
    apollo.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    sent = [c for c in calls(apollo) if c != ("GET", "/labels")]
    # one list each, four contacts a list: a bulk call per list carries it, and one search each
    # reads the new records back
    assert sent.count(("POST", "/contacts/bulk_create")) == 3
    assert not [c for c in sent if c == ("POST", "/contacts")]
    assert [(c.method, c.path) for c in described] == sent
    for i, result in enumerate(results):
        assert result.record is not None
        assert connector.to_canonical(result.record).values.get("tags") == [f"l{i % 3}"]
        assert names(connector, result.record.remote_id) == {f"l{i % 3}"}


def test_creates_with_mixed_lists_share_a_bulk_call_and_one_label_call_per_list(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    lists = [["a"], ["b"], ["a", "b"], ["a"], ["b"], ["c"], ["a", "c"], []]
    ops = [
        WriteOp(f"m{i}", "apollo", "create", values=person(500 + i, owner=None, tags=t))
        for i, t in enumerate(lists)
    ]  # fmt: skip
    apollo.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    sent = [c for c in calls(apollo) if c != ("GET", "/labels")]
    assert sent == [
        ("POST", "/contacts/bulk_create"),
        ("POST", "/contacts/search"),  # the new records read back
        *[("POST", "/labels/add_entity_ids_to_label_names")] * 3,  # a, b, c: fewer than five sets
    ]
    for t, result in zip(lists, results, strict=True):
        assert result.record is not None
        assert names(connector, result.record.remote_id) == set(t)


def test_a_create_with_a_typed_phone_is_one_post_with_its_lists(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    values = person(600, owner=None, phone="+15125550160", tags=["x"])
    ops = [WriteOp("p1", "apollo", "create", values=values)]
    apollo.clear_journal()

    results = connector.push(ops)

    assert results[0].ok
    assert [c for c in calls(apollo) if c != ("GET", "/labels")] == [("POST", "/contacts")]
    assert results[0].record is not None and names(connector, results[0].record.remote_id) == {"x"}


def test_a_create_apollo_merges_into_a_placeholder_is_linked_to_it(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    """bulk_create answers a contact merged into an "email_import" placeholder in
    ``existing_contacts``: that record is the op's, and nothing is created twice."""
    placeholder = {"email": "person703@apollo.example", "original_source": "email_import"}
    held = apollo.sim.seed_contacts([placeholder])[0]
    ops = [WriteOp(f"e{i}", "apollo", "create", values=person(700 + i, owner=None)) for i in range(6)]

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    assert results[3].record is not None and results[3].record.remote_id == held["id"]
    emails = [c["email"] for c in apollo.contacts()]
    assert sorted(emails) == sorted(f"person{700 + i}@apollo.example" for i in range(6))
    written = [r.record.raw["email"] for r in results if r.record]
    assert written == [f"person{700 + i}@apollo.example" for i in range(6)]


def test_updates_and_bulk_creates_of_one_push_share_their_label_calls(
    apollo: Apollo, connector: ApolloConnector
) -> None:
    ids = created(connector, 4)
    list(connector.pull(None, full=True))
    ops = [tagged(r, f"t{i}", connector, {"vip"}, set()) for i, r in enumerate(ids)]
    lists = [["vip"], ["new"], ["vip", "new"], [], ["vip", "x"], ["x"], ["new", "x"], ["vip", "new", "x"]]
    ops += [
        WriteOp(f"n{i}", "apollo", "create", values=person(800 + i, owner=None, tags=t))
        for i, t in enumerate(lists)
    ]  # fmt: skip
    described = connector.describe(ops)
    apollo.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    sent = [c for c in calls(apollo) if c != ("GET", "/labels")]
    # the new contacts share one bulk call; "vip" (four updates, four new contacts), "new" and
    # "x": three label calls in all
    assert sent.count(("POST", "/contacts/bulk_create")) == 1
    assert sent.count(("POST", "/labels/add_entity_ids_to_label_names")) == 3
    assert [(c.method, c.path) for c in described] == sent
    for result in results:
        assert result.record is not None
        written = set(connector.to_canonical(result.record).values.get("tags") or [])
        assert written == names(connector, result.record.remote_id)
