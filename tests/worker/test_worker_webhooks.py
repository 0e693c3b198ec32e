"""``syncengine webhooks --pairings``: a webhook becomes a targeted sync job of the pairing whose
LeadConnector location sent it, and a worker carries the edit to that pairing's Apollo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from webhooks.signing import Signer, payload
from worker_world import pairings, queue_url

from syncengine.mirror import Mirror
from syncengine.sim.core import ServerThread
from syncengine.webhooks.app import PATH, build_app
from syncengine.webhooks.inbox import Inbox
from syncengine.webhooks.jobs import pairing_jobs
from syncengine.webhooks.receiver import Receiver
from syncengine.worker import tasks

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    yield from queue_url()


def _log(tmp: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(tmp.glob("worker-*.log")))


def _targeted_jobs(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT args, lock, status FROM procrastinate_jobs WHERE task_name = %s ORDER BY id",
            (tasks.TARGETED,),
        ).fetchall()


def test_a_webhook_becomes_a_targeted_sync_job_of_its_locations_pairing(tmp_path: Path, url: str) -> None:
    with pairings(tmp_path, url, 2, 20) as world:
        assert world.worker("--sync-now", "--until-idle").wait(timeout=240) == 0, _log(tmp_path)
        target = world.worlds[1]
        lc = target.cluster["leadconnector"].sim
        contact_id = str(lc.contacts()[0]["id"])
        with Mirror.open(tmp_path / "state" / target.name / "syncengine.db") as mirror:
            entity = mirror.entities_for("leadconnector", [contact_id])[contact_id]
            apollo_id = mirror.records_for_entity(entity)["apollo"].remote_id
        lc.ui_edit(contact_id, {"firstName": "Hooked"})  # a person edits it in LeadConnector

        signer, now = Signer(), datetime.now(UTC)
        location = target.cluster.environment()["LEADCONNECTOR_LOCATION_ID"]
        inbox = Inbox(tmp_path / "webhooks.db")
        with (
            pairing_jobs(world.config) as jobs,
            ServerThread(build_app(Receiver(signer.keys(), inbox, jobs=jobs))) as server,
            httpx.Client(base_url=server.url) as client,
        ):
            def post(body: bytes) -> httpx.Response:
                headers = {"Content-Type": "application/json", **signer.ghl(body)}
                return client.post(PATH, content=body, headers=headers)

            body = payload(now, webhook_id="wh-1", contact_id=contact_id, location=location)
            answer = post(body)
            assert answer.status_code == 200 and answer.json() == {"outcome": "queued"}
            assert post(body).json()["outcome"] == "duplicate"  # a replay defers nothing more
            other = payload(now, webhook_id="wh-2", contact_id=contact_id, location="SimLocationUnknown01")
            answer = post(other)
            assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"
            unsigned = payload(now, webhook_id="wh-3", contact_id=contact_id, location=location)
            assert client.post(PATH, content=unsigned).status_code == 401
        inbox.close()

        args = {"pairing": target.name, "system": "leadconnector", "remote_ids": [contact_id]}
        assert _targeted_jobs(url) == [(args, tasks.lock_of(target.name), "todo")]

        assert world.worker("--until-idle").wait(timeout=240) == 0, _log(tmp_path)
        targeted = [r for r in world.runs() if r.task == tasks.TARGETED]
        assert [(r.pairing, r.status) for r in targeted] == [(target.name, "succeeded")], world.runs()
        apollo = {str(c["id"]): c for c in target.cluster["apollo"].sim.contacts()}
        assert apollo[apollo_id]["first_name"] == "Hooked"
        untouched = world.worlds[0].cluster["apollo"].sim.contacts()
        assert all(c.get("first_name") != "Hooked" for c in untouched)
