"""Memory, CPU and state size of the engine as the account grows, run as ``syncengine run`` runs it.

    python3 bench/scale_bench.py --sizes 10000,100000     # tables on stdout, JSON in bench/results/

Per size N (``bench/simproc.py`` serves the simulators in a process of their own, with the sample
of ``bench/sync_bench.py``: N contacts in Apollo and LeadConnector, N/5 in CorporateMerch): the
initial sync, a settle sync, then 1% of each system's contacts edited and a steady sync, ten
simulated minutes apart. Each sync runs in a fresh process, as ``syncengine run`` from cron does,
as ``Engine.run(keep_ops=False)``, as the scheduled and summed-up runs do.

Figures per sync: wall and CPU seconds of its process and its phases, the peak resident memory of
the process during the sync (``benchlib.PeakMemory``: interpreter and imports included), and its
errors by kind. After the last run: the state database's size against the raw JSON of the records it
mirrors, and what each table costs per record (SQLite's ``dbstat``).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import PeakMemory  # noqa: E402
from simproc import SimProcess  # noqa: E402

from syncengine.connectors.registry import build_connectors  # noqa: E402
from syncengine.connectors.settings import load_settings  # noqa: E402
from syncengine.mirror import Mirror  # noqa: E402
from syncengine.rules import load_rules  # noqa: E402
from syncengine.sync import Engine  # noqa: E402

GAP_SECONDS = 600
EDIT_SHARE = 0.01
PEAK = PeakMemory()


def measure(n: int, seed: int) -> dict[str, Any]:
    result: dict[str, Any] = {"contacts_per_system": n, "edit_share": EDIT_SHARE}
    with SimProcess(n, seed=seed, rate_limits=False) as sims, tempfile.TemporaryDirectory() as tmp:
        result["records"] = sims.initial_counts
        state = Path(tmp) / "bench.db"

        def run(name: str) -> None:
            # Each sync in a process of its own, as `syncengine run` from cron: its peak is its own,
            # not what an earlier sync left the interpreter holding.
            print(f"{n:,}: {name} sync", file=sys.stderr, flush=True)
            job = {"state": str(state), "env": sims.environment, "offset": sims.offset}
            done = subprocess.run(
                [sys.executable, __file__, "--sync", json.dumps(job)],
                stdout=subprocess.PIPE, text=True, check=True,
            )  # fmt: skip
            result[name] = json.loads(done.stdout)

        run("initial")
        sims.advance(GAP_SECONDS)
        run("settle")
        sims.advance(GAP_SECONDS)
        result["edited"] = sims.edit(EDIT_SHARE, seed + 1)
        run("steady")
        result["state"] = state_size(state)
    return result


def sync(job: dict[str, Any]) -> dict[str, Any]:
    """One sync of the state ``job["state"]`` against the simulators, measured."""
    offset = float(job["offset"])

    def now() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=offset)

    rss_at_start = PEAK.read()
    settings, rules = load_settings(job["env"]), load_rules()
    with Mirror.open(Path(job["state"])) as mirror:
        connectors = build_connectors(settings, proactive_limits=False)
        engine = Engine(mirror, connectors, rules, now=now)
        PEAK.start()
        wall, cpu = time.perf_counter(), time.process_time()
        report = engine.run(keep_ops=False)
        measured = {
            "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(time.process_time() - cpu, 2),
            "peak_rss_mb": PEAK.read(),
            "rss_at_start_mb": rss_at_start,
            "cpu_by_phase_s": {k: round(v, 2) for k, v in report.cpu.items()},
            "status": report.status,
            "batches": report.batches,
            "ops": report.plan.counts(),
            "errors": report.errors,
            # What the errors were, by their first words: a run at size can meet values a small
            # sample does not hold.
            "errors_by_kind": dict(
                Counter(" ".join(e.message.split()[:6]) for e in mirror.record_errors(run_id=report.run_id))
                .most_common(8)
            ),
            "waiting": len(report.plan.waiting) + report.waiting_records,
        }
        for connector in connectors.values():
            connector.close()
    return measured


def state_size(path: Path) -> dict[str, Any]:
    """The state file against the raw JSON it mirrors, and bytes per record by table and index."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # The raw JSON is what the records hold as canonical JSON text, before the mirror packs it.
        count = raw = 0
        for (packed,) in conn.execute("SELECT raw FROM records"):
            count, raw = count + 1, raw + len(zlib.decompress(packed))
        try:
            tables = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        except sqlite3.OperationalError:  # SQLite built without dbstat
            tables = {}
        rows = {
            name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    conn.close()
    total = sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))
    return {
        "file_mb": round(total / 2**20, 1),
        "records": count,
        "raw_json_mb": round(raw / 2**20, 1),
        "times_raw": round(total / raw, 2) if raw else None,
        "rows": rows,
        "bytes_per_record": {k: round(v / count) for k, v in sorted(tables.items(), key=lambda t: -t[1])}
        if count
        else {},
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| contacts/system | run | wall s | CPU s | peak MB | CPU by phase s | status | waiting |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for name in ("initial", "settle", "steady"):
            f = r[name]
            phases = ", ".join(f"{k} {v}" for k, v in f["cpu_by_phase_s"].items())
            n = f"{r['contacts_per_system']:,}"
            lines.append(
                f"| {n} | {name} | {f['wall_s']} | {f['cpu_s']} | {f['peak_rss_mb']} "
                f"| {phases} | {f['status']} ({f['errors']} errors) | {f['waiting']} |"
            )
    lines += ["", "| contacts/system | state MB | raw JSON MB | × raw | largest per record (bytes) |"]
    lines.append("|---|---|---|---|---|")
    for r in results:
        s = r["state"]
        top = ", ".join(f"{k} {v}" for k, v in list(s["bytes_per_record"].items())[:6])
        n = f"{r['contacts_per_system']:,}"
        lines.append(f"| {n} | {s['file_mb']} | {s['raw_json_mb']} | {s['times_raw']} | {top} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000", help="contacts per system, comma-separated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    parser.add_argument("--sync", help=argparse.SUPPRESS)  # one sync, in this process
    args = parser.parse_args()
    if args.sync:
        print(json.dumps(sync(json.loads(args.sync))))
        return
    if args.one:
        print(json.dumps(measure(args.one, args.seed)))
        return
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        # A fresh process per size: Python seldom gives memory back, so sizes would not be apart.
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)],
            stdout=subprocess.PIPE, text=True, check=True,
        )  # fmt: skip
        results.append(json.loads(done.stdout))
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"scale_bench_{n}.json").write_text(json.dumps(results[-1], indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
