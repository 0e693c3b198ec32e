"""``syncengine serve``: the web app on 127.0.0.1 (or, with a token, elsewhere) until Ctrl-C."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn

from syncengine.web.app import create_app
from syncengine.web.context import WebContext
from syncengine.web.security import Guard

DEFAULT_PORT = 8700  # beside the bundled simulators' 8701-8703


def serve(
    *,
    host: str,
    port: int,
    state_dir: Path | None,
    config_path: Path | None,
    announce: Callable[[str], None],
) -> None:
    """Serve until SIGINT or SIGTERM. ``announce`` gets the lines to print: the address and, when
    listening beyond loopback, the token (printed this once; the server keeps only its digest)."""
    ctx = WebContext.open(state_dir, config_path)
    guard, token = Guard.for_host(host)
    try:
        app = create_app(ctx, guard)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        listening = _listen(host, port)  # bound first, so port 0 is announced as the one chosen
        shown = f"[{host}]" if ":" in host else host
        announce(f"syncengine serve: http://{shown}:{listening.getsockname()[1]}/ (Ctrl-C stops it)")
        if token is not None:
            announce(f"listening beyond this machine: sign in with the token {token}")
            announce("(shown this once and kept only as a digest: restart the server for a new one)")
        server.run(sockets=[listening])
    finally:
        ctx.close()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return listening


class ServeError(Exception):
    """The address to listen on is taken or not this machine's."""
