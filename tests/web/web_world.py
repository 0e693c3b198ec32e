"""A world for the web app's tests: Apollo and LeadConnector simulators over real HTTP, a state
directory, the app served by uvicorn on loopback, and the command line for comparison."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncengine import actions
from syncengine.sim.core import ServerThread
from syncengine.sim.runner import SimCluster
from syncengine.web.app import create_app
from syncengine.web.context import WebContext

REPO = Path(__file__).resolve().parents[2]
CREDENTIALS = ("APOLLO_API_KEY", "LEADCONNECTOR_TOKEN", "LEADCONNECTOR_LOCATION_ID", "CORPORATEMERCH_TOKEN")
MANUAL = '[fields.company]\npolicy = "manual"\n[fields.city]\npolicy = "manual"\n'


@dataclass
class WebWorld:
    cluster: SimCluster
    ctx: WebContext
    server: ServerThread
    home: Path  # the working directory: syncengine.toml, rules/, state/
    via_cli: bool = False  # its syncs run the command line (its variables are not the process's)

    @property
    def url(self) -> str:
        return self.server.url

    def sim(self, system: str) -> Any:
        return self.cluster[system].sim

    @property
    def env(self) -> dict[str, str]:
        return {**self.cluster.environment(), "SYNCENGINE_CLIENT_BUDGET": "off"}

    def sync(self) -> actions.SyncOutcome:
        """A sync as the command line runs it (same function), outside the browser."""
        if self.via_cli:
            done = self.cli("sync", "--state", "state")
            assert done.returncode in (0, 1), done.stdout + done.stderr
            return actions.SyncOutcome(None, {})  # type: ignore[arg-type]  # the state holds the result
        with self.ctx.workspace(lock=True, command="test") as ws:
            return actions.run_sync(ws, dry_run=False)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
        return subprocess.run(
            [sys.executable, "-m", "syncengine", *args], env={**clean, **self.env}, cwd=self.home,
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip

    def by_email(self, system: str) -> dict[str, dict[str, Any]]:
        return {c["email"]: c for c in self.sim(system).contacts() if c.get("email")}


def build_world(home: Path, monkeypatch: pytest.MonkeyPatch | None) -> Iterator[WebWorld]:
    """The world in ``home``; with ``monkeypatch`` the process takes its variables and directory
    (the app's world), without it only its command line does."""
    home.mkdir(parents=True, exist_ok=True)
    rules = home / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "default.toml").write_text((REPO / "rules" / "default.toml").read_text())
    (rules / "team.toml").write_text(MANUAL)
    (home / "syncengine.toml").write_text('rules = "rules"\n')
    with SimCluster(systems=("apollo", "leadconnector"), rate_limits=False, env={}) as cluster:
        if monkeypatch is not None:
            for name in CREDENTIALS:
                monkeypatch.delenv(name, raising=False)
            for name, value in {**cluster.environment(), "SYNCENGINE_CLIENT_BUDGET": "off"}.items():
                monkeypatch.setenv(name, value)
            monkeypatch.chdir(home)
        ctx = WebContext.open(home / "state", None)
        server = ServerThread(create_app(ctx)).start()
        try:
            yield WebWorld(cluster, ctx, server, home, via_cli=monkeypatch is None)
        finally:
            server.stop()
            ctx.close()


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebWorld]:
    yield from build_world(tmp_path / "home", monkeypatch)


def ada_and_grace(world: WebWorld) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ada in both systems (Apollo knows her city), Grace in Apollo only, Cy in LeadConnector only."""
    apollo = world.sim("apollo").seed_contacts([
        {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@x.example",
         "organization_name": "Analytical Engines", "city": "London"},
        {"first_name": "Grace", "last_name": "Hopper", "email": "grace@x.example",
         "organization_name": "Navy"},
    ])  # fmt: skip
    lc = world.sim("leadconnector").seed_contacts([
        {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@x.example",
         "companyName": "Analytical Engines"},
        {"firstName": "Cy", "lastName": "Bold", "email": "cy@x.example", "companyName": "<b>bold</b>"},
    ])  # fmt: skip
    return apollo, lc


def with_conflicts(world: WebWorld) -> None:
    """Two people synced, then company and city (manual) edited apart in both systems."""
    apollo = world.sim("apollo").seed_contacts([
        {"first_name": p.title(), "last_name": "X", "email": f"{p}@x.example", "organization_name": c,
         "city": t}
        for p, c, t in [("ada", "Analytical Engines", "London"), ("grace", "Navy", "Arlington")]
    ])  # fmt: skip
    lc = world.sim("leadconnector").seed_contacts([
        {"firstName": p.title(), "lastName": "X", "email": f"{p}@x.example", "companyName": c, "city": t}
        for p, c, t in [("ada", "Analytical Engines", "London"), ("grace", "Navy", "Arlington")]
    ])  # fmt: skip
    world.sync()
    edited = {"organization_name": "Analytical Engines Ltd", "city": "Paris"}
    world.sim("apollo").ui_edit(apollo[0]["id"], edited)
    markup = "<script>window.pwned=1</script>"
    world.sim("leadconnector").ui_edit(lc[0]["id"], {"companyName": markup, "city": "Rome"})
    world.sim("apollo").ui_edit(apollo[1]["id"], {"city": "Washington"})
    world.sim("leadconnector").ui_edit(lc[1]["id"], {"city": "New York"})
    world.sync()


class WebClient:
    """The app's forms over plain HTTP, as a browser posts them (cookies kept, CSRF token read
    from a page)."""

    def __init__(self, url: str, **options: Any) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=True, timeout=120, **options)

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.http.get("/login").text)
        assert found, "no form on the sign-in page"
        return found.group(1)

    def post(self, path: str, **fields: str) -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf(), **fields})

    def preview_fingerprint(self) -> str:
        found = re.search(r'name="fp" value="([^"]+)"', self.http.get("/preview").text)
        assert found, "the preview shows no plan to run"
        return found.group(1)

    def close(self) -> None:
        self.http.close()
