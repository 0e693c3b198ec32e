"""The mass-change guard and the delete policy from ``rules/``: a run that would clear values in many
contacts at once writes nothing to that system until a person lets it through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from engine_world import World

from syncengine.rules import Guard, Rules, RulesError, load_rules

REPO = Path(__file__).resolve().parents[2]
ALLOW_BLANK_COMPANY = "[fields.company]\nallow_blank = true\n"


def people(n: int) -> list[tuple[dict, dict]]:
    out = []
    for i in range(n):
        email = f"person{i}@example.com"
        apollo = {"first_name": "P", "last_name": f"N{i}", "email": email, "organization_name": f"Co {i}"}
        lc = {"firstName": "P", "lastName": f"N{i}", "email": email, "companyName": f"Co {i}"}
        out.append((apollo, lc))
    return out


def rules_with(tmp_path: Path, extra: str) -> Rules:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "default.toml").write_text((REPO / "rules" / "default.toml").read_text())
    (tmp_path / "rules" / "team.toml").write_text(extra)
    return load_rules(tmp_path / "rules")


def linked_people(world: World, rules: Rules, n: int) -> list[dict]:
    """``n`` people in Apollo and LeadConnector, synced once; returns the Apollo records."""
    pairs = people(n)
    apollo = world.sim("apollo").seed_contacts([a for a, _ in pairs])
    world.sim("leadconnector").seed_contacts([lc for _, lc in pairs])
    world.sync(rules=rules)
    return apollo


def companies(world: World) -> dict[str, str | None]:
    return {c["email"]: c.get("companyName") for c in world.sim("leadconnector").contacts()}


def test_clearing_a_value_in_most_contacts_is_held_until_allowed(world: World, tmp_path: Path) -> None:
    rules = rules_with(tmp_path, ALLOW_BLANK_COMPANY)
    apollo = linked_people(world, rules, 12)
    for record in apollo[:10]:  # e.g. a bad import blanked the company of 10 of 12 contacts
        world.sim("apollo").ui_edit(record["id"], {"organization_name": None})
    world.clear_journals()

    held = world.sync(rules=rules)

    assert world.writes("leadconnector") == []
    assert all(companies(world)[f"person{i}@example.com"] == f"Co {i}" for i in range(12))
    [problem] = [p for p in held.plan.problems if p.system == "leadconnector"]
    assert "mass-change guard" in problem.message and "10 of 12" in problem.message
    assert "--allow-mass-change" in problem.message
    assert held.status == "partial"

    # Nothing is forgotten: the next run holds them again, and a person can let them through.
    again = world.sync(rules=rules)
    assert any("mass-change guard" in p.message for p in again.plan.problems)
    engine = world.engine(rules)
    try:
        allowed = engine.run(allow_mass_change=True)
    finally:
        for connector in engine.connectors.values():
            connector.close()
    assert not allowed.push.failed
    cleared = companies(world)
    assert [cleared[f"person{i}@example.com"] for i in range(12)] == [None] * 10 + ["Co 10", "Co 11"]


def test_clearing_a_few_values_is_not_held(world: World, tmp_path: Path) -> None:
    rules = rules_with(tmp_path, ALLOW_BLANK_COMPANY)
    apollo = linked_people(world, rules, 12)
    world.sim("apollo").ui_edit(apollo[0]["id"], {"organization_name": None})

    report = world.sync(rules=rules)

    assert not any("mass-change guard" in p.message for p in report.plan.problems)
    assert companies(world)["person0@example.com"] is None


def test_the_guard_and_delete_policy_are_read_from_rules(tmp_path: Path) -> None:
    rules = rules_with(tmp_path, "[guard]\nmax_share = 0.5\nmin_records = 2\n")
    assert rules.guard == Guard(0.5, 2) and rules.deletes == "report"
    assert load_rules().guard == Guard(0.2, 5)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[guard]\nmax_share = 2\n", "guard.max_share"),
        ("[guard]\nmax_share = 'most'\n", "guard.max_share"),
        ("[guard]\nmin_records = -1\n", "guard.min_records"),
        ("[guard]\nlimit = 3\n", "guard.limit"),
        ("[guard]\nsettle_seconds = 1.5\n", "guard.settle_seconds"),
        ("[deletes]\npolicy = 'cascade'\n", "deletes.policy"),
    ],
)
def test_a_wrong_guard_or_delete_policy_names_the_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(RulesError) as error:
        rules_with(tmp_path, text)
    assert "team.toml" in str(error.value) and key in str(error.value)


def test_a_contact_edited_moments_ago_waits_until_it_rests(world: World, tmp_path: Path) -> None:
    rules = rules_with(tmp_path, "[guard]\nsettle_seconds = 120\n")
    pairs = people(2)
    apollo = world.sim("apollo").seed_contacts([a for a, _ in pairs])
    world.sim("leadconnector").seed_contacts([lc for _, lc in pairs])
    world.sync(rules=load_rules())  # linked before the guard applies
    world.sim("apollo").ui_edit(apollo[0]["id"], {"organization_name": "Half typ"})
    world.clear_journals()

    report = world.sync(rules=rules)

    assert world.writes("leadconnector") == []
    assert any("waits for a later run" in n.text and "person0" in n.who for n in report.plan.notes)
    # Once the edit has rested, the next run takes it.
    engine = world.engine(rules)
    engine.now = lambda: datetime.now(UTC) + timedelta(minutes=3)
    try:
        engine.run()
    finally:
        for connector in engine.connectors.values():
            connector.close()
    assert companies(world)["person0@example.com"] == "Half typ"
