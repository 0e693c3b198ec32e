"""``syncengine worker`` syncs every pairing of its file, each in its own state, judged by the oracle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import oracle
import pytest
from worker_world import pairings, queue_url

from syncengine.mirror import Mirror
from syncengine.worker.pairing_run import pairing_config

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    yield from queue_url()


def _log(tmp: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(tmp.glob("worker-*.log")))


def test_a_worker_syncs_each_pairing_in_its_own_state(tmp_path: Path, url: str) -> None:
    with pairings(tmp_path, url, 2, 60) as world:
        proc = world.worker("--sync-now", "--until-idle")
        assert proc.wait(timeout=240) == 0, _log(tmp_path)
        runs = world.runs()
        assert sorted(r.pairing for r in runs) == ["p0", "p1"], _log(tmp_path)
        assert all(r.finished_at and r.status in ("succeeded", "partial") for r in runs), runs
        ids = {w.name: [str(c["id"]) for c in w.cluster["leadconnector"].sim.contacts()]
               for w in world.worlds}  # fmt: skip
        for pairing, other in zip(world.worlds, reversed(world.worlds), strict=True):
            oracle.assert_complete(world.audit(pairing), context=[pairing.name])
            # Each pairing's state holds its own systems' records, and none of the other's.
            with Mirror.open(tmp_path / "state" / pairing.name / "syncengine.db") as mirror:
                assert len(mirror.get_records("leadconnector", ids[pairing.name])) == len(ids[pairing.name])
                assert mirror.get_records("leadconnector", ids[other.name]) == {}


def test_on_postgresql_each_pairing_keeps_its_state_in_its_own_schema(tmp_path: Path, url: str) -> None:
    with pairings(tmp_path, url, 2, 40, state="postgresql") as world:
        proc = world.worker("--sync-now", "--until-idle")
        assert proc.wait(timeout=240) == 0, _log(tmp_path)
        config = world.config
        for pairing in world.worlds:
            oracle.assert_complete(world.audit(pairing), context=[pairing.name])
            database = pairing_config(config, config.pairing(pairing.name)).database
            assert database and config.pairing(pairing.name).schema in database
            with Mirror.open(database) as mirror:
                assert [r.status for r in mirror.recent_runs(5)] == ["succeeded"]
        assert not (tmp_path / "state" / "p0" / "syncengine.db").exists()
