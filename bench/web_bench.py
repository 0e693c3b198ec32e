"""Page load times of ``syncengine serve`` on a state of N contacts (default 100,000).

    python3 bench/web_bench.py --contacts 100000     # table on stdout, JSON in bench/results/

The state is built through the mirror's own API, as runs leave it: N people, each linked to an
Apollo and a LeadConnector record with their agreed values; one initial run, then a run that
overwrote a value in 20% of them (history), open conflicts on 2% (city and company), work owed to
5% (failed, deferred) and record errors for 2% in the last run. The app is served by uvicorn on
loopback, as ``syncengine serve`` serves it, and each page is fetched over HTTP: "first" is the
first load, "median" and "max" are over the next ``--repeat`` loads (the SQLite page cache
warm). The preview page is measured on a plan of ``--ops`` writes already computed (the dry run
that computes it is the engine's, measured by ``sync_bench.py``): what is timed is grouping it by
contact and rendering one page.

No simulator is needed: the systems are configured with credentials for a port nobody listens on,
and no page calls them (the contact page reads the stored records through the field maps).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CITIES = ("London", "Paris", "Rome", "Lisbon", "Berlin", "Madrid", "Oslo", "Vienna")
COMPANIES = ("Analytical Engines", "Navy", "Babbage & Co", "Difference Ltd", "Jacquard", "Hollerith")


@dataclass(frozen=True)
class Pulled:
    remote_id: str
    raw: dict[str, Any]
    updated_at: datetime | None


def person(i: int) -> dict[str, Any]:
    return {
        "first_name": f"First{i}", "last_name": f"Last{i % 997}", "email": f"p{i}@bench.example",
        "company": COMPANIES[i % len(COMPANIES)], "city": CITIES[i % len(CITIES)],
    }  # fmt: skip


def build_state(state_dir: Path, n: int) -> dict[str, Any]:
    from syncengine.mirror import HistoryEntry, Mirror, Owed, RecordProblem

    started = time.perf_counter()
    mirror = Mirror.open(None, state_dir=state_dir)
    now = datetime.now(UTC)
    first = mirror.start_run().id
    people = [person(i) for i in range(n)]
    apollo = [Pulled(f"a{i:07d}", {"id": f"a{i:07d}", "first_name": p["first_name"],
                                   "last_name": p["last_name"], "email": p["email"],
                                   "organization_name": p["company"], "city": p["city"]},
                     now) for i, p in enumerate(people)]  # fmt: skip
    lc = [Pulled(f"L{i:07d}", {"id": f"L{i:07d}", "firstName": p["first_name"], "lastName": p["last_name"],
                               "email": p["email"], "companyName": p["company"], "city": p["city"]},
                 now) for i, p in enumerate(people)]  # fmt: skip
    mirror.upsert_records("apollo", apollo, run_id=first)
    mirror.upsert_records("leadconnector", lc, run_id=first)
    entities = mirror.new_entities(n)
    mirror.link_many(
        [(e, "apollo", a.remote_id) for e, a in zip(entities, apollo, strict=True)]
        + [(e, "leadconnector", r.remote_id) for e, r in zip(entities, lc, strict=True)],
        run_id=first,
    )
    mirror.set_base_many(dict(zip(entities, people, strict=True)), run_id=first)
    mirror.finish_run(first, "succeeded", counts={"ops": {}, "confirmed": 0})
    second = mirror.start_run().id
    rng = random.Random(7)
    edited = rng.sample(range(n), n // 5)
    mirror.add_history(
        HistoryEntry(entities[i], "city", people[i]["city"], "Porto", "apollo changed", "leadconnector",
                     second)
        for i in edited
    )
    mirror.finish_run(second, "succeeded", counts={"ops": {"leadconnector": {"update": len(edited)}},
                                                   "confirmed": len(edited)})  # fmt: skip
    third = mirror.start_run().id
    for i in rng.sample(range(n), n // 50):
        field = "city" if i % 2 else "company"
        mirror.open_conflict(
            entities[i], field, base_value=people[i][field],
            values={"apollo": f"{people[i][field]} A", "leadconnector": f"{people[i][field]} L"},
            policy="manual", run_id=third,
        )  # fmt: skip
    owed = rng.sample(range(n), n // 20)
    mirror.owe(
        Owed(entities[i], "leadconnector" if k % 2 else "", "failed" if k % 2 else "deferred",
             "update failed: leadconnector PUT /contacts: 422 refused" if k % 2 else "waits for settle time",
             third)
        for k, i in enumerate(owed)
    )  # fmt: skip
    mirror.add_record_errors(
        RecordProblem("leadconnector", f"update of {people[i]['email']}: 422 email taken", lc[i].remote_id,
                      entities[i], "email", third)
        for i in rng.sample(range(n), n // 50)
    )  # fmt: skip
    mirror.finish_run(third, "partial", counts={"ops": {}, "failed": n // 50, "conflicts_open": n // 50})
    mirror.close()
    return {
        "entities": entities, "build_seconds": round(time.perf_counter() - started, 1),
        "emails": [people[i]["email"] for i in (0, n // 2, n - 1)], "runs": (first, second, third),
    }  # fmt: skip


def synthetic_preview(entities: list[str], ops: int) -> Any:
    from syncengine.actions import SyncOutcome
    from syncengine.connectors.base import HttpCall, WriteOp
    from syncengine.plan import FieldChange, Plan, PlannedOp
    from syncengine.sync import RunReport

    planned = []
    calls: dict[str, list[HttpCall]] = {}
    for k in range(ops):
        op_id = uuid.uuid4().hex
        op = WriteOp(op_id, "leadconnector", "update", remote_id=f"L{k:07d}", values={"city": "Porto"},
                     entity_id=entities[k])  # fmt: skip
        changes = (FieldChange("city", CITIES[k % len(CITIES)], "Porto", "apollo changed"),)
        planned.append(PlannedOp(op, f"First{k} Last{k % 997} <p{k}@bench.example>", changes))
        calls[op_id] = [HttpCall("PUT", f"/contacts/L{k:07d}", {"city": "Porto"}, op_ids=(op_id,))]
    return SyncOutcome(RunReport(0, True, Plan(ops=planned), pulled={"leadconnector": ops}), calls)


def measure(client: Any, path: str, repeat: int) -> dict[str, Any]:
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
    later = times[1:] or times
    return {
        "path": path, "first_ms": round(times[0] * 1000, 1),
        "median_ms": round(statistics.median(later) * 1000, 1), "max_ms": round(max(later) * 1000, 1),
        "bytes": len(answer.content),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ops", type=int, default=20_000, help="writes in the preview's plan")
    parser.add_argument("--state", type=Path, help="keep the state here (default: a temporary directory)")
    args = parser.parse_args()

    for name, value in {
        "APOLLO_API_KEY": "bench-key", "APOLLO_BASE_URL": "http://127.0.0.1:9/api/v1",
        "LEADCONNECTOR_TOKEN": "bench-token", "LEADCONNECTOR_LOCATION_ID": "BenchLocation",
        "LEADCONNECTOR_BASE_URL": "http://127.0.0.1:9",
    }.items():  # fmt: skip
        os.environ[name] = value
    os.environ.pop("CORPORATEMERCH_TOKEN", None)
    home = Path(tempfile.mkdtemp(prefix="web-bench-"))
    os.chdir(home)
    state_dir = args.state or home / "state"
    print(f"building a state of {args.contacts:,} contacts in {state_dir} ...", flush=True)
    built = build_state(state_dir, args.contacts)
    print(f"built in {built['build_seconds']} s", flush=True)

    import httpx

    from syncengine.sim.core import ServerThread
    from syncengine.web.app import create_app
    from syncengine.web.context import WebContext

    ctx = WebContext.open(state_dir, None)
    preview = synthetic_preview(built["entities"], min(args.ops, args.contacts))
    fingerprint = ctx.keep_preview(preview)
    server = ServerThread(create_app(ctx)).start()
    second = built["runs"][1]
    middle = args.contacts // 2
    entity = built["entities"][middle]
    pages = [
        ("overview", "/"),
        ("conflicts", "/conflicts"),
        ("conflicts, one field", "/conflicts?field=city"),
        ("conflicts, page 20", "/conflicts?offset=950"),
        ("conflicts, by contact name", f"/conflicts?q=First{middle}+Last{middle % 997}"),
        ("history (runs)", "/history"),
        ("run with 20% overwritten", f"/history/run/{second}"),
        ("same run, page 100", f"/history/run/{second}?offset=9900"),
        ("errors inbox", "/errors"),
        ("errors inbox, failed only", "/errors?reason=failed&offset=500"),
        ("contact", f"/contact/{entity}"),
        ("contact search by email", f"/contact?q={built['emails'][1]}"),
        (f"preview of {len(preview.report.plan.ops):,} writes", f"/preview?fp={fingerprint}"),
        ("preview, page 200", f"/preview?fp={fingerprint}&offset=4975"),
        ("preview, filtered by contact", f"/preview?fp={fingerprint}&q=first19999"),
    ]
    results = []
    with httpx.Client(base_url=server.url, timeout=300, follow_redirects=True) as client:
        for name, path in pages:
            row = {"page": name, **measure(client, path, args.repeat)}
            results.append(row)
            print(f"{name:<32} first {row['first_ms']:>8} ms  median {row['median_ms']:>8} ms  "
                  f"max {row['max_ms']:>8} ms  {row['bytes']:>8} bytes", flush=True)  # fmt: skip
    server.stop()
    ctx.close()
    size = sum(p.stat().st_size for p in state_dir.iterdir() if p.is_file())
    out = ROOT / "bench" / "results" / f"web_bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "contacts": args.contacts, "repeat": args.repeat, "state_bytes": size,
        "build_seconds": built["build_seconds"], "pages": results,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }, indent=2))  # fmt: skip
    print(f"state {size / 1e6:.0f} MB; results in {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
