"""Matching an account's records a part at a time finds exactly what matching them all at once
finds: the same people, the same records each, the same records left waiting and why."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from engine_world import World, seed_sample

from syncengine.mirror import Mirror
from syncengine.stages import link as link_stage
from syncengine.stages.context import RunContext
from syncengine.stages.link import link
from syncengine.stages.pull import pull
from syncengine.stages.select import select


def _match(world: World, path: Path, part: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Pull and match (nothing else) into the state at ``path``, ``part`` records at a time."""
    monkeypatch.setattr(link_stage, "PART", part)
    monkeypatch.setattr(link_stage, "LOOKUP_CHUNK", max(1, part // 2))
    with Mirror.open(path) as mirror:
        engine = world.engine()
        run_id = mirror.start_run().id
        ctx = RunContext(mirror, engine.connectors, world.rules, run_id, False, lambda: datetime.now(UTC),
                         lambda *_: None)  # fmt: skip
        pulled = pull(ctx, full=False)
        ctx = dataclasses.replace(ctx, holds={s: c.fields for s, c in engine.connectors.items()})
        linked = link(ctx, select(ctx, pulled).unlinked, pulled)
        people = {frozenset(links.items()) for links in mirror.all_links().values()}
        outcome = linked.outcome
        return {
            "people": people,
            "waiting": {(c.system, c.remote_id, c.key, c.reason) for c in outcome.conflicts},
            "counts": (
                outcome.linked, outcome.new_entities, outcome.matched_across, dict(outcome.only_in),
                dict(outcome.linked_by),
            ),
            "problems": sorted((p.system, p.remote_id or "", p.field or "") for p in linked.problems),
            "entities": len(linked.entities),
        }


def _people(world: World, rows: list[tuple[str, str, str, str, str]]) -> None:
    """Contacts of LeadConnector: (first, last, email, phone, company)."""
    world.sim("leadconnector").seed_contacts(
        [{"firstName": f, "lastName": la, "email": e or None, "phone": p or None, "companyName": c}
         for f, la, e, p, c in rows]
    )  # fmt: skip


def test_a_first_match_in_parts_equals_one_at_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_sample(world, 240, seed=3)
    # Records of one system sharing a key (which of them is the person is unclear), and a chain of
    # records linked only through each other.
    _people(world, [
        ("Ada", "Byron", "ada@twice.example", "", "Acme"),
        ("Ada", "Byron", "ada@twice.example", "", "Acme"),
        ("Bo", "Chain", "bo@chain.example", "+15125550101", "Chain Co"),
    ])  # fmt: skip
    world.sim("apollo").seed_contacts([
        {"first_name": "Bo", "last_name": "Chain", "email": "bo2@chain.example",
         "organization_name": "Chain Co", "phone_numbers": [{"raw_number": "+15125550101"}]},
    ])  # fmt: skip

    at_once = _match(world, world.tmp / "at-once.db", 10**6, monkeypatch)
    in_parts = _match(world, world.tmp / "in-parts.db", 7, monkeypatch)

    assert in_parts == at_once
    assert len(at_once["people"]) > 200 and at_once["waiting"]  # the comparison covers both


def test_records_added_to_a_known_account_match_in_parts_as_at_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_sample(world, 120, seed=4)
    world.sync(rules=dataclasses.replace(world.rules, create={}))  # known, but not in every system
    apollo_only = {e["apollo"] for e in world.mirror.all_links().values() if set(e) == {"apollo"}}
    known = [c for c in world.sim("apollo").contacts() if c.get("email") and c["id"] in apollo_only][:12]
    assert len(known) == 12
    # New LeadConnector records: some for people already known (by email), two claiming one known
    # person through different keys, and some new people.
    rows = [(c["first_name"], c["last_name"], c["email"], "", "Elsewhere") for c in known[:8]]
    rows += [(known[8]["first_name"], known[8]["last_name"], known[8]["email"], "", "X"),
             (known[8]["first_name"], known[8]["last_name"], "", "", known[8].get("organization_name") or "")]
    rows += [(f"New{i}", "Person", f"new{i}@later.example", "", "Later") for i in range(10)]  # fmt: skip
    _people(world, rows)
    for name in ("at-once.db", "in-parts.db"):  # the state as the sync left it, twice
        with sqlite3.connect(world.tmp / "state.db") as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        shutil.copy(world.tmp / "state.db", world.tmp / name)

    at_once = _match(world, world.tmp / "at-once.db", 10**6, monkeypatch)
    in_parts = _match(world, world.tmp / "in-parts.db", 5, monkeypatch)

    assert in_parts == at_once
    # The comparison covers records linked to known people and two claiming one of them.
    assert at_once["counts"][0] >= 8
    assert any("match the same contact" in reason for *_, reason in at_once["waiting"])
