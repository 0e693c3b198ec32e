"""A person edits a contact in a CRM while a sync is pushing: between the engine's read (its pull)
and its write. Whatever the API's write semantics, the person's newer value is never overwritten
without a trace: it survives in the system, or a conflict or a history entry holds it.

* Apollo and LeadConnector take partial updates: a write sends only the fields it changes.
* CorporateMerch replaces the whole record: the read-modify-write notices that the record moved
  since the pull (``StaleRecordError``) and leaves the op for the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from engine_world import World

from syncengine.mirror import Mirror
from syncengine.sync import Engine, RunReport

CM_ADA = {
    "type": "client", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@concurrent.example",
    "company_name": "Old Co", "position": "Engineer", "country": "US", "address": "1 Main St",
    "city": "Austin", "state": "TX", "zip_code": "78701",
}  # fmt: skip
LC_ADA = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@concurrent.example",
    "companyName": "Old Co",
}
APOLLO_ADA = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@concurrent.example",
    "organization_name": "Old Co", "title": "Engineer",
}  # fmt: skip


def only(records: list[dict[str, Any]]) -> dict[str, Any]:
    [record] = records
    return record


def run_with_an_edit_at_push(world: World, system: str, edit: Callable[[], None]) -> RunReport:
    """One sync in which ``edit`` happens (as a person saving in ``system``'s UI) after the pull and
    before the engine writes to ``system``."""
    engine: Engine = world.engine()
    connector = engine.connectors[system]
    original_push = connector.push

    def push_after_a_person_edits(ops: Any, on_result: Any = None) -> Any:
        edit()
        return original_push(ops, on_result=on_result)

    connector.push = push_after_a_person_edits  # type: ignore[method-assign]
    try:
        return engine.run()
    finally:
        for each in engine.connectors.values():
            each.close()


def traced(mirror: Mirror, field: str, value: Any) -> bool:
    """Whether a conflict (any system's value) or a history entry (old or new) holds ``value``."""
    in_conflicts = any(c.field == field and value in c.values.values() for c in mirror.conflicts())
    in_history = any(h.field == field and value in (h.old_value, h.new_value) for h in mirror.history())
    return in_conflicts or in_history


@pytest.mark.parametrize(
    ("typed", "field", "value"),
    [
        ({"title": "Chief Engineer"}, "title", "Chief Engineer"),
        ({"organization_name": "Person Co"}, "company", "Person Co"),
    ],
    ids=["another-field", "the-same-field"],
)
def test_an_edit_landing_between_read_and_write_is_not_overwritten(
    world: World, typed: dict[str, Any], field: str, value: str
) -> None:
    """Apollo, a partial update: the engine writes the company LeadConnector changed while the
    person saves a title (another field) or a company (the very field being written) in Apollo.
    The person's value survives in Apollo, or a conflict or history entry holds it."""
    [apollo] = world.sim("apollo").seed_contacts([APOLLO_ADA])
    world.sim("leadconnector").seed_contacts([LC_ADA])
    world.sync()
    lc = only(world.sim("leadconnector").contacts())
    world.sim("leadconnector").ui_edit(lc["id"], {"companyName": "New Co"})

    run_with_an_edit_at_push(world, "apollo", lambda: world.sim("apollo").ui_edit(apollo["id"], typed))
    world.sync()

    after = only(world.sim("apollo").contacts())
    key = next(iter(typed))
    assert after[key] == value or traced(world.mirror, field, value), (after[key], world.mirror.history())
    if field == "title":  # a partial write sends only the changed field
        assert (after["organization_name"], after["title"]) == ("New Co", "Chief Engineer")


def linked_in_lc_and_cm(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    world.sim("leadconnector").seed_contacts([LC_ADA])
    world.sim("corporatemerch").seed_contacts([CM_ADA])
    first = world.sync()
    assert first.status == "succeeded" and len(world.mirror.all_links()) == 1, first.plan.problems
    return only(world.sim("leadconnector").contacts()), only(world.sim("corporatemerch").contacts())


def test_corporatemerch_leaves_a_write_for_the_next_run_when_the_record_moved_since_the_pull(
    world: World,
) -> None:
    """CorporateMerch, a whole-record replace: the person's last name saved after the pull makes
    the engine's company write stale. Nothing is sent over it; the op is reported and left, and the
    next run writes the company while keeping (and spreading) the person's last name."""
    lc, cm = linked_in_lc_and_cm(world)
    world.sim("leadconnector").ui_edit(lc["id"], {"companyName": "New Co"})

    report = run_with_an_edit_at_push(
        world, "corporatemerch", lambda: world.sim("corporatemerch").ui_edit(cm["id"], {"last_name": "King"})
    )

    assert report.push is not None
    [(op_id, why)] = report.push.failed.items()
    assert "moved since it was read" in why
    assert [p.op.system for p in report.plan.ops if p.op.op_id == op_id] == ["corporatemerch"]
    after = only(world.sim("corporatemerch").contacts())
    assert (after["last_name"], after["company_name"]) == ("King", "Old Co")  # nothing written over it
    problems = world.mirror.record_errors(run_id=report.run_id)
    assert any(p.system == "corporatemerch" and p.remote_id == str(cm["id"]) for p in problems), problems

    again = world.sync()

    assert again.status == "succeeded", again.plan.problems
    after = only(world.sim("corporatemerch").contacts())
    assert (after["last_name"], after["company_name"]) == ("King", "New Co")
    assert only(world.sim("leadconnector").contacts())["lastName"] == "King"


def test_corporatemerch_keeps_a_newer_value_typed_into_the_field_being_written(world: World) -> None:
    """The person types a company into CorporateMerch while the engine is about to write another
    one there: CorporateMerch keeps the person's value, or a conflict or history entry holds it."""
    lc, cm = linked_in_lc_and_cm(world)
    world.sim("leadconnector").ui_edit(lc["id"], {"companyName": "New Co"})

    run_with_an_edit_at_push(
        world,
        "corporatemerch",
        lambda: world.sim("corporatemerch").ui_edit(cm["id"], {"company_name": "Person Co"}),
    )
    world.sync()

    held = only(world.sim("corporatemerch").contacts())["company_name"]
    assert held == "Person Co" or traced(world.mirror, "company", "Person Co"), held


def linked_in_apollo_and_lc(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    world.sim("apollo").seed_contacts([APOLLO_ADA])
    world.sim("leadconnector").seed_contacts([LC_ADA])
    first = world.sync()
    assert first.status == "succeeded" and len(world.mirror.all_links()) == 1, first.plan.problems
    return only(world.sim("apollo").contacts()), only(world.sim("leadconnector").contacts())


@pytest.mark.parametrize(
    ("typed", "field", "value"),
    [({"lastName": "King"}, "last_name", "King"), ({"companyName": "Person Co"}, "company", "Person Co")],
    ids=["another-field", "the-same-field"],
)
def test_leadconnector_keeps_a_value_typed_while_the_engine_writes(
    world: World, typed: dict[str, Any], field: str, value: str
) -> None:
    """LeadConnector, a partial update: the person saves a value after the pull, the engine then
    writes the company Apollo changed. Whether the person typed into another field or the very
    field being written, the value survives in LeadConnector or a conflict or history holds it,
    and after the next run the systems agree."""
    apollo, lc = linked_in_apollo_and_lc(world)
    world.sim("apollo").ui_edit(apollo["id"], {"organization_name": "New Co"})

    run_with_an_edit_at_push(
        world, "leadconnector", lambda: world.sim("leadconnector").ui_edit(lc["id"], typed)
    )
    world.sync()

    after = only(world.sim("leadconnector").contacts())
    key = next(iter(typed))
    assert after[key] == value or traced(world.mirror, field, value), (after[key], world.mirror.history())
    apollo_names = {"last_name": "last_name", "company": "organization_name"}
    assert only(world.sim("apollo").contacts())[apollo_names[field]] == after[key]
