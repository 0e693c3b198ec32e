"""``syncengine serve`` as a person starts it: loopback by default; elsewhere only with the token
it prints once, which it never writes anywhere."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_world import CREDENTIALS

Served = tuple[subprocess.Popen[str], list[str]]  # the server and the lines it printed first


def started(tmp_path: Path, *args: str) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS and not k.startswith("SYNCENGINE_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "syncengine", "serve", "--port", "0", "--state", str(tmp_path / "state"),
         *args],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    lines = [server.stdout.readline().strip()]
    if "--host" in args:
        lines += [server.stdout.readline().strip(), server.stdout.readline().strip()]
    try:
        yield server, lines
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[Served]:
    yield from started(tmp_path)


@pytest.fixture
def everywhere(tmp_path: Path) -> Iterator[Served]:
    yield from started(tmp_path, "--host", "0.0.0.0")


def test_serve_listens_on_loopback_and_answers_without_a_token(loopback: Served) -> None:
    _, [line] = loopback
    url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert url and int(url.group(1)) > 0, line
    assert httpx.get(url.group(0)).status_code == 200
    assert "sign in" not in httpx.get(url.group(0)).text.lower()


def test_serve_elsewhere_needs_the_token_it_prints_once_and_never_stores(
    everywhere: Served, tmp_path: Path
) -> None:
    _, (line, token_line, _) = everywhere
    port = re.search(r":(\d+)/", line)
    found = re.search(r"the token (\S+)", token_line)
    assert port and found, (line, token_line)
    url, token = f"http://127.0.0.1:{port.group(1)}", found.group(1)
    assert httpx.get(f"{url}/conflicts").status_code == 303  # to the sign-in page
    assert httpx.get(f"{url}/conflicts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
