"""`syncengine run --every`: cycles on a schedule until Ctrl-C or SIGTERM, which finish the cycle in
flight; nothing is left half-written and the next sync has nothing to redo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncengine.mirror import Mirror

CREDENTIALS = ("APOLLO_API_KEY", "LEADCONNECTOR_TOKEN", "LEADCONNECTOR_LOCATION_ID", "CORPORATEMERCH_TOKEN")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS and not k.startswith("SYNCENGINE_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_scheduled_sync_stops_cleanly_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncengine", "run", "--every", "2s"],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait for the first cycle, then stop during the next one
        line = proc.stdout.readline()
        seen.append(line)
        if line.startswith("run "):
            break
    assert any(line.startswith("run ") for line in seen), "".join(seen) + proc.stderr.read()
    time.sleep(2.2)  # the second cycle is under way
    proc.send_signal(sig)
    _, errors = proc.communicate(timeout=120)

    assert proc.returncode == 0, errors[-2000:]
    assert "Traceback" not in errors
    mirror = Mirror.open(tmp_path / "state" / "syncengine.db")
    try:
        assert mirror.pending() == []  # every op the cycle sent was settled
        runs = mirror.recent_runs()
        assert runs and all(r.status in ("succeeded", "partial") for r in runs)
    finally:
        mirror.close()
    after = subprocess.run(
        [sys.executable, "-m", "syncengine", "sync", "--json"],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert json.loads(after.stdout)["confirmed"] == []  # nothing to redo, nothing lost
