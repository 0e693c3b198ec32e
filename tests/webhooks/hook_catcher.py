"""A stand-in receiver for the simulator's webhooks: a real HTTP server on loopback that keeps every
request (headers and raw body) and answers the statuses a test scripts."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncengine.sim.core import ServerThread


@dataclass
class Caught:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class HookCatcher:
    url: str = ""
    caught: list[Caught] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in turn; 200 once used up
    delay_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Caught]:
        deadline = time.monotonic() + timeout
        while len(self.caught) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.caught)

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        with self._lock:
            self.caught.append(Caught(dict(request.headers), body))
            status = self.statuses.pop(0) if self.statuses else 200
        return Response(status_code=status)


@contextmanager
def hook_catcher() -> Iterator[HookCatcher]:
    catcher = HookCatcher()
    app = Starlette(routes=[Route("/hook", catcher._receive, methods=["POST"])])
    with ServerThread(app) as server:
        catcher.url = server.url + "/hook"
        yield catcher
