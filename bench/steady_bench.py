"""Steady state at scale: N linked contacts per system, 1% of each system edited, one sync.

    python3 bench/steady_bench.py --contacts 100000     # table on stdout, JSON in bench/results/

Apollo and LeadConnector simulators run in a separate process holding N people each, the same
people with the same values (so the first sync links them all and writes nothing). After that
first sync and a settling one, 1% of each system's contacts are edited as a person would (city or
company), and one sync is measured. "Local work" is the CPU time of the engine's process during
that sync: the simulators' work happens in the other process, so this is everything except
waiting for the CRMs. The baseline is the plain approach: pull every record of both systems and
compare each with its previous copy using deepdiff.

The minimum calls of the steady sync: one read page per 100 changed records per system and one
write per changed record in the other system. Catalogue reads (lists, fields, stages, users),
which every run makes once, are listed apart.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHASES = ("resume", "pull", "match", "merge", "plan", "push", "commit")
CATALOGUE_PATHS = ("/labels", "/contact_stages", "/typed_custom_fields", "/users", "/customFields")

SERVER = r"""
import json, random, sys
from datetime import datetime, timedelta, timezone
from syncengine.sim.runner import SimCluster
n = int(sys.argv[1])
cities = ["Austin", "Boston", "Chicago", "Denver", "Seattle"]
start = datetime(2024, 1, 1, tzinfo=timezone.utc)
apollo, lc = [], []
for i in range(n):
    # Each contact last changed at its own moment, as in a real account (Apollo's search shows
    # 50,000 records from each end: a whole account with one timestamp cannot be walked).
    stamp = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    first, last, email = "Person", f"Number{i}", f"person{i}@bench.example"
    company, city = f"Company {i % 997}", cities[i % 5]
    apollo.append({"first_name": first, "last_name": last, "email": email, "organization_name": company,
                   "city": city, "created_at": stamp, "updated_at": stamp})
    lc.append({"firstName": first, "lastName": last, "email": email, "companyName": company, "city": city,
               "dateAdded": stamp, "dateUpdated": stamp})
with SimCluster(systems=("apollo", "leadconnector"), rate_limits=False, env={}, seed=1) as cluster:
    cluster["apollo"].sim.seed_contacts(apollo)
    cluster["leadconnector"].sim.seed_contacts(lc)
    print(json.dumps(cluster.environment()), flush=True)
    for line in sys.stdin:
        share, seed = line.split()
        rng = random.Random(int(seed))
        edited = {}
        for system, key in (("apollo", "city"), ("leadconnector", "city")):
            sim = cluster[system].sim
            records = sim.contacts()
            picked = rng.sample(records, int(len(records) * float(share)))
            for record in picked:
                sim.ui_edit(record["id"], {key: f"Edited {system} {record['id'][-6:]}"})
            edited[system] = len(picked)
        print(json.dumps(edited), flush=True)
"""


def measure(engine: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    report = engine.run()
    return report, time.perf_counter() - wall, time.process_time() - cpu


def time_http(engine: Any) -> dict[str, float]:
    """CPU seconds this process spends inside each connector's HTTP calls (building requests,
    encoding and decoding JSON, the client's own bookkeeping): the part of the local work that
    exists only to talk to the CRMs, reported apart from the engine's own."""
    spent = {"cpu_s": 0.0}
    for connector in engine.connectors.values():
        client = connector.client
        send = client.request

        def timed(*args: Any, _send: Any = send, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return _send(*args, **kwargs)
            finally:
                spent["cpu_s"] += time.process_time() - started

        client.request = timed
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    from deepdiff import DeepDiff

    from syncengine.connectors.registry import build_connectors
    from syncengine.connectors.settings import load_settings
    from syncengine.mirror import Mirror
    from syncengine.rules import load_rules
    from syncengine.sync import Engine

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.contacts)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert server.stdin is not None and server.stdout is not None
    env = json.loads(server.stdout.readline())
    settings = load_settings(env)
    rules = load_rules()
    result: dict[str, Any] = {"contacts_per_system": args.contacts, "edit_share": args.share}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            mirror = Mirror.open(Path(tmp) / "bench.db")

            def engine() -> Engine:
                connectors = build_connectors(settings, proactive_limits=False)
                return Engine(mirror, {s: connectors[s] for s in ("apollo", "leadconnector")}, rules)

            for phase in ("initial", "settle"):
                eng = engine()
                report, wall, cpu = measure(eng)
                result[phase] = {
                    "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "ops": report.plan.counts(),
                    "status": report.status,
                }  # fmt: skip
                print(f"{phase}: {result[phase]}", file=sys.stderr)
                for c in eng.connectors.values():
                    c.close()

            server.stdin.write(f"{args.share} 7\n")
            server.stdin.flush()
            edited = json.loads(server.stdout.readline())
            eng = engine()
            http = time_http(eng)
            report, wall, cpu = measure(eng)
            stats = {s: c.client.stats for s, c in eng.connectors.items()}
            calls = {s: st.total_calls for s, st in stats.items()}
            result["steady_calls_by_endpoint"] = {s: dict(st.calls) for s, st in stats.items()}
            pages = {"apollo": 100, "leadconnector": 100}
            minimum = sum(math.ceil(n / pages[s]) for s, n in edited.items()) + sum(edited.values())
            catalogue = sum(
                count for st in stats.values() for endpoint, count in st.calls.items()
                if any(p in endpoint for p in CATALOGUE_PATHS)
            )  # fmt: skip
            result["steady"] = {
                "edited": edited,
                "wall_s": round(wall, 2),
                "local_cpu_s": round(cpu, 2),
                "http_cpu_s": round(http["cpu_s"], 2),
                "engine_cpu_s": round(cpu - http["cpu_s"], 2),
                "phase_wall_s": {p: round(report.timings.get(p, 0.0), 3) for p in PHASES},
                "phase_cpu_s": {p: round(report.cpu.get(p, 0.0), 3) for p in PHASES},
                "ops": report.plan.counts(),
                "api_calls": calls,
                "api_calls_total": sum(calls.values()),
                "api_calls_minimum": minimum,
                "catalogue_calls": catalogue,
                "status": report.status,
            }
            for c in eng.connectors.values():
                c.close()

            if not args.skip_baseline:
                eng = engine()
                wall, cpu = time.perf_counter(), time.process_time()
                changed = compared = 0
                for system, connector in eng.connectors.items():
                    previous = {r.remote_id: dict(r.raw) for r in mirror.changed_records(system, 0)}
                    connector.load_catalogue()
                    for record in connector.pull(None, full=True):
                        compared += 1
                        old = previous.get(record.remote_id)
                        if old is None or DeepDiff(old, dict(record.raw), ignore_order=True):
                            changed += 1
                result["baseline_deepdiff"] = {
                    "wall_s": round(time.perf_counter() - wall, 2),
                    "local_cpu_s": round(time.process_time() - cpu, 2),
                    "records_compared": compared,
                    "changed_found": changed,
                    "api_calls": sum(c.client.stats.total_calls for c in eng.connectors.values()),
                }
                for c in eng.connectors.values():
                    c.close()
            mirror.close()
    finally:
        server.stdin.close()
        server.wait(timeout=60)

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"steady_bench_{args.contacts}.json"
    path.write_text(json.dumps(result, indent=2))
    s = result["steady"]
    print("| contacts/system | edited | sync wall s | local CPU s | of which HTTP client s | engine CPU s | "
          "API calls (minimum + catalogue) | deepdiff wall s | deepdiff CPU s | CPU ratio |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    base = result.get("baseline_deepdiff", {})
    ratio = f"{base['local_cpu_s'] / s['local_cpu_s']:.1f}x" if base else ""
    print(f"| {args.contacts:,} | {sum(s['edited'].values()):,} | {s['wall_s']} | {s['local_cpu_s']} | "
          f"{s['http_cpu_s']} | {s['engine_cpu_s']} | "
          f"{s['api_calls_total']:,} ({s['api_calls_minimum']:,} + {s['catalogue_calls']}) | "
          f"{base.get('wall_s', '')} | {base.get('local_cpu_s', '')} | {ratio} |")  # fmt: skip
    print(f"\nphases (wall s): {s['phase_wall_s']}\nphases (CPU s): {s['phase_cpu_s']}")
    print(f"calls: {s['api_calls']}")
    print(f"JSON: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
