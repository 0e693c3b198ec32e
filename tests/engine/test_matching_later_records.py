"""A record that appears after its person is already synced is linked to that person, not created
again, whichever way its key is cased."""

from __future__ import annotations

import sqlite3

from engine_world import World, duplicated_emails, emails


def test_a_record_added_later_links_to_the_synced_person_by_any_casing(world: World) -> None:
    world.sim("apollo").seed_contacts(
        [{"first_name": "José", "last_name": "Álvarez", "email": "jose@acme.example",
          "organization_name": "Acme"}]
    )  # fmt: skip
    world.sync()
    # A person adds the same contact in CorporateMerch by hand, with the email typed in capitals.
    world.sim("corporatemerch").seed_contacts(
        [{"type": "client", "first_name": "José", "last_name": "ÁLVAREZ", "email": "JOSE@ACME.EXAMPLE",
          "country": "US", "address": "1 Main St", "city": "Austin", "state": "TX", "zip_code": "78701"}]
    )  # fmt: skip

    report = world.sync()

    assert report.plan.match.linked == 1 and report.plan.match.new_entities == 0
    assert len(world.mirror.all_links()) == 1
    assert [len(world.sim(s).contacts()) for s in ("apollo", "leadconnector", "corporatemerch")] == [1, 1, 1]


def _second_contact_for_a_person_in_conflict(world: World) -> None:
    """Ada is in Apollo and LeadConnector with two different emails (an open conflict: the base has
    no email), and LeadConnector holds a second contact for her with her Apollo email."""
    world.sim("apollo").seed_contacts(
        [
            {
                "first_name": "Ada",
                "last_name": "Byron",
                "email": "ada@work.example",
                "organization_name": "Acme",
            }
        ]
    )
    world.sim("leadconnector").seed_contacts(
        [
            {"firstName": "Ada", "lastName": "Byron", "email": "ada@home.example", "companyName": "Acme"},
            {
                "firstName": "Ada",
                "lastName": "Byron",
                "email": "ada@work.example",
                "companyName": "Acme Inc.",
            },
        ]
    )


def test_a_record_matching_only_a_value_in_conflict_is_never_created_again(world: World) -> None:
    """The second LeadConnector contact matches Ada's Apollo record by email. Ada already has a
    LeadConnector record, so it is a match conflict, reported and left unlinked. The base holds no
    email while the email conflict is open, so the next runs find Ada through her linked records'
    values, and the contact is reported again instead of being taken for someone new and created
    in Apollo a second time. While nothing about it changes, it waits without being matched again."""
    _second_contact_for_a_person_in_conflict(world)
    first = world.sync()
    assert [c.reason for c in first.plan.match.conflicts] == [
        "the contact it matches by email already has a leadconnector record"
    ]
    assert (
        "email"
        not in world.mirror.get_base(list(world.mirror.all_links()))[next(iter(world.mirror.all_links()))]
    )

    for _ in range(2):
        again = world.sync()
        assert again.plan.match.new_entities == 0 and again.plan.match.conflicts == ()
        assert again.waiting_records == 1
        assert not again.plan.ops

    # A change to one of the records sharing its key brings it back to matching, and it is
    # reported again, not taken for someone new.
    ada = next(c for c in world.sim("apollo").contacts() if c.get("email") == "ada@work.example")
    world.sim("apollo").ui_edit(ada["id"], {"title": "Countess"})
    moved = world.sync()
    assert moved.plan.match.new_entities == 0
    assert [c.reason for c in moved.plan.match.conflicts] == [
        "the contact already has a leadconnector record"
    ]

    assert emails(world, "apollo") == ["ada@work.example"]
    assert duplicated_emails(world) == {}


def test_a_state_from_before_match_keys_finds_the_person_too(world: World) -> None:
    """A state written before records kept their match keys has none: the first run reads the
    linked records once to fill them in, a preview without writing them."""
    _second_contact_for_a_person_in_conflict(world)
    world.sync()
    with sqlite3.connect(world.tmp / "state.db") as conn:
        conn.execute("DELETE FROM match_keys")
    conn.close()

    preview = world.sync(dry_run=True)
    assert preview.plan.match.new_entities == 0 and not preview.plan.ops
    assert not world.mirror.has_match_keys()

    report = world.sync()
    assert report.plan.match.new_entities == 0 and not report.plan.ops
    assert world.mirror.has_match_keys()
    assert emails(world, "apollo") == ["ada@work.example"]
