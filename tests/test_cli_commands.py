"""The command line as scripts and people use it: shapes of --json, exit codes, documented commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncengine.cli import app
from syncengine.sim.runner import SimCluster

ROOT = Path(__file__).resolve().parents[1]
CREDENTIAL_VARIABLES = (
    "APOLLO_API_KEY",
    "LEADCONNECTOR_TOKEN",
    "LEADCONNECTOR_LOCATION_ID",
    "CORPORATEMERCH_TOKEN",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimCluster]:
    with SimCluster(contacts=30, rate_limits=False, env={}, seed=4) as running:
        yield running


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "syncengine", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_plan_json_has_the_documented_shape_and_writes_nothing(cluster: SimCluster, tmp_path: Path) -> None:
    done = cli("plan", "--json", env=cluster.environment(), cwd=tmp_path)

    # The preview exits as the sync would: 3 when it foresees writes a system will refuse.
    assert done.returncode in (0, 1, 3), done.stderr
    data = json.loads(done.stdout)
    assert {"schema", "run_id", "dry_run", "status", "counts", "match", "ops", "conflicts", "errors"} <= set(
        data
    )
    assert data["dry_run"] is True and data["ops"]
    op = data["ops"][0]
    assert {"system", "kind", "remote_id", "fields", "calls"} <= set(op)
    assert op["calls"] and {"method", "path", "body"} <= set(op["calls"][0])
    foreseen = [e for e in data["errors"] if "would be refused" in e["message"]]
    assert (done.returncode == 3) == bool(foreseen)
    assert all(e["system"] and e["field"] for e in foreseen)
    again = json.loads(cli("plan", "--json", env=cluster.environment(), cwd=tmp_path).stdout)
    assert again["counts"] == data["counts"]  # the preview wrote nothing, so it shows the same plan


def test_sync_then_status_conflicts_and_a_second_sync_with_nothing_to_do(
    cluster: SimCluster, tmp_path: Path
) -> None:
    env = cluster.environment()
    first = cli("sync", "--json", env=env, cwd=tmp_path)
    assert first.returncode in (0, 1, 3), first.stderr
    status = json.loads(cli("status", "--json", env=env, cwd=tmp_path).stdout)
    assert status["runs"][0]["status"] in ("succeeded", "partial")
    assert all(s["configured"] for s in status["systems"].values())
    listed = cli("conflicts", "--csv", "--all", env=env, cwd=tmp_path)
    assert listed.stdout.startswith("id,entity_id,field,base,system,value")
    second = json.loads(cli("sync", "--json", env=env, cwd=tmp_path).stdout)
    # Nothing left to write; what remains are records a system refuses (reported every run).
    assert second["confirmed"] == []
    assert all(op["system"] == "corporatemerch" and op["kind"] == "create" for op in second["ops"])
    assert len(second["errors"]) >= len(second["ops"]) or second["failed"]
    assert (tmp_path / "state" / "syncengine.db").exists()
    assert oct((tmp_path / "state" / "syncengine.db").stat().st_mode & 0o777) == "0o600"


def test_refused_credentials_exit_4_without_printing_them(cluster: SimCluster, tmp_path: Path) -> None:
    env = {**cluster.environment(), "APOLLO_API_KEY": "refused-key-0123456789"}
    done = cli("check", env=env, cwd=tmp_path)

    assert done.returncode == 4
    assert "refused-key-0123456789" not in done.stdout + done.stderr
    assert "apollo" in done.stdout


def test_a_bad_rules_file_exits_2_naming_the_file_and_key(cluster: SimCluster, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "default.toml").write_text((ROOT / "rules" / "default.toml").read_text())
    (rules / "team.toml").write_text('[fields.tags]\npolicy = "unoin"\n')
    (tmp_path / "syncengine.toml").write_text(f'rules = "{rules}"\n')

    done = cli("plan", env=cluster.environment(), cwd=tmp_path)

    assert done.returncode == 2
    assert "team.toml" in done.stderr and "fields.tags.policy" in done.stderr


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert command.callback.__doc__, f"{name} has no help"
        assert re.search(rf"`syncengine {name}\b", readme), f"{name} is not in the README"
