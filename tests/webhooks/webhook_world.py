"""A world for webhook tests: Apollo's and LeadConnector's simulators, a state synced once, and the
receiver and its worker on loopback, with LeadConnector's simulator posting to the receiver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from syncengine.sim import drive
from syncengine.sim.core import ServerThread
from syncengine.sim.runner import SimCluster
from syncengine.webhooks.app import PATH, build_app
from syncengine.webhooks.inbox import INBOX_FILE, Inbox
from syncengine.webhooks.keys import WebhookKeys
from syncengine.webhooks.receiver import Receiver
from syncengine.webhooks.targeted import EngineSync
from syncengine.webhooks.worker import SyncWorker
from syncengine.workspace import Workspace, open_workspace

SYSTEMS = ("apollo", "leadconnector")


@dataclass
class WebhookWorld:
    cluster: SimCluster
    ws: Workspace
    inbox: Inbox
    worker: SyncWorker
    receiver_url: str

    @property
    def lc(self) -> Any:
        return self.cluster["leadconnector"].sim

    @property
    def apollo(self) -> Any:
        return self.cluster["apollo"].sim

    def lc_admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        answer = httpx.request(method, self.cluster["leadconnector"].admin_url + path, timeout=10, **kw)
        answer.raise_for_status()
        return answer

    def webhooks(self, **settings: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.lc_admin("PUT", "/webhooks", json=settings).json()
        return answer

    def apollo_by_email(self) -> dict[str, dict[str, Any]]:
        return {str(c.get("email", "")).lower(): c for c in self.apollo.contacts()}

    def lc_by_email(self) -> dict[str, dict[str, Any]]:
        return {str(c.get("email", "")).lower(): c for c in self.lc.contacts()}

    def journal(self, system: str, since: int = 0) -> list[dict[str, Any]]:
        url = f"{self.cluster[system].admin_url}/journal"
        entries: list[dict[str, Any]] = httpx.get(url, params={"since": since}, timeout=10).json()["entries"]
        return entries

    def last_seq(self, system: str) -> int:
        seq: int = httpx.get(f"{self.cluster[system].admin_url}/journal", timeout=10).json()["last_seq"]
        return seq


@contextmanager
def webhook_world(
    tmp: Path, *, people: int = 12, seed: int = 7, poll_every: float | None = None, wait: float = 10.0
) -> Iterator[WebhookWorld]:
    """``people`` sample people held by both systems, synced once; the receiver answers at
    ``receiver_url`` and LeadConnector's simulator posts there, signed with its own keys."""
    cluster = SimCluster(systems=SYSTEMS, rate_limits=False, env={}, seed=seed)
    with cluster:
        drive.seed_catalogues(cluster)
        drive.seed_people(cluster, people, seed=seed, overlap=1.0, cm_share=0.0)
        env = {**cluster.environment(), "SYNCENGINE_CLIENT_BUDGET": "off"}
        ws = open_workspace(state_dir=tmp / "state", env=env)
        try:
            EngineSync(ws)(None)  # the first sync links everyone
            inbox = Inbox(ws.config.state_dir / INBOX_FILE)
            worker = SyncWorker(inbox, EngineSync(ws, wait=wait), gather_seconds=0.02, retry_seconds=0.2,
                                poll_every=poll_every)  # fmt: skip
            keys = WebhookKeys.from_env(cluster.webhook_environment())
            location = ws.settings.system("leadconnector").location_id
            receiver = Receiver(keys, inbox, location_id=location, on_queued=worker.wake)
            with ServerThread(build_app(receiver)) as server:
                url = server.url + PATH
                world = WebhookWorld(cluster, ws, inbox, worker, url)
                world.webhooks(url=url)
                worker.start()
                try:
                    yield world
                finally:
                    worker.stop()
                    inbox.close()
        finally:
            ws.close()
