"""Memory, CPU and state size of the engine as the account grows, run as ``syncengine run`` runs it.

    python3 bench/scale_bench.py --sizes 10000,100000     # tables on stdout, JSON in bench/results/
    python3 bench/scale_bench.py --sizes 100000 --keep /tmp/points        # also save the steady start
    python3 bench/scale_bench.py --sizes 100000 --steady-from /tmp/points --repeat 3   # steady only

Per size N (``bench/simproc.py`` serves the simulators in a process of their own, with the sample
of ``bench/sync_bench.py``: N contacts in Apollo and LeadConnector, N/5 in CorporateMerch): the
initial sync, a settle sync, then 1% of each system's contacts edited and a steady sync, ten
simulated minutes apart. Each sync runs in a fresh process, as ``syncengine run`` from cron does,
as ``Engine.run(keep_ops=False)``, as the scheduled and summed-up runs do.

Figures per sync: wall and CPU seconds of its process and its phases, the peak resident memory of
the process during the sync (``benchlib.PeakMemory``: interpreter and imports included), and its
errors by kind, and its HTTP calls. After the steady sync: its CPU per edit, against what one call
costs httpx alone (the floor of a push that writes a record per call). After the last run: the
state database's size against the raw JSON of the records it mirrors, and what each table costs per
record (SQLite's ``dbstat``).
"""

from __future__ import annotations

import argparse
import json
import shutil
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

import httpx

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


def measure(n: int, seed: int, keep: Path | None = None, steady_from: Path | None = None) -> dict[str, Any]:
    """The three syncs at size ``n``. ``keep``: a folder to save, before the steady sync, the state
    and what each simulator holds; ``steady_from``: such a folder, to run only the steady sync from
    it (to compare the steady sync of two commits without the initial sync's hour)."""
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

        if steady_from is None:
            run("initial")
            sims.advance(GAP_SECONDS)
            run("settle")
            sims.advance(GAP_SECONDS)
            result["edited"] = sims.edit(EDIT_SHARE, seed + 1)
            if keep is not None:
                save_point(sims, state, result["edited"], keep / str(n))
        else:
            result["edited"] = load_point(sims, state, steady_from / str(n))
        run("steady")
        result["client_floor_ms"] = client_floor(sims.environment)
        result["state"] = state_size(state)
    return result


def _admin_state(environment: dict[str, str]) -> dict[str, httpx.URL]:
    return {
        name: httpx.URL(url).copy_with(path="/__admin/state", query=None)
        for name, url in environment.items()
        if name.endswith("_BASE_URL")
    }


def save_point(sims: SimProcess, state: Path, edited: dict[str, int], folder: Path) -> None:
    """The state file and each simulator's contacts just before the steady sync, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(state) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copyfile(state, folder / "state.db")
    held = {name: httpx.get(url, timeout=600).json() for name, url in _admin_state(sims.environment).items()}
    saved = {"offset": sims.offset, "edited": edited, "held": held}
    (folder / "simulators.json").write_text(json.dumps(saved))


def load_point(sims: SimProcess, state: Path, folder: Path) -> dict[str, int]:
    """Put back what ``save_point`` saved; the edits it counted."""
    saved = json.loads((folder / "simulators.json").read_text())
    for name, url in _admin_state(sims.environment).items():
        httpx.put(url, json=saved["held"][name], timeout=600).raise_for_status()
    sims.advance(float(saved["offset"]))
    shutil.copyfile(folder / "state.db", state)
    return dict(saved["edited"])


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
            "http_calls": sum(report.calls.values()),
        }
        for connector in connectors.values():
            connector.close()
    return measured


def client_floor(environment: dict[str, str], calls: int = 2000) -> float:
    """CPU milliseconds one call costs httpx alone, with no engine around it: a small GET of a
    simulator's admin counters on a kept-alive connection, the JSON answer decoded. A sync makes
    at least one call per record it writes, so this bounds what its push can cost from below."""
    url = httpx.URL(environment["LEADCONNECTOR_BASE_URL"]).copy_with(path="/__admin/counters", query=None)
    with httpx.Client() as client:
        for _ in range(50):
            client.get(url).json()
        cpu = time.process_time()
        for _ in range(calls):
            client.get(url).json()
        return round((time.process_time() - cpu) / calls * 1000, 3)


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
        "| contacts/system | run | wall s | CPU s | peak MB | CPU by phase s | HTTP calls | status "
        "| waiting |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for name in (name for name in ("initial", "settle", "steady") if name in r):
            f = r[name]
            phases = ", ".join(f"{k} {v}" for k, v in f["cpu_by_phase_s"].items())
            n = f"{r['contacts_per_system']:,}"
            lines.append(
                f"| {n} | {name} | {f['wall_s']} | {f['cpu_s']} | {f['peak_rss_mb']} "
                f"| {phases} | {f.get('http_calls', '')} | {f['status']} ({f['errors']} errors) "
                f"| {f['waiting']} |"
            )
    lines += ["", "| contacts/system | edits | steady CPU ms per edit | httpx alone, CPU ms per call |"]
    lines.append("|---|---|---|---|")
    for r in results:
        edits = sum(r["edited"].values())
        per_edit = round(r["steady"]["cpu_s"] * 1000 / edits, 2) if edits else ""
        lines.append(f"| {r['contacts_per_system']:,} | {edits:,} | {per_edit} | {r['client_floor_ms']} |")
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
    parser.add_argument("--keep", type=Path, help="save the state before the steady sync in this folder")
    parser.add_argument("--steady-from", type=Path, help="run only the steady sync, from a --keep folder")
    parser.add_argument("--repeat", type=int, default=1, help="with --steady-from: runs per size (median)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    parser.add_argument("--sync", help=argparse.SUPPRESS)  # one sync, in this process
    args = parser.parse_args()
    if args.sync:
        print(json.dumps(sync(json.loads(args.sync))))
        return
    if args.one:
        print(json.dumps(measure(args.one, args.seed, args.keep, args.steady_from)))
        return
    results = []
    folders: list[str] = []
    if args.keep:
        folders += ["--keep", str(args.keep.resolve())]
    if args.steady_from:
        folders += ["--steady-from", str(args.steady_from.resolve())]
    for n in (int(s) for s in args.sizes.split(",")):
        runs = []
        for _ in range(args.repeat if args.steady_from else 1):
            # A fresh process per size: Python seldom gives memory back, so sizes would not be apart.
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed), *folders],
                stdout=subprocess.PIPE, text=True, check=True,
            )  # fmt: skip
            runs.append(json.loads(done.stdout))
        if len(runs) > 1:
            print(f"{n:,}: steady CPU s {[r['steady']['cpu_s'] for r in runs]}", file=sys.stderr)
        results.append(sorted(runs, key=lambda r: r["steady"]["cpu_s"])[len(runs) // 2])
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        name = "scale_bench_steady" if args.steady_from else "scale_bench"
        (out / f"{name}_{n}.json").write_text(json.dumps({**results[-1], "runs": runs}, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
