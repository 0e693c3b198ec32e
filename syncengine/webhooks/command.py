"""``syncengine webhooks``: receive LeadConnector's contact webhooks and sync those contacts at once.

Without credentials it runs against the bundled simulators (the sandbox, like ``sync``): the
LeadConnector simulator is pointed at this receiver and signs with its own keys, which the
receiver trusts; the command prints how to edit a contact there and watch it reach Apollo.

With ``--pairings`` (the file of ``syncengine worker``) it syncs nothing itself: each webhook
becomes a targeted sync job of the pairing whose LeadConnector location sent it, for the workers.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from contextlib import closing
from pathlib import Path

import httpx
import typer
import uvicorn
from rich.markup import escape
from starlette.applications import Starlette

from syncengine.commands import ConfigOption, StateOption, _guard, _workspace, err, out
from syncengine.config import ConfigFileError, environment
from syncengine.connectors.errors import StopSystemError
from syncengine.connectors.settings import load_settings
from syncengine.schedule import parse_interval
from syncengine.sync import RunReport
from syncengine.webhooks.app import PATH, build_app
from syncengine.webhooks.inbox import INBOX_FILE, Inbox
from syncengine.webhooks.keys import PublicKeyError, WebhookKeys
from syncengine.webhooks.receiver import SYSTEM, Receiver
from syncengine.webhooks.targeted import EngineSync, Targets
from syncengine.webhooks.worker import SyncWorker
from syncengine.workspace import Workspace

log = logging.getLogger(__name__)


def webhooks(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 behind a proxy)."),
    port: int = typer.Option(8790, help="Port to listen on (0: any free)."),
    path: str = typer.Option(PATH, help="Path LeadConnector posts to."),
    poll_every: str | None = typer.Option(
        None, "--poll-every", help="Also run a normal sync at this interval (30s, 5m, 1h), which catches "
        "what no webhook announced; default: leave polling to `syncengine run`.",
    ),
    wait: float = typer.Option(
        30.0, "--wait", min=0.0, metavar="SECONDS",
        help="How long a sync waits for another run holding the state; the contacts stay queued after.",
    ),
    pairings: Path | None = typer.Option(
        None, "--pairings", help="A pairings file (as `syncengine worker`'s): queue each webhook as a "
        "targeted sync job of the pairing of its location, for the workers, instead of syncing here.",
    ),
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """Receive LeadConnector's contact webhooks and sync the contacts they name within seconds.

    Each webhook is verified (X-GHL-Signature, Ed25519; the legacy x-wh-signature only before
    2026-07-01), checked against replays (webhookId, timestamp within 5 minutes), answered at once
    and queued in the state directory; a worker then syncs the queued contacts under the state lock.
    Scheduled polling stays the source of truth: LeadConnector never resends a lost webhook.
    """
    if pairings is not None:
        _receive_for_pairings(pairings, host, port, path, poll_every, state)
        return
    with _guard():
        env = environment(None)
        sandbox = not load_settings(env).configured
        every = parse_interval(poll_every) if poll_every else None
        try:
            keys = WebhookKeys.from_env(env)
        except PublicKeyError as exc:
            raise ConfigFileError(str(exc)) from None
    # In the sandbox the simulators' data is part of the state: the lock is held throughout.
    with _guard(), _workspace(
        state, config, simulate=True, lock=sandbox, wait=wait, command="webhooks"
    ) as ws:
        if SYSTEM not in ws.settings.configured:
            raise StopSystemError("webhooks come from LeadConnector: set LEADCONNECTOR_TOKEN and "
                                  "LEADCONNECTOR_LOCATION_ID")  # fmt: skip
        with closing(_listen(host, port)) as listener:
            _receive(ws, listener, host, path, keys, every, wait)


def _receive(
    ws: Workspace, listener: socket.socket, host: str, path: str, keys: WebhookKeys, every: float | None,
    wait: float,
) -> None:
    """Serve the receiver on ``listener`` with its worker until a signal; the sandbox's LeadConnector
    simulator is pointed here first, and its keys trusted instead of ``keys``."""
    url = f"http://{host}:{listener.getsockname()[1]}{path}"
    if ws.simulated:
        keys = _point_simulator_here(ws, url)
    inbox = Inbox(ws.config.state_dir / INBOX_FILE)
    sync = EngineSync(ws, hold_lock=not ws.simulated, wait=wait, on_report=_print_run)
    worker = SyncWorker(inbox, sync, poll_every=every, on_error=_print_failure)
    location = ws.settings.system(SYSTEM).location_id
    receiver = Receiver(keys, inbox, location_id=location, on_queued=worker.wake)
    out.print(f"Receiving LeadConnector webhooks at {escape(url)}")
    if ws.simulated:
        _print_sandbox_hint(ws)
    worker.start()
    try:
        _serve(build_app(receiver, path), listener)
    finally:
        worker.stop()
        inbox.close()


def _receive_for_pairings(
    file: Path, host: str, port: int, path: str, poll_every: str | None, state: Path | None
) -> None:
    """Serve the receiver deferring jobs to the pairings' workers; the webhook ids seen are kept in
    ``state`` (default ./state), as without pairings."""
    from syncengine.commands import EXIT_FAILED, EXIT_USAGE

    try:
        import psycopg
        from procrastinate.exceptions import ConnectorException

        from syncengine.pairings import load_pairings
        from syncengine.webhooks.jobs import pairing_jobs
    except ImportError as exc:
        needs = f"pip install 'syncengine\\[postgres]' ({exc.name} is missing)"
        err.print(f"[red]error:[/] syncengine webhooks --pairings needs PostgreSQL support: {needs}")
        raise typer.Exit(EXIT_USAGE) from exc
    with _guard():
        if poll_every:
            raise ConfigFileError("--poll-every: with --pairings the pairings' schedules poll (workers)")
        env = environment(None)
        config = load_pairings(file, env)
        try:
            keys = WebhookKeys.from_env(env)
        except PublicKeyError as exc:
            raise ConfigFileError(str(exc)) from None
    try:
        with _guard(), closing(_listen(host, port)) as listener, pairing_jobs(config) as jobs:
            inbox = Inbox((state or Path(env.get("SYNCENGINE_STATE_DIR") or "state")) / INBOX_FILE)
            receiver = Receiver(keys, inbox, jobs=jobs)
            url = f"http://{host}:{listener.getsockname()[1]}{path}"
            out.print(f"Receiving LeadConnector webhooks at {escape(url)} for "
                      f"{len(config.pairings)} pairing(s)")  # fmt: skip
            try:
                _serve(build_app(receiver, path), listener)
            finally:
                inbox.close()
    except (psycopg.Error, ConnectorException) as exc:
        err.print(f"[red]error:[/] the workers' database: {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from exc


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StopSystemError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _serve(app: Starlette, listener: socket.socket) -> None:
    """Serve until SIGINT or SIGTERM, then stop once the requests in flight are answered. uvicorn
    runs in a thread, so the signals stay ours (it would re-raise them, ending with exit 130)."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    stopping = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in signals}
    try:
        thread.start()
        while thread.is_alive() and not stopping.wait(0.5):
            pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _point_simulator_here(ws: Workspace, url: str) -> WebhookKeys:
    """The sandbox: tell LeadConnector's simulator to post here, and trust its keys."""
    admin = ws.settings.system(SYSTEM).base_url + "/__admin/webhooks"
    answer = httpx.put(admin, json={"url": url}, timeout=10).raise_for_status().json()
    keys = answer["public_keys"]
    return WebhookKeys.from_env(
        {
            "LEADCONNECTOR_WEBHOOK_PUBLIC_KEY": keys["ed25519"]["base64"],
            "LEADCONNECTOR_WEBHOOK_LEGACY_PUBLIC_KEY": keys["rsa"]["base64"],
        }
    )


def _print_sandbox_hint(ws: Workspace) -> None:
    lc = ws.settings.system(SYSTEM).base_url
    out.print("[bold]No credentials set:[/] the bundled LeadConnector simulator sends its webhooks here.")
    out.print(f"Edit a contact there as a person would: curl -X PATCH {escape(lc)}/__admin/contacts/ID "
              "-H 'Content-Type: application/json' -d '{\"companyName\": \"New name\"}'  "
              f"(ids: curl {escape(lc)}/__admin/contacts)")  # fmt: skip


def _print_run(report: RunReport, targets: Targets | None) -> None:
    what = "poll" if targets is None else f"{sum(len(v) for v in targets.values())} contact(s)"
    ops = len(report.plan.ops)
    out.print(f"run {report.run_id} ({what}): {report.status}, {ops} op(s), "
              f"{report.open_conflicts} open conflict(s)")  # fmt: skip


def _print_failure(exc: BaseException) -> None:
    err.print(f"[yellow]sync put off:[/] {escape(str(exc))}")
