"""Baseline for the pull into a local mirror: dlt's REST API source loading the CRMs' contacts into SQLite.

    python3 -m pip install -e '.[bench]'     # dlt with its SQLAlchemy destination
    APOLLO_BASE_URL=... APOLLO_API_KEY=... python3 bench/dlt_baseline.py --db /tmp/dlt.db

Reads the engine's own environment variables (the lines ``syncengine sim`` prints) and loads every
contact of each configured system into one SQLite file through dlt's ``sqlalchemy`` destination,
configured as a user of dlt would for these APIs (``write_disposition="replace"``, dlt's default
nesting, so lists such as phone numbers and tags become child tables):

* Apollo: ``POST /contacts/search`` with ``page``/``per_page`` in the JSON body, pages counted by
  ``pagination.total_pages`` (search shows at most 500 pages of 100: 50,000 records);
* LeadConnector: ``POST /contacts/search`` with ``pageLimit`` 500, following the ``searchAfter``
  cursor of the last hit (``page`` numbers stop at 10,000 records);
* CorporateMerch: ``GET /contacts?page=&limit=50`` until ``pagination.has_more`` is false.

Prints one JSON object: wall and CPU seconds of ``pipeline.run`` (this process and any it started),
peak memory of this process, and the rows loaded per table. ``sync_bench.py`` runs it in a fresh
process next to the engine's own full pull, so neither pays for the other's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LC_VERSION = "2021-07-28"


def apollo_resource(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "client": {
            "base_url": env["APOLLO_BASE_URL"].rstrip("/") + "/",
            "auth": {"type": "api_key", "name": "x-api-key", "api_key": env["APOLLO_API_KEY"]},
        },
        "resources": [
            {
                "name": "apollo_contacts",
                "primary_key": "id",
                "write_disposition": "replace",
                "endpoint": {
                    "path": "contacts/search",
                    "method": "POST",
                    "json": {"per_page": 100},
                    "data_selector": "contacts",
                    "paginator": {
                        "type": "page_number",
                        "base_page": 1,
                        "page_body_path": "page",
                        "total_path": "pagination.total_pages",
                    },
                },
            }
        ],
    }


def leadconnector_resource(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "client": {
            "base_url": env["LEADCONNECTOR_BASE_URL"].rstrip("/") + "/",
            "auth": {"type": "bearer", "token": env["LEADCONNECTOR_TOKEN"]},
            "headers": {"Version": LC_VERSION},
        },
        "resources": [
            {
                "name": "leadconnector_contacts",
                "primary_key": "id",
                "write_disposition": "replace",
                "endpoint": {
                    "path": "contacts/search",
                    "method": "POST",
                    "json": {"locationId": env["LEADCONNECTOR_LOCATION_ID"], "pageLimit": 500},
                    "data_selector": "contacts",
                    # The next page starts after the last hit; a page with no hits has no cursor and
                    # ends the walk (one empty page more than the minimum, as dlt cannot know).
                    "paginator": {
                        "type": "cursor",
                        "cursor_path": "contacts[-1].searchAfter",
                        "cursor_body_path": "searchAfter",
                    },
                },
            }
        ],
    }


def corporatemerch_resource(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "client": {
            "base_url": env["CORPORATEMERCH_BASE_URL"].rstrip("/") + "/",
            "auth": {"type": "bearer", "token": env["CORPORATEMERCH_TOKEN"]},
        },
        "resources": [
            {
                "name": "corporatemerch_contacts",
                "primary_key": "id",
                "write_disposition": "replace",
                "endpoint": {
                    "path": "contacts",
                    "params": {"limit": 50},
                    "data_selector": "data",
                    "paginator": {
                        "type": "page_number",
                        "base_page": 1,
                        "page_param": "page",
                        "total_path": None,
                        "has_more_path": "pagination.has_more",
                    },
                },
            }
        ],
    }


CONFIGS = {
    "apollo": ("APOLLO_API_KEY", apollo_resource),
    "leadconnector": ("LEADCONNECTOR_TOKEN", leadconnector_resource),
    "corporatemerch": ("CORPORATEMERCH_TOKEN", corporatemerch_resource),
}


def configured(env: Mapping[str, str]) -> list[str]:
    """The systems whose credentials are set, as the engine decides it."""
    return [system for system, (secret, _) in CONFIGS.items() if env.get(secret)]


def load(env: Mapping[str, str], db: Path, work: Path) -> dict[str, Any]:
    """Run one dlt pipeline over every configured system; wall and CPU cover ``pipeline.run`` only."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    systems = configured(env)
    sources = [CONFIGS[s][1](env) for s in systems]
    pipeline = dlt.pipeline(
        pipeline_name="crm_mirror",
        pipelines_dir=str(work),
        destination=dlt.destinations.sqlalchemy(credentials=f"sqlite:///{db}"),
        dataset_name="mirror",
    )
    wall, cpu = time.perf_counter(), _cpu_seconds()
    pipeline.run([rest_api_source(config) for config in sources])
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    rows = dict(pipeline.last_trace.last_normalize_info.row_counts)
    return {
        "systems": systems,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": {table: n for table, n in sorted(rows.items()) if not table.startswith("_dlt")},
        "contacts": {s: rows.get(f"{s}_contacts", 0) for s in systems},
        # SQLite keeps each dlt dataset in a file of its own next to the one named in the URL.
        "db_mb": round(sum(f.stat().st_size for f in db.parent.glob(db.stem + "*")) / 2**20, 1),
    }


def _cpu_seconds() -> float:
    # Counts any worker process dlt starts as well as this one's threads.
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="SQLite file to load (default: a temporary one)")
    args = parser.parse_args()
    # No telemetry from a benchmark (and no waiting on a host it cannot reach).
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "dlt_mirror.db"
        if not configured(os.environ):
            sys.exit("no system configured: set the engine's variables (see `syncengine sim`)")
        print(json.dumps(load(os.environ, db, Path(tmp) / "pipelines")))


if __name__ == "__main__":
    main()
