"""Output a person can read: history is limited to the newest entries; APScheduler's own log lines
stay out of `run --every`'s output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from test_cli_commands import cli

from syncengine.schedule import quiet_apscheduler
from syncengine.sim.runner import SimCluster


def test_history_shows_the_newest_entries_unless_asked_for_more(tmp_path: Path) -> None:
    with SimCluster(systems=("apollo", "leadconnector"), contacts=30, rate_limits=False, env={}) as cluster:
        env = {**cluster.environment(), "COLUMNS": "300"}
        assert cli("sync", "--json", env=env, cwd=tmp_path).returncode in (0, 1)
    every = json.loads(cli("history", "--json", "--all", cwd=tmp_path, env={}).stdout)
    assert len(every) > 50
    shown = cli("history", cwd=tmp_path, env={"COLUMNS": "300"})
    assert f"the newest 50 of {len(every)} entries" in shown.stderr
    assert len(json.loads(cli("history", "--json", "--limit", "7", cwd=tmp_path, env={}).stdout)) == 7


def test_apscheduler_lines_go_to_our_log_at_debug(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    quiet_apscheduler()
    with caplog.at_level(logging.DEBUG, logger="syncengine.schedule"):
        logging.getLogger("apscheduler.scheduler").warning("skipped: maximum number of instances reached")
    assert "maximum number" not in capsys.readouterr().err
    assert any("maximum number" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)
