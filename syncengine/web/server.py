"""``syncengine serve``: the web app on 127.0.0.1 (or, with a token, elsewhere) until Ctrl-C."""

from __future__ import annotations

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
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        shown = f"[{host}]" if ":" in host else host
        announce(f"syncengine serve: http://{shown}:{port}/ (Ctrl-C stops it)")
        if token is not None:
            announce(f"listening beyond this machine: sign in with the token {token}")
            announce("(shown this once and kept only as a digest: restart the server for a new one)")
        server.run()
    finally:
        ctx.close()
