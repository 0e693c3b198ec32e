"""LeadConnector tag changes of a batch: shared changes through the bulk tag endpoint, no read-back."""

from __future__ import annotations

from test_leadconnector_support import (  # noqa: F401 - fixtures
    Lc,
    connector_fixture,
    contact,
    lc_fixture,
    running_fixture,
)

from syncengine.connectors.base import WriteOp
from syncengine.connectors.leadconnector import LeadConnectorConnector


def seeded(lc: Lc, connector: LeadConnectorConnector, n: int) -> list[str]:
    seed = {"contacts": [contact(i, tags=["old"]) for i in range(n)]}
    lc.admin.post("/contacts", json=seed).raise_for_status()
    return sorted(r.remote_id for r in connector.pull(None, full=True))


def tag_op(connector: LeadConnectorConnector, remote_id: str, op_id: str, **deltas: set[str]) -> WriteOp:
    sets = {k: {"tags": frozenset(v)} for k, v in deltas.items() if v}
    return WriteOp(
        op_id, "leadconnector", "update", remote_id=remote_id, expected=connector.get(remote_id),
        add=sets.get("add", {}), remove=sets.get("remove", {}),
    )  # fmt: skip


def sent(lc: Lc) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in lc.journal() if e["path"] != "/contacts/search"]


def test_shared_tag_changes_go_in_one_bulk_call_and_nothing_is_read_back(
    lc: Lc, connector: LeadConnectorConnector
) -> None:
    ids = seeded(lc, connector, 6)
    ops = [tag_op(connector, r, f"u{i}", add={"vip"}) for i, r in enumerate(ids[:5])]
    ops.append(tag_op(connector, ids[5], "u5", add={"solo"}, remove={"old"}))
    described = connector.describe(ops)
    lc.clear_journal()

    results = connector.push(ops)

    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    assert sent(lc) == [  # additions (by tags), then removals
        ("POST", f"/contacts/{ids[5]}/tags"),
        ("POST", "/contacts/bulk/tags/update/add"),
        ("DELETE", f"/contacts/{ids[5]}/tags"),
    ]
    assert [(c.method, c.path) for c in described if c.path != "/contacts/search"] == sent(lc)
    held = {c["id"]: {t.lower() for t in c["tags"]} for c in lc.contacts()}
    for result in results:
        assert result.record is not None
        assert {t.lower() for t in result.record.raw["tags"]} == held[result.record.remote_id]
    assert held[ids[0]] == {"old", "vip"} and held[ids[5]] == {"solo"}


def test_a_contact_the_bulk_call_refuses_fails_alone(lc: Lc, connector: LeadConnectorConnector) -> None:
    ids = seeded(lc, connector, 3)
    ops = [tag_op(connector, r, f"u{i}", add={"vip"}) for i, r in enumerate(ids)]
    lc.admin.delete(f"/contacts/{ids[1]}").raise_for_status()

    results = connector.push(ops)

    assert [r.ok for r in results] == [True, False, True]
    assert "tags not changed" in str(results[1].error)
