"""The command line and the web app take the same decisions: the same worlds, one driven by
``syncengine resolve / sync / undo`` and one through the app's forms, end with the same state
and the same contacts in every simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_world import WebClient, WebWorld, build_world, with_conflicts


@pytest.fixture
def twins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WebWorld, WebWorld]]:
    # The command line gets its world's variables explicitly; the app reads the process's.
    app_world = build_world(tmp_path / "app", monkeypatch)
    app = next(app_world)
    cli_world = build_world(tmp_path / "cli", None)
    cli = next(cli_world)
    yield cli, app
    for world in (cli_world, app_world):
        world.close()


def held(world: WebWorld) -> dict[str, dict[str, Any]]:
    return {
        system: {email: (c.get("companyName", c.get("organization_name")), c.get("city"))
                 for email, c in world.by_email(system).items()}
        for system in ("apollo", "leadconnector")
    }  # fmt: skip


def conflicts(world: WebWorld) -> list[tuple[Any, ...]]:
    """Each conflict's outcome (entity ids and conflict ids differ between the worlds)."""
    return sorted(
        (c.field, sorted(c.values.items()), c.status, c.resolution_value, c.resolved_by,
         c.resolved_run_id is not None)
        for c in world.ctx.mirror.conflicts()
    )  # fmt: skip


def test_resolve_sync_and_undo_end_the_same_from_the_command_line_and_from_the_app(
    twins: tuple[WebWorld, WebWorld],
) -> None:
    cli, app = twins
    with_conflicts(cli)
    with_conflicts(app)
    assert conflicts(cli) == conflicts(app) and held(cli) == held(app)
    listed = json.loads(cli.cli("conflicts", "--json", "--state", "state").stdout)
    company = next(c["id"] for c in listed if c["field"] == "company")
    in_app = next(c.id for c in app.ctx.mirror.open_conflicts() if c.field == "company")
    client = WebClient(app.url)

    done = cli.cli("resolve", str(company), "--take", "apollo", "--state", "state")
    assert done.returncode == 0, done.stderr
    assert client.post(f"/conflicts/{in_app}/settle", take="apollo").status_code == 200
    done = cli.cli("resolve", "--field", "city", "--value", "Lisbon", "--state", "state")
    assert done.returncode == 0, done.stderr
    assert client.post("/conflicts/settle-field", field="city", value="Lisbon").status_code == 200
    assert conflicts(cli) == conflicts(app)
    again = cli.cli("resolve", str(company), "--take", "leadconnector", "--state", "state")
    assert again.returncode == 2 and f"conflict {company} is already resolved" in again.stderr
    refused = client.post(f"/conflicts/{in_app}/settle", take="leadconnector")
    assert refused.status_code == 409 and f"conflict {in_app} is already resolved" in refused.text

    done = cli.cli("sync", "--state", "state")
    assert done.returncode == 0, done.stdout + done.stderr
    ran = client.post("/preview/run", fp=client.preview_fingerprint())
    assert ran.status_code == 200 and "/history/run/" in str(ran.url)
    assert conflicts(cli) == conflicts(app)
    assert held(cli) == held(app)
    assert held(app)["leadconnector"]["ada@x.example"] == ("Analytical Engines Ltd", "Lisbon")

    run = cli.ctx.mirror.last_run()
    assert run is not None and ran.url.path == f"/history/run/{run.id}"
    done = cli.cli("undo", str(run.id), "--state", "state")
    assert done.returncode == 0, done.stdout + done.stderr
    preview = client.http.get(f"/history/run/{run.id}/undo").text
    fingerprint = preview.split('name="fp" value="', 1)[1].split('"', 1)[0]
    assert client.post(f"/history/run/{run.id}/undo", fp=fingerprint).status_code == 200
    assert held(cli) == held(app)
    assert held(app)["leadconnector"]["ada@x.example"] != ("Analytical Engines Ltd", "Lisbon")
