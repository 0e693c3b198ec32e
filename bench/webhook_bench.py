"""How long a LeadConnector edit takes to reach Apollo through the webhook path, at p50/p95/p99.

    python3 bench/webhook_bench.py --edits 300      # table on stdout, JSON in bench/results/

Everything runs as a user runs it, each in a process of its own: ``syncengine sim`` (Apollo and
LeadConnector, sample contacts, rate limits off, webhooks to the receiver), one ``syncengine sync``
that links everyone, then ``syncengine webhooks`` (receiver and worker). The bench then edits one
LeadConnector contact at a time through the simulator's admin surface (as a person in the CRM's UI
would; the simulator sends the signed webhook) and polls Apollo's ``GET /contacts/{id}`` every
``--poll-ms`` until the new company name is there. Latency is from just before the edit is sent to
the first poll that sees the value, so it includes the webhook's delivery, the receiver, the
worker's gathering (50 ms), the targeted run and Apollo's write; the poll adds up to ``--poll-ms``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = "apollo,leadconnector"
BENCH_AGENT = "webhook-bench"


def _start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "syncengine", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
    )


def _sim(contacts: int, seed: int, cwd: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``syncengine sim``; its printed lines are the engine's environment."""
    ports = ["--apollo-port", "0", "--leadconnector-port", "0"]
    proc = _start(
        [
            "sim",
            "--systems",
            SYSTEMS,
            *ports,
            "--contacts",
            str(contacts),
            "--seed",
            str(seed),
            "--no-rate-limits",
        ],
        dict(os.environ),
        cwd,
    )
    env: dict[str, str] = {}
    assert proc.stdout is not None
    while len(env) < 7:  # two systems' variables and the two webhook keys
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"syncengine sim ended: {proc.wait()}")
        env.update(dict(pair.split("=", 1) for pair in line.split()[1:]))
    return proc, env


def _receiver(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    proc = _start(["webhooks", "--port", "0", "--state", str(cwd / "state")], env, cwd)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    found = re.search(r"at (http://\S+)", first)
    if not found:
        raise RuntimeError(f"syncengine webhooks did not start: {first}{proc.stdout.read()}")
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    return proc, found.group(1), lines


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[rank]


def run(edits: int, contacts: int, seed: int, poll_ms: float, timeout: float) -> dict[str, Any]:
    git = ["git", "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        sim, env = _sim(contacts, seed, cwd)
        env = {**os.environ, **env, "SYNCENGINE_CLIENT_BUDGET": "off"}
        receiver: subprocess.Popen[str] | None = None
        try:
            first = subprocess.run(
                [sys.executable, "-m", "syncengine", "sync", "--state", str(cwd / "state")],
                env=env,
                cwd=cwd,
                capture_output=True,
                text=True,
            )
            if first.returncode not in (0, 1, 3):
                raise RuntimeError(f"the first sync failed ({first.returncode}): {first.stderr[-2000:]}")
            receiver, url, output = _receiver(env, cwd)
            lc_admin = env["LEADCONNECTOR_BASE_URL"] + "/__admin"
            apollo_admin = env["APOLLO_BASE_URL"].removesuffix("/api/v1") + "/__admin"
            with httpx.Client(timeout=30, headers={"User-Agent": BENCH_AGENT}) as client:
                client.put(f"{lc_admin}/webhooks", json={"url": url}).raise_for_status()
                apollo = {
                    c["email"].lower(): c["id"]
                    for c in client.get(f"{apollo_admin}/contacts").json()["contacts"]
                    if c.get("email")
                }
                people = [
                    (c["id"], apollo[c["email"].lower()])
                    for c in client.get(f"{lc_admin}/contacts").json()["contacts"]
                    if c.get("email") and c["email"].lower() in apollo
                ]
                if not people:
                    raise RuntimeError("no contact is held by both systems after the first sync")
                for admin in (lc_admin, apollo_admin):
                    client.delete(f"{admin}/journal").raise_for_status()
                latencies, lost = _edit_and_watch(client, env, people, edits, poll_ms / 1000, timeout)
                calls = {
                    name: _engine_calls(client, admin)
                    for name, admin in (("leadconnector", lc_admin), ("apollo", apollo_admin))
                }
            deliveries = httpx.get(f"{lc_admin}/webhooks/deliveries", timeout=30).json()["deliveries"]
        finally:
            for proc in (receiver, sim):
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=60)
    runs = [line for line in output if line.startswith("run ")]
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "edits": edits,
        "contacts_per_system": contacts,
        "poll_ms": poll_ms,
        "shared_people": len(people),
        "arrived": len(latencies),
        "not_arrived": lost,
        "latency_s": {
            "p50": round(_percentile(latencies, 0.50), 3),
            "p95": round(_percentile(latencies, 0.95), 3),
            "p99": round(_percentile(latencies, 0.99), 3),
            "max": round(max(latencies), 3),
            "mean": round(statistics.fmean(latencies), 3),
        }
        if latencies
        else {},
        "webhooks_delivered": sum(1 for d in deliveries if d["state"] == "delivered"),
        "targeted_runs": sum(1 for line in runs if "contact" in line),
        "engine_calls_during_edits": calls,
        "targeted_runs_not_succeeded": [line.strip() for line in runs if "succeeded" not in line][:10],
    }
    return result


def _engine_calls(client: httpx.Client, admin: str) -> dict[str, int]:
    """The engine's vendor calls in the journal, by method and path with ids as ``{id}`` (the
    bench's own reads of Apollo carry another User-Agent and are left out)."""
    entries = client.get(f"{admin}/journal").json()["entries"]
    counted: dict[str, int] = {}
    for entry in entries:
        if entry["path"].startswith("/__admin") or entry["headers"].get("user-agent") == BENCH_AGENT:
            continue
        path = re.sub(r"/contacts/[^/]+$", "/contacts/{id}", entry["path"])
        path = re.sub(r"/contacts/(?!search)[^/]+/", "/contacts/{id}/", path)
        key = f"{entry['method']} {path}"
        counted[key] = counted.get(key, 0) + 1
    return dict(sorted(counted.items()))


def _edit_and_watch(
    client: httpx.Client,
    env: dict[str, str],
    people: list[tuple[str, str]],
    edits: int,
    poll: float,
    timeout: float,
) -> tuple[list[float], int]:
    lc_admin = env["LEADCONNECTOR_BASE_URL"] + "/__admin"
    apollo_api = env["APOLLO_BASE_URL"]
    headers = {"x-api-key": env["APOLLO_API_KEY"]}
    latencies: list[float] = []
    lost = 0
    for n in range(edits):
        lc_id, apollo_id = people[n % len(people)]
        company = f"Webhook Bench {n}"
        started = time.perf_counter()
        client.patch(f"{lc_admin}/contacts/{lc_id}", json={"companyName": company}).raise_for_status()
        while True:
            contact = client.get(f"{apollo_api}/contacts/{apollo_id}", headers=headers).json()["contact"]
            took = time.perf_counter() - started
            if contact.get("organization_name") == company:
                latencies.append(took)
                break
            if took > timeout:
                lost += 1
                break
            time.sleep(poll)
    return latencies, lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=200, help="sample contacts per system")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--poll-ms", type=float, default=20.0, help="how often Apollo is read")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds after which an edit counts as lost"
    )
    args = parser.parse_args()
    result = run(args.edits, args.contacts, args.seed, args.poll_ms, args.timeout)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"webhook_bench_{args.edits}.json"
    path.write_text(json.dumps(result, indent=2))
    lat = result["latency_s"]
    print("| edits | arrived | p50 s | p95 s | p99 s | max s | targeted runs |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {result['edits']} | {result['arrived']} | {lat.get('p50')} | {lat.get('p95')} | "
        f"{lat.get('p99')} | {lat.get('max')} | {result['targeted_runs']} |"
    )
    print(f"JSON: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
