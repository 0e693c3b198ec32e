"""Pairings for worker tests: a simulator set per pairing, a pairings file naming them, a scratch
PostgreSQL schema for the queue, and workers run as ``syncengine worker`` processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import oracle
import psycopg
import pytest
from pg_support import postgres_url, scratch_schema

from syncengine.mirror import Mirror
from syncengine.pairings import PairingsConfig, load_pairings
from syncengine.rules import load_rules
from syncengine.sim import drive
from syncengine.sim.runner import SimCluster
from syncengine.worker import job_runs, queue
from syncengine.worker.pairing_run import pairing_config


@dataclass
class PairingWorld:
    name: str
    cluster: SimCluster
    truth: oracle.Truth


@dataclass
class Pairings:
    file: Path
    url: str
    env: dict[str, str]
    worlds: list[PairingWorld]

    @property
    def config(self) -> PairingsConfig:
        return load_pairings(self.file, self.env)

    def worker(self, *args: str) -> subprocess.Popen[str]:
        """A ``syncengine worker`` process on this file (its output in a file beside it)."""
        log = (self.file.parent / f"worker-{len(list(self.file.parent.glob('worker-*.log')))}.log").open("w")
        return subprocess.Popen(
            [sys.executable, "-m", "syncengine", "worker", "--pairings", str(self.file), *args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=self.file.parent,
        )  # fmt: skip

    def runs(self) -> list[job_runs.JobRun]:
        return job_runs.all_runs(self.url)

    def audit(self, world: PairingWorld) -> oracle.Findings:
        config = self.config
        database = pairing_config(config, config.pairing(world.name)).database
        state = database or Path(config.state) / world.name / "syncengine.db"
        with Mirror.open(state) as mirror:
            return oracle.audit(world.cluster, world.truth, load_rules(), mirror)


def queue_url() -> Iterator[str]:
    url = postgres_url()
    if url is None:
        pytest.skip("SYNCENGINE_TEST_DATABASE_URL is not set")
    with scratch_schema(url) as scoped:
        yield scoped


def pairings_toml(
    url: str,
    clusters: dict[str, SimCluster],
    *,
    schedule: str,
    stalled_after: int,
    state: str,
    prefix: str,
    team: str | None = None,
) -> str:
    lines = [
        "[worker]",
        f'database = "{url}"',
        f'state = "{state}"',
        f'schema_prefix = "{prefix}"',
        f'schedule = "{schedule}"',
        f"stalled_after = {stalled_after}",
    ]
    for name, cluster in clusters.items():
        env = cluster.environment()
        prefix = name.upper().replace("-", "_")
        lines += [
            f"[pairings.{name}.apollo]",
            f'api_key_env = "{prefix}_APOLLO_KEY"',
            f'base_url = "{env["APOLLO_BASE_URL"]}"',
            *([f'team = "{team}"'] if team else []),
            f"[pairings.{name}.leadconnector]",
            f'token_env = "{prefix}_LC_TOKEN"',
            f'location_id = "{env["LEADCONNECTOR_LOCATION_ID"]}"',
            f'base_url = "{env["LEADCONNECTOR_BASE_URL"]}"',
            f"[pairings.{name}.corporatemerch]",
            f'token_env = "{prefix}_CM_TOKEN"',
            f'base_url = "{env["CORPORATEMERCH_BASE_URL"]}"',
        ]
    return "\n".join(lines) + "\n"


def secrets(clusters: dict[str, SimCluster]) -> dict[str, str]:
    out = {}
    for name, cluster in clusters.items():
        env = cluster.environment()
        prefix = name.upper().replace("-", "_")
        out[f"{prefix}_APOLLO_KEY"] = env["APOLLO_API_KEY"]
        out[f"{prefix}_LC_TOKEN"] = env["LEADCONNECTOR_TOKEN"]
        out[f"{prefix}_CM_TOKEN"] = env["CORPORATEMERCH_TOKEN"]
    return out


@contextmanager
def pairings(
    tmp: Path,
    url: str,
    count: int,
    contacts: int,
    *,
    schedule: str = "0 0 1 1 *",
    stalled_after: int = 30,
    state: str = "state",
    team: str | None = None,
) -> Iterator[Pairings]:
    """``count`` pairings, each its own simulators with ``contacts`` sample people; ``state``: a
    directory of SQLite databases, or "postgresql" (a scratch schema per pairing, dropped after)."""
    prefix = f"wt{uuid.uuid4().hex[:8]}_"
    with ExitStack() as stack:
        clusters: dict[str, SimCluster] = {}
        worlds = []
        for i in range(count):
            name = f"p{i}"
            cluster = SimCluster(
                rate_limits=False, env={}, seed=i,
                credentials={"LEADCONNECTOR_LOCATION_ID": f"SimLocation{i:09d}"},
            )  # fmt: skip
            stack.enter_context(cluster)
            drive.seed_catalogues(cluster)
            truth = oracle.seed_people(cluster, contacts, seed=i + 1)
            clusters[name] = cluster
            worlds.append(PairingWorld(name, cluster, truth))
        queue.prepare(url)  # as the first worker would: the tests read its tables from the start
        file = tmp / "pairings.toml"
        file.write_text(pairings_toml(
            url, clusters, schedule=schedule, stalled_after=stalled_after, state=state, prefix=prefix,
            team=team,
        ))  # fmt: skip
        stack.callback(_drop_schemas, url, [f"{prefix}{name}" for name in clusters])
        env = {
            k: v for k, v in os.environ.items()
            if not k.startswith(("APOLLO_", "LEADCONNECTOR_", "CORPORATEMERCH_", "SYNCENGINE_STATE"))
        }  # fmt: skip
        env.update(secrets(clusters), SYNCENGINE_CLIENT_BUDGET="off")
        yield Pairings(file, url, env, worlds)


def _drop_schemas(url: str, schemas: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
