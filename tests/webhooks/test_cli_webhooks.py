"""`syncengine webhooks` as a person runs it: with no credentials it serves the sandbox, where an
edit in LeadConnector's simulator reaches Apollo's; a wrong key is a configuration error."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

CREDENTIALS = ("APOLLO_API_KEY", "LEADCONNECTOR_TOKEN", "LEADCONNECTOR_LOCATION_ID", "CORPORATEMERCH_TOKEN")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS and not k.startswith("SYNCENGINE_")}
    return {**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "300", **extra}


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    return lines


def _next(lines: queue.Queue[str], pattern: str, timeout: float = 60) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"no line matching {pattern!r} in {seen}")


def _settle(lc: str, receiver: str, timeout: float = 60) -> None:
    """Until LeadConnector's simulator has nothing left to send and the receiver nothing queued."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        pending = httpx.get(f"{lc}/__admin/webhooks/deliveries").json()["pending"]
        queued = httpx.get(receiver).json()["queued"]
        quiet = quiet + 1 if pending == 0 and queued == 0 else 0
        time.sleep(0.2)
    assert quiet >= 3, "the webhooks did not settle"


def test_the_sandbox_carries_an_edit_in_leadconnector_to_apollo(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncengine", "webhooks", "--port", "0"],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines = _lines(proc)
        receiver = _next(lines, r"Receiving LeadConnector webhooks at (http://127\.0\.0\.1:\d+/webhooks/leadconnector)")
        lc = _next(lines, r"curl -X PATCH (http://127\.0\.0\.1:\d+)/__admin/contacts/ID").group(1)
        assert httpx.get(receiver.group(1)).json() == {"queued": 0}
        contacts = httpx.get(f"{lc}/__admin/contacts").json()["contacts"]
        first, second = contacts[0]["id"], contacts[1]["id"]
        edit = f"{lc}/__admin/contacts/{{}}"
        httpx.patch(edit.format(first), json={"companyName": "First Webhook"}).raise_for_status()
        _next(lines, r"run \d+ \(poll\): ")  # the state was new: a full first run
        # Its writes to LeadConnector come back as webhooks too (echoes, synced with nothing to do).
        _settle(lc, receiver.group(1))
        httpx.patch(edit.format(second), json={"companyName": "Second Webhook"}).raise_for_status()
        _next(lines, r"run \d+ \(1 contact\(s\)\): succeeded, 1 op\(s\)")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    saved = json.loads((tmp_path / "state" / "simulators.json").read_text())["systems"]["apollo"]
    companies = {c.get("organization_name") for c in saved["contacts"]}
    assert {"First Webhook", "Second Webhook"} <= companies


def test_a_key_that_is_not_a_public_key_exits_2_naming_the_variable(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncengine", "webhooks", "--port", "0"],
        cwd=tmp_path, env=_env(LEADCONNECTOR_WEBHOOK_PUBLIC_KEY="not-a-key"), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "LEADCONNECTOR_WEBHOOK_PUBLIC_KEY" in done.stderr and len(done.stderr.strip().splitlines()) == 1
