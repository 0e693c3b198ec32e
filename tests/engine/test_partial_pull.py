"""A pull that stops part-way stored some records; a later run must still look at them.

The records a failed pull stored were "changed" in that run, but the system sat the run out. The
next run reads the system again from its old cursor, finds the same content (so nothing is
"changed" in that run), and must still merge what the failed run stored: where a system's changes
are read from depends on the last run that processed that system, not on the last run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from engine_world import World, converge, seed_sample

from syncengine.connectors.errors import TransientError
from syncengine.stages import pull


def test_an_edit_stored_by_a_pull_that_failed_midway_still_reaches_the_other_systems(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_sample(world, 60)
    converge(world)
    lc = world.sim("leadconnector")
    edited = next(r for r in lc.contacts() if r.get("email"))
    lc.ui_edit(edited["id"], {"companyName": "Renamed Midway Ltd"})

    monkeypatch.setattr(pull, "PULL_CHUNK", 1)  # every record is stored as soon as it is read
    engine = world.engine()
    connector = engine.connectors["leadconnector"]
    real = connector.pull

    def stops_after_the_edit(since: Any, *, full: bool = False) -> Iterator[Any]:
        for record in real(since, full=full):
            yield record
            if record.remote_id == edited["id"]:
                raise TransientError("connection dropped", system="leadconnector")

    connector.pull = stops_after_the_edit  # type: ignore[method-assign]
    failed = engine.run()
    assert "leadconnector" in failed.pull_errors
    for c in engine.connectors.values():
        c.close()

    converge(world)

    entity = world.mirror.entity_for("leadconnector", edited["id"])
    apollo_id = world.mirror.links_of(entity or "").get("apollo")
    assert apollo_id is not None
    held = next(r for r in world.sim("apollo").contacts() if r["id"] == apollo_id)
    assert held["organization_name"] == "Renamed Midway Ltd"
