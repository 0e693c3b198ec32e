"""The ``serve`` command (registered in ``syncengine.cli``)."""

from __future__ import annotations

from pathlib import Path

import typer

from syncengine.web.server import DEFAULT_PORT


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host",
        help="Address to listen on. Anything but loopback requires the token printed at start.",
    ),
    port: int = typer.Option(DEFAULT_PORT, "--port", min=0, max=65535, help="Port to listen on."),
    state: Path | None = typer.Option(
        None, "--state", envvar="SYNCENGINE_STATE_DIR", help="State directory (default ./state)."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Config file (default ./syncengine.toml when present)."
    ),
) -> None:
    """Serve the web app: preview and run syncs, settle conflicts, undo runs, contacts, errors.

    Listens on 127.0.0.1 unless --host says otherwise; then it prints a token to sign in with, once.
    With no credentials set, it works on the bundled simulators, as `sync` does.
    """
    from syncengine.commands import EXIT_USAGE, _guard, err
    from syncengine.web.server import ServeError
    from syncengine.web.server import serve as run

    with _guard():
        try:
            run(host=host, port=port, state_dir=state, config_path=config, announce=_print)
        except ServeError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_USAGE) from exc


def _print(line: str) -> None:
    print(line, flush=True)
