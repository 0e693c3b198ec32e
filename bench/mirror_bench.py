"""Throughput of the mirror's bulk paths against a raw driver baseline. Prints figures; not a test.

For N pulled contacts (~1 KB of JSON each) it times, via ``Mirror`` and via the bare driver
(``sqlite3``, or ``psycopg`` with ``--postgres``) doing an equivalent upsert with canonical JSON and
a content hash:

1. the initial insert of all N records;
2. reading back the records that run changed (all N);
3. a re-upsert of all N records of which 1% changed;
4. reading back the changed ones (1%).

    python3 bench/mirror_bench.py [--rows 100000] [--postgres postgresql://user@host/db]

PostgreSQL runs use a scratch schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syncengine.mirror import Mirror

SYSTEM = "apollo"
Timings = dict[str, tuple[float, int]]  # step -> (seconds, rows)
FIRST = ["Ada", "Grace", "Linus", "Zoë", "Jürgen", "Ngozi", "Hiroshi", "María", "Olivia", "Ahmed"]
LAST = ["Lovelace", "Hopper", "Torvalds", "Müller", "Okafor", "Tanaka", "García", "Smith", "Haddad"]
CITIES = [
    ("Berlin", "Berlin", "Germany"),
    ("Austin", "Texas", "United States"),
    ("Lagos", "Lagos", "Nigeria"),
]


@dataclass(frozen=True)
class Pulled:
    remote_id: str
    raw: dict[str, Any]
    updated_at: datetime | None


def contact(i: int, rng: random.Random, version: int = 0) -> Pulled:
    """An Apollo-shaped contact of about 1 KB of JSON."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, state, country = rng.choice(CITIES)
    updated = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=i * 7 + version * 86_400)
    raw = {
        "id": f"{i:024x}",
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "title": rng.choice(["VP Sales", "Head of Procurement", "CTO", "Office Manager"]),
        "email": f"{first.lower()}.{last.lower()}.{i}@example.com",
        "email_status": "verified",
        "organization_name": f"Company {i % 5000} GmbH",
        "account_id": f"{i % 5000:024x}",
        "city": city,
        "state": state,
        "country": country,
        "present_raw_address": f"{city}, {state}, {country}",
        "time_zone": "Europe/Berlin",
        "linkedin_url": f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}-{i}",
        "phone_numbers": [
            {"raw_number": f"+49 30 {i:07d}", "sanitized_number": f"+4930{i:07d}", "type": "work_direct"},
            {
                "raw_number": f"+1 512 555 {i % 10000:04d}",
                "sanitized_number": f"+1512555{i % 10000:04d}",
                "type": "mobile",
            },
        ],
        "label_names": rng.sample(["customer", "vip", "newsletter", "event-2025", "partner"], 2),
        "contact_stage_id": f"{rng.randrange(8):024x}",
        "owner_id": f"{rng.randrange(20):024x}",
        "typed_custom_fields": {f"{k:024x}": f"value {k} of {i}" for k in range(4)},
        "source": "crm",
        "created_at": "2024-05-01T10:00:00.000Z",
        "updated_at": updated.isoformat().replace("+00:00", "Z"),
        "version": version,
    }
    return Pulled(remote_id=raw["id"], raw=raw, updated_at=updated)


def dataset(rows: int, changed_fraction: float) -> tuple[list[Pulled], list[Pulled], int]:
    rng = random.Random(7)
    first = [contact(i, rng) for i in range(rows)]
    changed = set(random.Random(8).sample(range(rows), int(rows * changed_fraction)))
    rng = random.Random(7)
    second = [contact(i, rng, version=1 if i in changed else 0) for i in range(rows)]
    return first, second, len(changed)


def canonical(raw: Any) -> str:
    return json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# ---------------------------------------------------------------------------------------- mirror


def bench_mirror(target: str, first: list[Pulled], second: list[Pulled]) -> Timings:
    mirror = Mirror.open(target)
    try:
        run1 = mirror.start_run().id
        t_insert, result = timed(lambda: mirror.upsert_records(SYSTEM, first, run_id=run1))
        assert len(result.new) == len(first)
        t_read_all, rows = timed(lambda: mirror.changed_records(SYSTEM, run1))
        assert len(rows) == len(first)
        run2 = mirror.start_run().id
        t_reupsert, result = timed(lambda: mirror.upsert_records(SYSTEM, second, run_id=run2))
        t_read_changed, changed = timed(lambda: mirror.changed_records(SYSTEM, run2))
        assert len(changed) == len(result.changed)
    finally:
        mirror.close()
    return {
        "initial insert": (t_insert, len(first)),
        "read all back": (t_read_all, len(rows)),
        "re-upsert, 1% changed": (t_reupsert, len(second)),
        "read changed back": (t_read_changed, len(changed)),
    }


# ------------------------------------------------------------------------------------ raw drivers

RAW_TABLE = """CREATE TABLE records (
    system TEXT NOT NULL, remote_id TEXT NOT NULL, raw_json TEXT NOT NULL, content_hash TEXT NOT NULL,
    remote_updated_at {ts}, last_seen_at {ts} NOT NULL, changed_run_id INTEGER NOT NULL,
    PRIMARY KEY (system, remote_id))"""
RAW_INDEX = "CREATE INDEX records_changed ON records (system, changed_run_id)"
RAW_UPSERT = """INSERT INTO records VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})
    ON CONFLICT (system, remote_id) DO UPDATE SET raw_json = excluded.raw_json,
    content_hash = excluded.content_hash, remote_updated_at = excluded.remote_updated_at,
    last_seen_at = excluded.last_seen_at,
    changed_run_id = CASE WHEN records.content_hash <> excluded.content_hash
                     THEN excluded.changed_run_id ELSE records.changed_run_id END"""
RAW_READ = """SELECT remote_id, raw_json, content_hash, remote_updated_at FROM records
    WHERE system = {p} AND changed_run_id >= {p}"""


def raw_rows(
    records: list[Pulled], run_id: int, now: Any, stamp: Callable[[datetime], Any]
) -> Iterator[tuple]:
    for record in records:
        text = canonical(record.raw)
        yield SYSTEM, record.remote_id, text, digest(text), stamp(record.updated_at), now, run_id


def bench_raw(
    connect: Callable[[], Any],
    p: str,
    ts: str,
    stamp: Callable[[datetime], Any],
    first: list[Pulled],
    second: list[Pulled],
) -> Timings:
    conn = connect()
    conn.execute(RAW_TABLE.format(ts=ts))
    conn.execute(RAW_INDEX)
    conn.commit()
    now = stamp(datetime.now(UTC))

    def upsert(records: list[Pulled], run_id: int) -> None:
        conn.cursor().executemany(RAW_UPSERT.format(p=p), list(raw_rows(records, run_id, now, stamp)))
        conn.commit()

    def read(run_id: int) -> list[Any]:
        rows = conn.execute(RAW_READ.format(p=p), (SYSTEM, run_id)).fetchall()
        return [(remote_id, json.loads(text), h, at) for remote_id, text, h, at in rows]

    t_insert, _ = timed(lambda: upsert(first, 1))
    t_read_all, rows = timed(lambda: read(1))
    t_reupsert, _ = timed(lambda: upsert(second, 2))
    t_read_changed, changed = timed(lambda: read(2))
    conn.close()
    return {
        "initial insert": (t_insert, len(first)),
        "read all back": (t_read_all, len(rows)),
        "re-upsert, 1% changed": (t_reupsert, len(second)),
        "read changed back": (t_read_changed, len(changed)),
    }


def sqlite_connect(path: Path) -> Callable[[], sqlite3.Connection]:
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    return connect


@contextmanager
def pg_schema(url: str) -> Iterator[tuple[str, str]]:
    """A scratch schema: (libpq URL for psycopg, URL for the mirror), dropped on exit."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"mirror_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            sep = "&" if "?" in plain else "?"
            yield f"{plain}{sep}options=-csearch_path%3D{schema}", schema
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


# ----------------------------------------------------------------------------------------- report


def report(title: str, mirror: Timings, raw: Timings, base: str) -> None:
    print(f"\n{title}")
    header = f"{'step':<24}{'rows':>9}{'mirror s':>10}{'mirror rows/s':>15}{base + ' rows/s':>18}"
    print(f"  {header}{'mirror/raw':>12}")
    for step, (seconds, rows) in mirror.items():
        raw_seconds, raw_rows_ = raw[step]
        mirror_rate, raw_rate = rows / seconds, raw_rows_ / raw_seconds
        print(
            f"  {step:<24}{rows:>9,}{seconds:>10.2f}{mirror_rate:>15,.0f}{raw_rate:>18,.0f}"
            f"{mirror_rate / raw_rate:>12.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="fraction changed in the re-upsert")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database")
    args = parser.parse_args()

    first, second, n_changed = dataset(args.rows, args.changed)
    size = sum(len(canonical(r.raw).encode()) for r in first) / len(first)
    print(f"{args.rows:,} contacts, {size:,.0f} bytes of JSON each on average; {n_changed:,} change in run 2")

    with tempfile.TemporaryDirectory() as tmp:
        mirror = bench_mirror(str(Path(tmp) / "mirror.db"), first, second)
        raw = bench_raw(
            sqlite_connect(Path(tmp) / "raw.db"),
            "?",
            "TEXT",
            lambda at: at.isoformat(timespec="microseconds"),
            first,
            second,
        )
    report("SQLite (WAL, synchronous=NORMAL)", mirror, raw, "sqlite3")

    if args.postgres:
        import psycopg

        with pg_schema(args.postgres) as (url, _):
            mirror = bench_mirror(url, first, second)
        with pg_schema(args.postgres) as (url, _):
            raw = bench_raw(lambda: psycopg.connect(url), "%s", "TIMESTAMPTZ", lambda at: at, first, second)
        report("PostgreSQL", mirror, raw, "psycopg")


if __name__ == "__main__":
    main()
