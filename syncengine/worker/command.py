"""``syncengine worker``: run the pairings' jobs until SIGINT or SIGTERM (the jobs in flight finish)."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import typer

from syncengine.config import environment


def worker(
    pairings: Path = typer.Option(
        ..., "--pairings", envvar="SYNCENGINE_PAIRINGS", help="The pairings file (TOML; see the README)."
    ),
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, help="Jobs this process runs at once (default: worker.concurrency)."
    ),
    sync_now: bool = typer.Option(False, "--sync-now", help="Queue a sync of every pairing at start."),
    until_idle: bool = typer.Option(
        False, "--until-idle", help="Stop once no job is left that this worker may take (no schedules)."
    ),
    name: str | None = typer.Option(None, "--name", help="This worker's name in logs and job runs."),
) -> None:
    """Sync many pairings as jobs of a PostgreSQL queue: one job per pairing at a time across every
    worker, each pairing on its schedule, jobs of dead workers run again. Start as many as you like."""
    from syncengine.commands import EXIT_FAILED, EXIT_USAGE, _guard, err

    try:
        import psycopg
        from procrastinate.exceptions import ConnectorException

        from syncengine.pairings import load_pairings
        from syncengine.worker import queue, stalled, tasks
    except ImportError as exc:
        needs = f"pip install 'syncengine\\[postgres]' ({exc.name} is missing)"
        err.print(f"[red]error:[/] syncengine worker needs PostgreSQL support: {needs}")
        raise typer.Exit(EXIT_USAGE) from exc
    with _guard():
        config = load_pairings(pairings, environment(None))
    _log_to_stderr()

    try:
        queue.prepare(config.database)
        workers = concurrency or config.concurrency
        app = queue.new_app(config.database, max_connections=workers + 4)
        tasks.register(app, config, periodic=not until_idle)
        if sync_now:
            with app.open():
                tasks.defer_sync(app, [p.name for p in config.pairings])
        stalled.watch(config.database, config.stalled_after)
        app.run_worker(
            concurrency=workers,
            wait=not until_idle,
            name=name or f"{socket.gethostname()}:{os.getpid()}",
            update_heartbeat_interval=max(config.stalled_after / 3, 1.0),
            stalled_worker_timeout=config.stalled_after,
        )
    except (psycopg.Error, ConnectorException) as exc:
        from rich.markup import escape

        err.print(f"[red]error:[/] the worker's database: {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from exc


def _log_to_stderr() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name, level in (("syncengine.worker", logging.INFO), ("procrastinate", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)
