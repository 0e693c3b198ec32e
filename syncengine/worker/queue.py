"""The procrastinate app on the worker's database, and the tables it needs.

Procrastinate's tables, the job runs and the shared budgets live where the URL's connections look
(its ``search_path``: a schema can be chosen with ``?options=-csearch_path%3Dname``). They are
created by the first worker to start, under an advisory lock, so that workers started together
never create them twice.
"""

from __future__ import annotations

import zlib
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate.schema import SchemaManager
from psycopg_pool import AsyncConnectionPool

from syncengine.connectors import shared_budget
from syncengine.worker import job_runs

_LOCK = (0x5E1C, zlib.crc32(b"syncengine worker schema") - 2**31)


def connector(url: str, *, max_size: int = 8) -> PsycopgConnector:
    """A connector whose pool opens connections as the worker needs them (procrastinate's default
    keeps a fixed number open in every process)."""

    def pool(**kwargs: Any) -> AsyncConnectionPool:
        return AsyncConnectionPool(**kwargs)

    return PsycopgConnector(conninfo=url, min_size=1, max_size=max_size, pool_factory=pool)


def new_app(url: str, *, max_connections: int = 8) -> App:
    return App(connector=connector(url, max_size=max_connections))


def prepare(url: str) -> None:
    """Create procrastinate's schema and ours where they are missing."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", _LOCK)
        try:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is None or row[0] is None:
                with conn.transaction():
                    conn.execute(SchemaManager.get_schema())
            conn.execute(job_runs.SCHEMA)
            conn.execute(shared_budget.SCHEMA)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", _LOCK)
