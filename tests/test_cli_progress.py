"""Progress bars: counts per phase and system on a terminal, nothing at all in pipes and JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncengine.sim.runner import SimCluster

CREDENTIALS = ("APOLLO_API_KEY", "LEADCONNECTOR_TOKEN", "LEADCONNECTOR_LOCATION_ID", "CORPORATEMERCH_TOKEN")


@pytest.fixture
def cluster() -> Iterator[SimCluster]:
    with SimCluster(contacts=20, rate_limits=False, env={}, seed=9) as running:
        yield running


def sync(cluster: SimCluster, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CREDENTIALS and k != "SYNCENGINE_PROGRESS"}
    return subprocess.run(
        [sys.executable, "-m", "syncengine", "sync", "--json"],
        env={**clean, **cluster.environment(), **env, "COLUMNS": "120"},
        cwd=cwd, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def test_progress_is_silent_when_not_on_a_terminal(cluster: SimCluster, tmp_path: Path) -> None:
    done = sync(cluster, tmp_path)

    assert done.returncode in (0, 1, 3), done.stderr
    json.loads(done.stdout)  # stdout is the JSON alone
    assert "pull apollo" not in done.stderr and "push" not in done.stderr


def test_progress_shows_counts_per_phase_and_system_when_asked(cluster: SimCluster, tmp_path: Path) -> None:
    done = sync(cluster, tmp_path, SYNCENGINE_PROGRESS="1")

    assert done.returncode in (0, 1, 3), done.stderr
    json.loads(done.stdout)  # the bars go to stderr, never into the JSON
    for system in ("apollo", "leadconnector", "corporatemerch"):
        assert f"pull {system}" in done.stderr
    pushed = re.findall(r"push (\w+)\s.*?(\d+)/(\d+)", done.stderr)
    assert pushed and all(a == b for _, a, b in pushed[-2:]), done.stderr[-2000:]


def test_a_storm_of_rate_limit_waits_is_one_line_per_system() -> None:
    import io

    from rich.console import Console

    from syncengine.connectors.http import RateLimitWait
    from syncengine.progress import SyncProgress

    buf = io.StringIO()
    with SyncProgress(Console(file=buf, force_terminal=True, width=120), enabled=True) as progress:
        for _ in range(40):
            progress.on_wait(RateLimitWait("apollo", "search", 1.0, "429 [/x] Retry-After"))
    shown = buf.getvalue()
    assert "wait apollo: 40 × 40 s" in shown and "[/x]" in shown  # the reason is shown as text
    assert shown.count("wait apollo") < 10  # redrawn in place, not printed 40 times
