"""When each job ran, where, and how it ended: one row per attempt, in the queue's database.

A row is written as a job starts and completed as it ends; a worker killed mid-job leaves its row
open (``finished_at`` null), and the retried job starts a new row. The rows show that a pairing
never ran twice at once and which jobs were run again after a worker died.
"""

from __future__ import annotations

import itertools
import os
import socket
from dataclasses import dataclass
from datetime import datetime

TABLE = "syncengine_job_runs"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    job_id bigint,
    task text NOT NULL,
    pairing text NOT NULL,
    worker text NOT NULL,
    pid integer NOT NULL,
    host text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    status text,
    detail text
)
"""


@dataclass(frozen=True)
class JobRun:
    id: int
    job_id: int | None
    task: str
    pairing: str
    worker: str
    pid: int
    started_at: datetime
    finished_at: datetime | None
    status: str | None
    detail: str | None


def started(url: str, *, job_id: int | None, task: str, pairing: str, worker: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            f"INSERT INTO {TABLE} (job_id, task, pairing, worker, pid, host) VALUES (%s, %s, %s, %s, %s, %s) "
            "RETURNING id",
            (job_id, task, pairing, worker, os.getpid(), socket.gethostname()),
        ).fetchone()
    assert row is not None
    return int(row[0])


def finished(url: str, run_id: int, status: str, detail: str = "") -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"UPDATE {TABLE} SET finished_at = clock_timestamp(), status = %s, detail = %s WHERE id = %s",
            (status, detail[:2000], run_id),
        )


def all_runs(url: str) -> list[JobRun]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT id, job_id, task, pairing, worker, pid, started_at, finished_at, status, detail "
            f"FROM {TABLE} ORDER BY id"
        ).fetchall()
    return [JobRun(*row) for row in rows]


def overlaps(runs: list[JobRun], ended: dict[int, datetime] | None = None) -> list[tuple[JobRun, JobRun]]:
    """Pairs of runs of one pairing whose spans cross. An open run (its worker died) ends at
    ``ended[pid]`` when given (when the process was killed), else it is taken to run on forever."""
    ended = ended or {}
    far = datetime.max.replace(tzinfo=runs[0].started_at.tzinfo) if runs else datetime.max
    found = []
    by_pairing: dict[str, list[JobRun]] = {}
    for run in runs:
        by_pairing.setdefault(run.pairing, []).append(run)
    for pairing_runs in by_pairing.values():
        spans = sorted(
            ((r.started_at, r.finished_at or ended.get(r.pid, far), r) for r in pairing_runs),
            key=lambda span: span[0],
        )
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end:
                found.append((first, second))
    return found
