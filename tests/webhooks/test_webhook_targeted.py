"""A targeted run reads only the named contacts, except on a state where a system was never
pulled: its people would look new, so a full first run is made instead."""

from __future__ import annotations

from pathlib import Path

from syncengine.sim import drive
from syncengine.sim.runner import SimCluster
from syncengine.webhooks.targeted import EngineSync, supports_targets
from syncengine.workspace import open_workspace


def test_a_fresh_state_gets_a_full_first_run_then_targeted_ones(tmp_path: Path) -> None:
    with SimCluster(systems=("apollo", "leadconnector"), rate_limits=False, env={}, seed=3) as cluster:
        drive.seed_catalogues(cluster)
        drive.seed_people(cluster, 10, seed=3, overlap=1.0, cm_share=0.0)
        apollo = cluster["apollo"].sim
        people = len(apollo.contacts())
        lc_id = cluster["leadconnector"].sim.contacts()[0]["id"]
        env = {**cluster.environment(), "SYNCENGINE_CLIENT_BUDGET": "off"}
        with open_workspace(state_dir=tmp_path / "state", env=env) as ws:
            sync = EngineSync(ws)
            first = sync({"leadconnector": [lc_id]})
            assert set(first.pulled) == {"apollo", "leadconnector"} and first.pulled["apollo"] == people
            assert len(apollo.contacts()) == people  # everyone linked, nobody created twice
            cluster["leadconnector"].sim.ui_edit(lc_id, {"companyName": "Targeted Co"})
            second = sync({"leadconnector": [lc_id]})
            if supports_targets():
                assert second.pulled == {"leadconnector": 1}  # read by id; Apollo's mirror stands in
            assert "Targeted Co" in {c.get("organization_name") for c in apollo.contacts()}
            assert len(apollo.contacts()) == people
