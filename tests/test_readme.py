"""The README's quick start, run as a new user would: no credentials, a fresh directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CREDENTIALS = ("APOLLO_API_KEY", "LEADCONNECTOR_TOKEN", "LEADCONNECTOR_LOCATION_ID", "CORPORATEMERCH_TOKEN")


def quick_start() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block, "the README starts with a sh code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def syncengine(*args: str, cwd: Path, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS and not k.startswith("SYNCENGINE_")}
    env["COLUMNS"] = str(columns)
    command = [sys.executable, "-m", "syncengine", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_quick_start_commands_are_the_demo_and_the_ci_test_command() -> None:
    main_job, tests = quick_start()
    install = "python3 -m pip install -e '.[dev]'"
    assert main_job == f"{install} && syncengine sync"
    assert tests == f"{install} && python3 -m pytest"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m pytest\n" in ci and "pip install --quiet --disable-pip-version-check -e '.[dev]'" in ci


def test_a_new_user_runs_the_demo_reads_the_reports_and_settles_a_conflict(tmp_path: Path) -> None:
    # The package is installed (the first half of the command); the demo itself runs for real.
    demo = syncengine("sync", cwd=tmp_path)
    assert demo.returncode == 1, demo.stderr[-2000:]  # conflicts wait; CorporateMerch creates wait too
    assert "Preview (dry run" in demo.stdout and "Conflicts" in demo.stdout
    for report in ("preview.html", "conflicts.html"):
        page = (tmp_path / "state" / report).read_text()
        assert page.startswith("<!doctype html>") and "syncengine" in page
        assert (tmp_path / "state" / report).stat().st_mode & 0o777 == 0o600  # it holds contacts

    # The run said some creates wait (CorporateMerch needs an address) and `status` lists them apart
    # from errors, each with its system and reason.
    waiting = json.loads(syncengine("status", "--json", cwd=tmp_path).stdout)["waiting"]
    assert waiting["creates"] and all(
        w["system"] and w["entity_id"] and w["reason"] for w in waiting["first"]
    )
    status = syncengine("status", cwd=tmp_path, columns=200).stdout
    assert "bundled simulator" in status and "waiting for a change:" in status
    for item in waiting["first"][:3]:
        assert item["entity_id"][:8] in status

    open_conflicts = json.loads(syncengine("conflicts", "--json", cwd=tmp_path).stdout)
    assert open_conflicts, "the demo leaves a conflict for a person"
    first = open_conflicts[0]
    system, value = sorted(first["values"].items())[-1]
    settled = syncengine("resolve", str(first["id"]), "--take", system, cwd=tmp_path)
    assert settled.returncode == 0, settled.stderr

    again = syncengine("sync", "--json", cwd=tmp_path)
    assert again.returncode in (0, 1, 3), again.stderr[-2000:]
    remaining = json.loads(syncengine("conflicts", "--json", cwd=tmp_path).stdout)
    assert first["id"] not in [c["id"] for c in remaining]
    shown = syncengine("show", first["entity_id"], cwd=tmp_path).stdout
    assert str(value) in shown
