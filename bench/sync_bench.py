"""How a sync's cost grows: initial sync and steady state at several sizes, against a plain baseline.

    python3 bench/sync_bench.py --sizes 1000,10000          # table on stdout, JSON in bench/results/
    python3 bench/sync_bench.py --sizes 1000 --rate-limits  # with the documented limits enforced

Per size (contacts per CRM; CorporateMerch gets a fifth; 50% overlap): the initial sync, then 1%
of each system's contacts edited as a person would and a steady-state sync. For each: wall and CPU
time per phase (pull, match, merge, plan, push, commit), peak memory of the process, API calls
against the minimum possible, 429s. The baseline at steady state is the plain approach: pull every
record of every system and compare each with its previous copy using deepdiff.

Each size runs in a fresh subprocess so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHASES = ("resume", "pull", "match", "merge", "plan", "push", "commit")
PAGE = {"apollo": 100, "leadconnector": 500, "corporatemerch": 50}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def minimum_calls(report: Any, sizes: dict[str, int]) -> int:
    """Pages a full read needs plus one call per write (Apollo creates in bulk, 100 per call)."""
    pages = sum(math.ceil(max(n, 1) / PAGE[s]) for s, n in sizes.items())
    counts = report.plan.counts()
    writes = 0
    for system, kinds in counts.items():
        creates, updates = kinds.get("create", 0), kinds.get("update", 0)
        writes += math.ceil(creates / 100) if system == "apollo" else creates
        writes += updates * (2 if system == "corporatemerch" else 1)  # CM: read, then replace whole
    return pages + writes


def _phase_figures(report: Any) -> dict[str, Any]:
    return {
        "wall_s": {p: round(report.timings.get(p, 0.0), 3) for p in PHASES},
        "cpu_s": {p: round(report.cpu.get(p, 0.0), 3) for p in PHASES},
        "total_wall_s": round(sum(report.timings.values()), 3),
        "ops": report.plan.counts(),
        "conflicts": len(report.plan.conflicts),
        "status": report.status,
    }


def run_size(n: int, rate_limits: bool, seed: int) -> dict[str, Any]:
    import httpx
    from deepdiff import DeepDiff

    from syncengine.connectors.http import RetryPolicy
    from syncengine.connectors.registry import build_connectors
    from syncengine.connectors.settings import load_settings
    from syncengine.mirror import Mirror
    from syncengine.rules import load_rules
    from syncengine.sim.runner import SimCluster
    from syncengine.sim.sampledata import edits
    from syncengine.sync import Engine

    result: dict[str, Any] = {"contacts_per_system": n, "rate_limits": rate_limits}
    with (
        tempfile.TemporaryDirectory() as tmp,
        SimCluster(contacts=n, seed=seed, rate_limits=rate_limits, env={}) as cluster,
    ):
        sizes = {s: len(cluster[s].sim.contacts()) for s in cluster.systems}
        result["records"] = sizes
        mirror = Mirror.open(Path(tmp) / "bench.db")

        def engine() -> Engine:
            settings = load_settings(cluster.environment())
            return Engine(mirror, build_connectors(settings, retry=RetryPolicy(max_wait=600)), load_rules())

        def calls_429() -> int:
            total = 0
            for system in cluster.systems.values():
                counters = httpx.get(system.admin_url + "/counters", timeout=10).json()
                total += sum(v for k, v in counters["calls"].items() if "429" in str(k))
            return total

        for phase in ("initial", "steady"):
            if phase == "steady":
                stored = {s: cluster[s].sim.contacts() for s in cluster.systems}
                changes = edits(stored, 0.01, seed=seed + 1)
                for system, items in changes.items():
                    for edit in items:
                        cluster[system].sim.ui_edit(edit.contact_id, edit.changes)
                result["edits"] = {s: len(v) for s, v in changes.items()}
            eng = engine()
            started = time.perf_counter()
            report = eng.run()
            elapsed = time.perf_counter() - started
            stats = {s: c.client.stats for s, c in eng.connectors.items()}
            figures = _phase_figures(report)
            figures["run_wall_s"] = round(elapsed, 3)
            figures["api_calls"] = {s: st.total_calls for s, st in stats.items()}
            figures["api_calls_total"] = sum(figures["api_calls"].values())
            figures["api_calls_minimum"] = minimum_calls(report, sizes)
            figures["rate_limit_waits_s"] = round(sum(st.waited_seconds for st in stats.values()), 1)
            figures["http_429"] = calls_429()
            figures["peak_rss_mb"] = round(_peak_mb(), 1)
            result[phase] = figures
            for connector in eng.connectors.values():
                connector.close()

        # Baseline: pull every record of every system and compare each with its previous copy.
        eng = engine()
        started, cpu = time.perf_counter(), time.process_time()
        previous = {s: {r.remote_id: dict(r.raw) for r in mirror_records(mirror, s)} for s in eng.connectors}
        changed = 0
        for system, connector in eng.connectors.items():
            connector.load_catalogue()
            for record in connector.pull(None, full=True):
                old = previous[system].get(record.remote_id)
                if old is None or DeepDiff(old, dict(record.raw), ignore_order=True):
                    changed += 1
        result["baseline_deepdiff"] = {
            "wall_s": round(time.perf_counter() - started, 3),
            "cpu_s": round(time.process_time() - cpu, 3),
            "records_compared": sum(len(v) for v in previous.values()),
            "changed_found": changed,
            "api_calls": sum(c.client.stats.total_calls for c in eng.connectors.values()),
        }
        for connector in eng.connectors.values():
            connector.close()
        mirror.close()
    return result


def mirror_records(mirror: Any, system: str) -> list[Any]:
    return mirror.changed_records(system, 0)


def table(results: list[dict[str, Any]]) -> str:
    head = ("| contacts/system | phase | wall s | cpu s | pull | match | merge | plan | push | "
            "API calls (min) | 429s | peak MB | baseline s |")  # fmt: skip
    lines = [head, "|" + "---|" * 13]
    for r in results:
        for phase in ("initial", "steady"):
            f = r[phase]
            base = r["baseline_deepdiff"]["wall_s"] if phase == "steady" else ""
            w = f["wall_s"]
            cpu = sum(f["cpu_s"].values())
            calls = f"{f['api_calls_total']:,} ({f['api_calls_minimum']:,})"
            cells = [f"{r['contacts_per_system']:,}", phase, f["run_wall_s"], f"{cpu:.2f}"]
            cells += [w[p] for p in ("pull", "match", "merge", "plan", "push")]
            cells += [calls, f["http_429"], f["peak_rss_mb"], base]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--rate-limits", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a single size, in this process
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_size(args.one, args.rate_limits, args.seed)))
        return
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        command = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)]
        if args.rate_limits:
            command.append("--rate-limits")
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{n:,} contacts per system done", file=sys.stderr)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"sync_bench{'_ratelimited' if args.rate_limits else ''}.json"
    path.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\nJSON: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
