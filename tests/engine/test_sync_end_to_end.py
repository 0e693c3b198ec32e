"""The engine against the three simulators over real HTTP: match, merge, plan, push, commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from engine_world import World

from syncengine.rules import load_rules

REPO = Path(__file__).resolve().parents[2]


def ada_apollo(**extra: Any) -> dict[str, Any]:
    return {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@analytical.example",
        "title": "Engineer",
        "organization_name": "Analytical Engines",
        **extra,
    }


def ada_lc(**extra: Any) -> dict[str, Any]:
    return {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "Ada@Analytical.example",
        "companyName": "Analytical Engines",
        "phone": "+15125550147",
        **extra,
    }


def by_email(records: list[dict[str, Any]], email: str) -> list[dict[str, Any]]:
    return [r for r in records if (r.get("email") or "").lower() == email.lower()]


def test_first_sync_links_the_same_person_and_creates_the_missing_ones(world: World) -> None:
    world.sim("apollo").seed_contacts(
        [ada_apollo(), {"first_name": "Bob", "last_name": "Babbage", "email": "bob@diff.example"}]
    )
    world.sim("leadconnector").seed_contacts([ada_lc()])

    preview = world.sync(dry_run=True)
    match = preview.plan.match
    assert (match.matched_across, dict(match.only_in), match.conflicts) == (1, {"apollo": 1}, ())
    assert "1 people found in several systems, 1 in one system only (apollo 1)" in match.summary()

    report = world.sync()

    assert report.status == "succeeded", report.plan.problems
    assert report.plan.match.conflicts == ()
    lc = world.sim("leadconnector").contacts()
    apollo = world.sim("apollo").contacts()
    assert len(by_email(lc, "bob@diff.example")) == 1  # created in LeadConnector
    assert len(by_email(apollo, "ada@analytical.example")) == 1  # matched, not duplicated
    assert len(by_email(lc, "ada@analytical.example")) == 1
    assert len(world.mirror.all_links()) == 2


def test_the_next_sync_without_edits_writes_nothing(world: World) -> None:
    world.sim("apollo").seed_contacts([ada_apollo()])
    world.sim("leadconnector").seed_contacts([ada_lc(), {"firstName": "Cy", "email": "cy@x.example"}])
    world.sync()
    world.clear_journals()

    again = world.sync()

    assert again.plan.ops == []
    assert [world.writes(s) for s in ("apollo", "leadconnector", "corporatemerch")] == [[], [], []]


def test_a_change_in_one_system_reaches_the_other(world: World) -> None:
    world.sim("apollo").seed_contacts([ada_apollo()])
    [stored] = world.sim("leadconnector").seed_contacts([ada_lc()])
    world.sync()

    world.sim("leadconnector").ui_edit(stored["id"], {"companyName": "Difference Engines"})
    report = world.sync()

    assert report.status == "succeeded", report.plan.problems
    [ada] = by_email(world.sim("apollo").contacts(), "ada@analytical.example")
    assert ada["organization_name"] == "Difference Engines"
    assert world.sync().plan.ops == []  # and it does not echo back


def test_a_dry_run_writes_nothing_anywhere(world: World) -> None:
    world.sim("apollo").seed_contacts([ada_apollo()])
    world.sim("leadconnector").seed_contacts([{"firstName": "Cy", "email": "cy@x.example"}])

    preview = world.sync(dry_run=True)

    assert preview.plan.counts() == {"apollo": {"create": 1}, "leadconnector": {"create": 1}}
    assert [world.writes(s) for s in ("apollo", "leadconnector", "corporatemerch")] == [[], [], []]
    assert world.mirror.all_links() == {}
    assert world.mirror.pending() == []
    real = world.sync()
    assert real.plan.counts() == preview.plan.counts()


def test_different_changes_to_one_field_are_a_conflict_settled_by_the_newest(world: World) -> None:
    [apollo] = world.sim("apollo").seed_contacts([ada_apollo()])
    [lc] = world.sim("leadconnector").seed_contacts([ada_lc()])
    world.sync()

    world.sim("apollo").ui_edit(apollo["id"], {"organization_name": "Older Co"})
    world.sim("apollo").state.clock.advance(60)
    world.sim("leadconnector").state.clock.advance(120)
    world.sim("leadconnector").ui_edit(lc["id"], {"companyName": "Newer Co"})
    report = world.sync()

    [conflict] = [c.conflict for c in report.plan.conflicts if c.conflict.field == "company"]
    assert not conflict.open and conflict.winner == "leadconnector"
    [ada] = by_email(world.sim("apollo").contacts(), "ada@analytical.example")
    assert ada["organization_name"] == "Newer Co"
    overwritten = [h for h in world.mirror.history() if h.system == "apollo" and h.field == "company"]
    assert overwritten and overwritten[-1].old_value == "Older Co"


def test_a_manual_field_stays_open_until_a_person_settles_it(world: World) -> None:
    rules_dir = world.tmp / "rules"
    rules_dir.mkdir()
    (rules_dir / "default.toml").write_text((REPO / "rules" / "default.toml").read_text())
    (rules_dir / "team.toml").write_text('[fields.company]\npolicy = "manual"\n')
    rules = load_rules(rules_dir)
    [apollo] = world.sim("apollo").seed_contacts([ada_apollo()])
    [lc] = world.sim("leadconnector").seed_contacts([ada_lc()])
    world.sync(rules=rules)
    world.sim("apollo").ui_edit(apollo["id"], {"organization_name": "A Co"})
    world.sim("leadconnector").ui_edit(lc["id"], {"companyName": "L Co"})

    held = world.sync(rules=rules)

    assert [c.conflict.field for c in held.plan.conflicts if c.conflict.open] == ["company"]
    assert all(c.field != "company" for p in held.plan.ops for c in p.changes)
    [stored] = world.mirror.open_conflicts()
    world.mirror.resolve_conflict(stored.id, "L Co", resolved_by="person")
    world.sync(rules=rules)
    [ada] = by_email(world.sim("apollo").contacts(), "ada@analytical.example")
    assert ada["organization_name"] == "L Co"
    assert world.mirror.open_conflicts() == []


def test_tags_added_and_removed_on_both_sides_are_merged(world: World) -> None:
    [apollo] = world.sim("apollo").seed_contacts([ada_apollo(label_names=["vip", "newsletter"])])
    [lc] = world.sim("leadconnector").seed_contacts([ada_lc(tags=["vip", "newsletter"])])
    world.sync()

    world.sim("apollo").ui_edit(apollo["id"], {"label_names": ["vip", "newsletter", "webinar"]})
    world.sim("leadconnector").ui_edit(lc["id"], {"tags": ["vip"]})
    world.sync()

    held = world.snapshot()
    assert held["apollo"]["ada@analytical.example"]["tags"] == ["vip", "webinar"]
    assert held["leadconnector"]["ada@analytical.example"]["tags"] == ["vip", "webinar"]


def test_a_value_blanked_in_one_system_does_not_erase_the_other(world: World) -> None:
    [apollo] = world.sim("apollo").seed_contacts([ada_apollo()])
    world.sim("leadconnector").seed_contacts([ada_lc()])
    world.sync()

    world.sim("apollo").ui_edit(apollo["id"], {"organization_name": None})
    report = world.sync()

    [lc] = by_email(world.sim("leadconnector").contacts(), "ada@analytical.example")
    assert lc["companyName"] == "Analytical Engines"
    assert any(n.field == "company" for n in report.plan.notes)


def test_contacts_tagged_for_merch_are_created_in_corporatemerch_with_defaults(world: World) -> None:
    address = {"address1": "12 Main St", "city": "Austin", "state": "TX", "postalCode": "78701"}
    address["country"] = "US"
    world.sim("leadconnector").seed_contacts([ada_lc(tags=["merch"], **address)])

    report = world.sync()

    assert report.status == "succeeded", report.plan.problems
    [cm] = world.sim("corporatemerch").contacts()
    assert (cm["type"], cm["email"], cm["state"], cm["zip_code"]) == (
        "client",
        "ada@analytical.example",
        "TX",
        "78701",
    )


def test_a_create_a_system_refuses_waits_by_field_until_the_contact_changes(world: World) -> None:
    """A create CorporateMerch refuses for a missing address is not sent, not a failure of the run
    and not planned again by the next runs; it waits, with the field named, until the contact
    changes, and then goes through. The other systems sync meanwhile."""
    world.sim("apollo").seed_contacts(
        [
            ada_apollo(label_names=["merch"]),  # no street or postal code: CorporateMerch requires them
            {"first_name": "Bob", "last_name": "Babbage", "email": "bob@diff.example"},
        ]
    )

    report = world.sync()

    assert report.status == "succeeded" and report.errors == 0
    assert world.sim("corporatemerch").contacts() == [] and world.writes("corporatemerch") == []
    [waiting] = report.plan.waiting
    assert waiting.system == "corporatemerch" and "Ada Lovelace" in waiting.who
    assert waiting.field in ("street", "postal_code", "city", "region", "country")
    assert [(w.system, w.entity_id) for w in world.mirror.waiting()] == [
        ("corporatemerch", waiting.entity_id)
    ]
    assert len(by_email(world.sim("leadconnector").contacts(), "bob@diff.example")) == 1

    again = world.sync()
    assert again.status == "succeeded" and again.plan.waiting == [] and not again.plan.ops
    assert [w.entity_id for w in world.mirror.waiting()] == [waiting.entity_id]

    [lc] = by_email(world.sim("leadconnector").contacts(), "ada@analytical.example")
    address = {
        "address1": "12 Main St",
        "city": "Austin",
        "state": "TX",
        "postalCode": "78701",
        "country": "US",
    }
    world.sim("leadconnector").ui_edit(lc["id"], address)
    changed = world.sync()
    assert changed.status == "succeeded" and changed.plan.waiting == []
    [cm] = world.sim("corporatemerch").contacts()
    assert (cm["email"], cm["zip_code"]) == ("ada@analytical.example", "78701")
    assert world.mirror.waiting() == []


def test_the_preview_names_the_creates_that_will_wait_before_anything_is_sent(world: World) -> None:
    world.sim("apollo").seed_contacts(
        [
            ada_apollo(label_names=["merch"]),  # no street or postal code: CorporateMerch requires them
            {"first_name": "Bob", "last_name": "Babbage", "email": "bob@diff.example"},
        ]
    )

    preview = world.sync(dry_run=True)

    [foreseen] = preview.plan.waiting
    assert foreseen.system == "corporatemerch" and "Ada Lovelace" in foreseen.who
    assert foreseen.field in ("street", "postal_code", "city", "region", "country")
    assert not [p for p in preview.plan.problems if p.system == "corporatemerch"]
    assert world.writes("corporatemerch") == [] and world.writes("leadconnector") == []

    report = world.sync()
    assert [(w.system, w.field) for w in report.plan.waiting] == [("corporatemerch", foreseen.field)]


def test_a_tag_one_system_cannot_take_never_blocks_the_records_other_fields(world: World) -> None:
    # CorporateMerch has no label "golf-day": its tags are written without it, the company edit
    # still reaches it, the tag is reported by system, record and field, and no system loses it.
    address = {"address1": "12 Main St", "city": "Austin", "state": "TX", "postalCode": "78701"}
    address["country"] = "US"
    [lc] = world.sim("leadconnector").seed_contacts([ada_lc(tags=["merch", "golf-day"], **address)])
    first = world.sync()
    [cm] = world.sim("corporatemerch").contacts()
    assert first.status == "partial"
    reported = [p for p in world.mirror.record_errors(run_id=first.run_id) if p.system == "corporatemerch"]
    assert any(p.field == "tags" and "golf-day" in p.message for p in reported), reported

    world.sim("leadconnector").ui_edit(lc["id"], {"companyName": "Difference Engines"})
    second = world.sync()
    third = world.sync()

    [cm] = world.sim("corporatemerch").contacts()
    assert cm["company_name"] == "Difference Engines"
    assert second.push is not None and not second.push.failed
    [lc_now] = world.sim("leadconnector").contacts()
    assert {"merch", "golf-day"} <= set(lc_now["tags"])  # nobody's tag removed
    [apollo] = world.sim("apollo").contacts()
    assert apollo["organization_name"] == "Difference Engines"
    assert any(o.reason == "left_out" and o.system == "corporatemerch" for o in world.mirror.owed())
    assert third.push is not None and not third.push.failed


def test_a_record_linked_later_gets_the_agreed_values_for_its_blanks_and_keeps_its_tags(world: World) -> None:
    # Ada is synced between LeadConnector and Apollo; later a CorporateMerch record of hers appears
    # with blanks and a tag of its own. Its blanks are values it never had, not values a person
    # cleared: they are filled. What its tags lack was never removed: nobody loses a tag.
    address = {"address1": "12 Main St", "city": "Austin", "state": "TX", "postalCode": "78701"}
    address["country"] = "US"
    world.sim("leadconnector").seed_contacts([ada_lc(tags=["customer"], **address)])
    world.sync()
    world.sim("corporatemerch").seed_contacts([{
        "type": "client", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical.example",
        "address": "12 Main St", "city": "Austin", "state": "TX", "zip_code": "78701", "country": "US",
        "labels": [3],  # vip
    }])  # fmt: skip

    world.sync()
    world.sync()

    [cm] = world.sim("corporatemerch").contacts()
    assert cm["company_name"] == "Analytical Engines"  # filled from the agreed value
    [lc] = world.sim("leadconnector").contacts()
    assert {"customer", "vip"} <= {t.casefold() for t in lc["tags"]}
    assert set(cm["labels"]) >= {1, 3}  # customer and vip


def test_a_record_linked_later_with_another_email_opens_a_conflict_not_an_overwrite(world: World) -> None:
    # A first link is settled as a first link even when the others already agree: the email (a
    # manual field) stays open for a person; nobody's address is replaced.
    world.sim("leadconnector").seed_contacts([ada_lc()])
    world.sim("apollo").seed_contacts([ada_apollo(email="ada.private@example.com")])
    admin = f"{world.cluster['apollo'].admin_url}/faults"
    httpx.put(admin, json={"error_rate": 1.0}, timeout=10).raise_for_status()
    first = world.sync(attempts=1)  # Apollo sits the first run out: LeadConnector's values agree alone
    httpx.put(admin, json={}, timeout=10).raise_for_status()
    assert "apollo" in first.pull_errors

    world.sync()

    lc_emails = {r["email"].lower() for r in world.sim("leadconnector").contacts()}
    assert "ada@analytical.example" in lc_emails and "ada.private@example.com" not in lc_emails
    assert any(c.field == "email" for c in world.mirror.open_conflicts())


def test_a_write_refused_as_a_duplicate_fails_once_then_waits_for_a_change(world: World) -> None:
    """Bob's email changes in Apollo to one another LeadConnector contact holds: LeadConnector refuses
    the update as a duplicate. The run that meets it is partial; later runs do not send it again
    and are not partial for it; it is listed as waiting until the contact changes."""
    world.sim("apollo").seed_contacts(
        [ada_apollo(), {"first_name": "Bob", "last_name": "Babbage", "email": "bob@diff.example"}]
    )
    world.sync()
    [bob] = by_email(world.sim("apollo").contacts(), "bob@diff.example")
    # Ada's LeadConnector contact has her Apollo email; Bob now claims it in Apollo.
    world.sim("apollo").ui_edit(str(bob["id"]), {"email": "ada@analytical.example"})

    refused = world.sync()
    assert refused.status == "partial" and refused.push is not None and refused.push.duplicates
    world.clear_journals()
    again = world.sync()

    assert again.status == "succeeded" and again.errors == 0
    assert world.writes("leadconnector") == []  # not sent again
    assert [w.system for w in world.mirror.waiting() if w.entity_id] == ["leadconnector"]
    assert len(by_email(world.sim("leadconnector").contacts(), "ada@analytical.example")) == 1


def refused_bob(world: World) -> tuple[dict[str, Any], int]:
    """Bob claims Ada's email in Apollo and joins the VIP list; LeadConnector takes the tag (its own
    endpoint) and refuses the rest of his update as a duplicate of Ada's contact. Returns Bob's
    Apollo contact and the refusing run."""
    world.sim("apollo").seed_contacts(
        [ada_apollo(), {"first_name": "Bob", "last_name": "Babbage", "email": "bob@diff.example"}]
    )
    world.sync()
    [bob] = by_email(world.sim("apollo").contacts(), "bob@diff.example")
    world.sim("apollo").ui_edit(str(bob["id"]), {"email": "ada@analytical.example", "label_names": ["vip"]})
    refused = world.sync()
    assert refused.push is not None and len(refused.push.duplicates) == 1
    [bob_in_lc] = [r for r in world.sim("leadconnector").contacts() if r["firstName"] == "Bob"]
    assert bob_in_lc["tags"] == ["vip"] and bob_in_lc["email"] == "bob@diff.example"
    return bob, refused.run_id


def test_a_refused_write_waits_when_its_contact_is_looked_at_again_unchanged(world: World) -> None:
    """Bob's Apollo contact is saved again with nothing new (as a sync's own write comes back in the
    next read): the run looks at Bob again, plans what is left of the refused update (the email,
    not the tag that went through), and keeps it waiting with the first refusal's words and run
    instead of sending it to be refused once more."""
    bob, refused_in = refused_bob(world)
    world.clear_journals()
    # Saved again with the same values.
    world.sim("apollo").ui_edit(str(bob["id"]), {"email": "ada@analytical.example"})

    again = world.sync()

    assert again.changed.get("apollo", 0) >= 1  # Bob was read again and looked at
    assert again.status == "succeeded" and again.errors == 0
    assert world.writes("leadconnector") == []
    [waiting] = [w for w in again.plan.waiting if w.system == "leadconnector"]
    assert (waiting.kind, waiting.run_id) == ("update", refused_in)
    assert "duplicate" in waiting.reason or "existing record" in waiting.reason
    [listed] = [w for w in world.mirror.waiting() if w.entity_id]
    assert (listed.system, listed.run_id) == ("leadconnector", refused_in)
    assert len(by_email(world.sim("leadconnector").contacts(), "ada@analytical.example")) == 1
    # The base stays where LeadConnector is: a later run reads no change there to spread back over
    # the address Bob was given in Apollo.
    assert world.mirror.get_base([waiting.entity_id])[waiting.entity_id]["email"] == "bob@diff.example"
    world.clear_journals()
    world.sim("apollo").ui_edit(str(bob["id"]), {"email": "ada@analytical.example"})  # looked at again
    later = world.sync()
    assert later.errors == 0 and world.writes("apollo") == [] and world.writes("leadconnector") == []
    [bob_now] = [r for r in world.sim("apollo").contacts() if r["id"] == bob["id"]]
    assert bob_now["email"] == "ada@analytical.example"


def test_a_refused_write_goes_through_once_the_record_it_collided_with_changes(world: World) -> None:
    """Ada takes a new address in LeadConnector: the contact Bob's update collided with changed, so
    the run looks at Bob again and sends his update, which LeadConnector now takes."""
    refused_bob(world)
    [ada_in_lc] = by_email(world.sim("leadconnector").contacts(), "ada@analytical.example")
    world.sim("leadconnector").ui_edit(str(ada_in_lc["id"]), {"email": "ada@new.example"})

    after = world.sync()

    assert after.status == "succeeded" and after.errors == 0
    lc = {r["firstName"]: (r.get("email") or "").lower() for r in world.sim("leadconnector").contacts()}
    assert lc == {"Ada": "ada@new.example", "Bob": "ada@analytical.example"}
    assert [w for w in world.mirror.waiting() if w.entity_id] == []


def test_a_summed_up_run_counts_its_conflicts_as_the_state_holds_them(world: World) -> None:
    """``Engine.run(keep_ops=False)`` (``run`` and a summed-up ``sync``) keeps counts of the
    conflicts, not the conflicts: a first sync of a large account would hold every one. The counts
    are those the state holds for the run."""
    world.sim("apollo").seed_contacts([ada_apollo(email="ada.private@example.com", city="Paris")])
    world.sim("leadconnector").seed_contacts([ada_lc(city="London")])

    report = world.engine(None).run(keep_ops=False)

    opened = world.mirror.conflicts(status="open", run_id=report.run_id)
    settled = world.mirror.conflicts(status="resolved", run_id=report.run_id)
    assert opened and settled  # the email waits for a person; the company is settled by its rule
    assert report.plan.conflicts == [] and report.plan.notes == []
    assert (report.open_conflicts, report.settled_conflicts) == (len(opened), len(settled))
    run = world.mirror.last_run()
    assert run is not None and run.counts is not None
    assert (run.counts["conflicts_open"], run.counts["conflicts_settled"]) == (len(opened), len(settled))
