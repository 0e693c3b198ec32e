"""API keys never appear in logs, errors, reports, the state database, the request journal or the
command line's output, whatever goes wrong; the state file is readable by its owner only.

Careless servers are the hard case, so each simulator can be put behind a wrapper that quotes the
credentials it received: a refused key comes back in a 401 body, and every few requests a 503
body and header quote the accepted one.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engine_world import SECRET_VALUES, SYSTEMS, World, seed_sample, set_faults
from starlette.types import Receive, Scope, Send

from syncengine import report as reports
from syncengine.connectors.http import RetryPolicy
from syncengine.connectors.registry import build_connectors
from syncengine.connectors.settings import load_settings
from syncengine.sim.core import ADMIN_PREFIX, ServerThread
from syncengine.sync import Engine, RunReport

REFUSED = {
    "APOLLO_API_KEY": "refused-apollo-key-7f3c91",
    "LEADCONNECTOR_TOKEN": "refused-lc-token-2b8e44",
    "CORPORATEMERCH_TOKEN": "refused-cm-token-9d1a07",
}
CREDENTIALS = {
    "apollo": "APOLLO_API_KEY",
    "leadconnector": "LEADCONNECTOR_TOKEN",
    "corporatemerch": "CORPORATEMERCH_TOKEN",
}
URLS = {
    "apollo": "APOLLO_BASE_URL",
    "leadconnector": "LEADCONNECTOR_BASE_URL",
    "corporatemerch": "CORPORATEMERCH_BASE_URL",
}


class QuotingServer:
    """A simulator's app behind a server that quotes credentials back (see the module docstring)."""

    def __init__(self, inner: Any, accepted: str, every: int = 4) -> None:
        self.inner, self.accepted, self.every = inner, accepted, every
        self.requests = 0
        self.quoted = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.inner(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        sent = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        self.requests += 1
        if sent == self.accepted and self.requests % self.every:
            await self.inner(scope, receive, send)
            return
        self.quoted += 1
        status = 503 if sent == self.accepted else 401
        body = json.dumps({"message": f"rejected for key {sent}", "request_headers": headers}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"x-echo-key", sent.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


@dataclass
class Quoting:
    """The simulators behind ``QuotingServer``s, and the engine's variables that reach them there."""

    servers: dict[str, QuotingServer]
    environment: dict[str, str]

    @property
    def quoted(self) -> int:
        return sum(server.quoted for server in self.servers.values())


@pytest.fixture
def quoting(world: World) -> Iterator[Quoting]:
    env = world.cluster.environment()
    servers = {s: QuotingServer(world.sim(s).app, env[CREDENTIALS[s]]) for s in SYSTEMS}
    threads = {s: ServerThread(server).start() for s, server in servers.items()}
    try:
        quoted_env = dict(env)
        for system, thread in threads.items():
            quoted_env[URLS[system]] = thread.url + world.cluster[system].spec.simulator.path
        yield Quoting(servers, quoted_env)
    finally:
        for thread in threads.values():
            thread.stop()


def sync_with(env: dict[str, str], world: World) -> RunReport:
    """One sync in this process through the systems ``env`` names (three tries per request)."""
    connectors = build_connectors(
        load_settings(env), retry=RetryPolicy.without_backoff(3), proactive_limits=False
    )
    try:
        return Engine(world.mirror, connectors, world.rules).run()
    finally:
        for connector in connectors.values():
            connector.close()


def everything_written(world: World, report: RunReport, logs: pytest.LogCaptureFixture) -> str:
    """All the text a key could leak into: logs, the run report, stored errors and runs, and the
    journals (the database file is checked as bytes)."""
    mirror = world.mirror
    parts = [
        logs.text,
        *(record.getMessage() for record in logs.records),
        reports.dumps(reports.run_dict(report)),
        repr(report.pull_errors),
        repr(report.push.failed if report.push else None),
        repr(mirror.record_errors()),
        repr([(r.errors, r.counts) for r in mirror.recent_runs(50)]),
        *(str(world.journal(system)) for system in SYSTEMS),
    ]
    return "\n".join(parts)


def assert_no_key_in(text: str, database: Path, keys: tuple[str, ...]) -> None:
    raw = database.read_bytes() + b"".join(p.read_bytes() for p in database.parent.glob(database.name + "-*"))
    for key in keys:
        assert key not in text
        assert key.encode() not in raw


def test_credentials_never_reach_the_state_database_the_journal_or_the_report(world: World) -> None:
    """A plain sync: no key in the report, the database file or any journal; the file is 0600."""
    seed_sample(world, 10)
    report = world.sync()
    text = reports.dumps(reports.run_dict(report))
    database = Path(world.tmp / "state.db").read_bytes()
    for secret in SECRET_VALUES:
        assert secret not in text
        assert secret.encode() not in database
        for system in SYSTEMS:
            assert secret not in str(world.journal(system))
    assert oct(Path(world.tmp / "state.db").stat().st_mode & 0o777) == "0o600"


def test_logs_of_a_sync_under_faults_never_show_a_key(
    world: World, quoting: Quoting, caplog: pytest.LogCaptureFixture
) -> None:
    """A sync at DEBUG level while the simulators inject 5xx answers and dropped connections and the
    servers quote the key in 503 bodies and headers: requests are retried and logged, and no key
    appears in a log line, the report, a stored error or run, a journal or the database file."""
    caplog.set_level(logging.DEBUG)
    seed_sample(world, 20)
    set_faults(world, error_rate=0.15, drop_rate=0.05, seed=7)

    report = sync_with(quoting.environment, world)

    assert quoting.quoted > 0
    assert any("retrying" in record.getMessage() for record in caplog.records)
    assert any(record.levelno == logging.DEBUG for record in caplog.records)
    assert_no_key_in(everything_written(world, report, caplog), world.tmp / "state.db", SECRET_VALUES)


def test_refused_credentials_are_never_quoted_back(
    world: World, quoting: Quoting, caplog: pytest.LogCaptureFixture
) -> None:
    """Every system refuses the keys and quotes them in its 401 body: each pull stops with an
    error that says the credentials were refused, with the quoted key masked."""
    caplog.set_level(logging.DEBUG)
    seed_sample(world, 5)

    report = sync_with({**quoting.environment, **REFUSED}, world)

    assert set(report.pull_errors) == set(SYSTEMS)
    assert all("credentials refused" in error and "***" in error for error in report.pull_errors.values())
    assert_no_key_in(
        everything_written(world, report, caplog), world.tmp / "state.db", tuple(REFUSED.values())
    )


def cli_sync(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``syncengine sync ARGS`` in its own process (its log lines go to stderr, as for a user)."""
    clean = {k: v for k, v in os.environ.items() if k not in CREDENTIALS.values()}
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "syncengine", "sync", *args],
        env={**clean, **env, "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_the_command_line_never_prints_a_key(world: World, quoting: Quoting, tmp_path: Path) -> None:
    """``syncengine sync --json`` while servers answer some requests with 503s quoting the key, and
    ``syncengine sync`` with refused keys (exit 4): neither output (stdout and stderr) shows a key,
    and the retries, logged at DEBUG, leave stderr quiet."""
    seed_sample(world, 10)
    for server in quoting.servers.values():
        server.every = 12  # the command line retries with real backoff: fewer faults keep it quick

    synced = cli_sync(quoting.environment, tmp_path / "synced", "--json")
    refused = cli_sync({**quoting.environment, **REFUSED}, tmp_path / "refused")

    assert synced.returncode in (0, 1, 3), synced.stderr
    assert json.loads(synced.stdout)["status"] in ("succeeded", "partial")
    assert quoting.quoted > 0
    assert "retrying" not in synced.stderr and "retry_scheduled" not in synced.stderr
    assert refused.returncode == 4, refused.stderr
    assert "credentials refused" in refused.stdout + refused.stderr
    for key in (*SECRET_VALUES, *REFUSED.values()):
        for output in (synced.stdout, synced.stderr, refused.stdout, refused.stderr):
            assert key not in output
    database = tmp_path / "synced" / "state" / "syncengine.db"
    assert_no_key_in("", database, SECRET_VALUES)
    assert oct(database.stat().st_mode & 0o777) == "0o600"
