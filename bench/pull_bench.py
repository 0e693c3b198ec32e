"""A full pull of every system through its connector, with the simulators' rate limits on.

    python3 bench/pull_bench.py --contacts 10000

For each system: records pulled, calls made against the minimum possible (one page per page-size
records), 429s seen, time taken against the time the documented rate limits alone impose
(``benchlib.limit_floor``: calls beyond the first window's budget, spread at the documented rate),
and time spent waiting on the client's own rate budget.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import PAGE, limit_floor  # noqa: E402


def main() -> None:
    import httpx

    from syncengine.connectors.registry import build_connectors
    from syncengine.connectors.settings import load_settings
    from syncengine.sim.runner import SimCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = []
    with SimCluster(contacts=args.contacts, seed=args.seed, rate_limits=True, env={}) as cluster:
        connectors = build_connectors(load_settings(cluster.environment()))
        for system, connector in connectors.items():
            connector.load_catalogue()
            before = httpx.get(cluster[system].admin_url + "/counters", timeout=10).json()["calls"]
            started = time.perf_counter()
            count = sum(1 for _ in connector.pull(None, full=True))
            elapsed = time.perf_counter() - started
            after = httpx.get(cluster[system].admin_url + "/counters", timeout=10).json()["calls"]
            stats = connector.client.stats  # type: ignore[attr-defined]
            pulls = sum(v for k, v in stats.calls.items() if "contacts" in k)
            too_many = sum(v for k, v in after.items() if "429" in str(k)) - sum(
                v for k, v in before.items() if "429" in str(k)
            )
            minimum = math.ceil(count / PAGE[system])
            rows.append({
                "system": system, "records": count, "calls": pulls, "minimum_calls": minimum,
                "http_429": too_many, "seconds": round(elapsed, 1),
                "total_calls": stats.total_calls,
                # The floor counts every call the connector made (catalogue reads included).
                "rate_limit_floor_seconds": limit_floor(stats.calls, system),
                "waited_for_budget_seconds": round(stats.waited_seconds, 1),
            })  # fmt: skip
            connector.close()
    print("| system | records | calls (minimum) | 429s | time s | rate-limit floor s | waited s |")
    print("|---|---|---|---|---|---|---|")
    keys = ("records", "seconds", "rate_limit_floor_seconds", "waited_for_budget_seconds")
    for r in rows:
        calls = f"{r['calls']} ({r['minimum_calls']})"
        cells = [r["system"], f"{r['records']:,}", calls, r["http_429"], *(r[k] for k in keys[1:])]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "pull_bench.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
