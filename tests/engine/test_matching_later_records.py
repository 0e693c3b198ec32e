"""A record that appears after its person is already synced is linked to that person, not created
again, whichever way its key is cased."""

from __future__ import annotations

from engine_world import World


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
