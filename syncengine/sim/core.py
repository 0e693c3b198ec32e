"""Building blocks shared by the CRM simulators.

A simulator is the *other side* of the engine: a real HTTP server that behaves like a vendor's API.
This module imports nothing from the rest of ``syncengine``. It provides what every simulator needs
besides its vendor-specific routes:

* ``SimClock``: UTC time that tests can advance or freeze (rate-limit windows, ``updated_at`` values);
* ``Journal``: every vendor request with its body and status, secrets redacted, plus call counters;
* ``FaultConfig`` and ``FaultMiddleware``: injected 5xx, latency, timeouts, dropped connections and
  429 bursts, applied before (or, for ``drop_after_rate``, after) the vendor handler runs;
* ``FixedWindow``: a fixed-window request counter for rate limits;
* ``build_app``: the vendor routes plus an admin surface under ``/__admin`` that tests and demos
  use to seed, edit "as a person in the UI would", reset and inspect a simulator;
* ``ServerThread``: serves an app with uvicorn on loopback in a background thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncengine.sim.jsonbody import load_json

ADMIN_PREFIX = "/__admin"
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie", "proxy-authorization"})
# Legacy APIs accept keys in the query string or body (Apollo's ``api_key``); the journal hides them too.
SECRET_PARAMS = frozenset({"api_key", "apikey", "access_token"})
REDACTED = "***"


# --------------------------------------------------------------------------- time and ids


class SimClock:
    """UTC clock with an offset that tests can advance, and an optional frozen instant.

    A frozen clock makes many writes share one ``updated_at``, which is how tests provoke the
    equal-timestamp edge of incremental pulls.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + timedelta(seconds=self._offset)

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)

    def freeze(self, at: datetime | None = None) -> None:
        with self._lock:
            self._frozen = at or (datetime.now(UTC) + timedelta(seconds=self._offset))

    def unfreeze(self) -> None:
        with self._lock:
            self._frozen = None

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen = None


def iso_ms(dt: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, e.g. ``2024-09-12T20:14:53.134Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 timestamp; a value without zone is rejected rather than guessed."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"timestamp without time zone: {value!r}")
    return dt.astimezone(UTC)


_HEX = "0123456789abcdef"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class SearchCache:
    """The last result of each search, reused while the store has not changed since.

    Paging through 100,000 contacts asks for the same filtered, sorted list hundreds of times;
    filtering and sorting for each page made the simulator, not the engine, the cost of a large
    run. A store counts its writes (its ``revision``), and a result holds only for the revision it
    was built at. The result holds the records themselves: their current values are what a page
    shows.
    """

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[int, Any]] = {}
        self._lock = threading.Lock()

    def get(self, name: Any, revision: int | None, build: Callable[[], Any]) -> Any:
        """``build()``'s result for ``name`` at ``revision``; ``None`` means never reuse."""
        if revision is None:
            return build()
        with self._lock:
            entry = self._entries.get(name)
        if entry is not None and entry[0] == revision:
            return entry[1]
        result = build()
        with self._lock:
            if len(self._entries) > 32:  # one entry per distinct query; a few are in use at a time
                self._entries.clear()
            self._entries[name] = (revision, result)
        return result


class IdMaker:
    """Deterministic id source (seeded), so a seeded demo produces the same ids every time."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def hex24(self) -> str:
        with self._lock:
            return "".join(self._rng.choice(_HEX) for _ in range(24))

    def alnum20(self) -> str:
        with self._lock:
            return "".join(self._rng.choice(_ALNUM) for _ in range(20))

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng.seed(seed)


# --------------------------------------------------------------------------- journal


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    at: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int | None
    outcome: str  # "ok", or the fault injected: "error", "timeout", "drop", "drop_after", "burst"
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers}


def redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(k.lower() in SECRET_PARAMS for k, _ in pairs):
        return query
    return urlencode([(k, REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in pairs])


def redact_body(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: (REDACTED if k.lower() in SECRET_PARAMS else redact_body(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [redact_body(v) for v in body]
    return body


class Journal:
    """Every request a simulator answered on its vendor paths, in order, with secrets redacted."""

    def __init__(self) -> None:
        self._entries: list[JournalEntry] = []
        self._lock = threading.Lock()
        self._seq = 0
        self.enabled = True

    def record(self, **kw: Any) -> None:
        with self._lock:
            self._seq += 1
            if self.enabled:
                self._entries.append(JournalEntry(seq=self._seq, **kw))

    def entries(self, since: int = 0) -> list[JournalEntry]:
        with self._lock:
            return [e for e in self._entries if e.seq > since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def counters(self) -> dict[str, int]:
        """Calls by ``"METHOD path"`` and by outcome / status, for tests and benchmarks."""
        with self._lock:
            c: Counter[str] = Counter()
            for e in self._entries:
                c[f"{e.method} {e.path}"] += 1
                c[f"status:{e.status}"] += 1
                c[f"outcome:{e.outcome}"] += 1
                c["total"] += 1
            return dict(c)


# --------------------------------------------------------------------------- faults


@dataclass
class FaultConfig:
    """What to inject, as shares of the vendor requests that match ``methods`` and ``paths``.

    ``error_rate``: answer ``error_status`` without running the handler.
    ``timeout_rate``: hold the request ``timeout_seconds``, then run it normally (a slow server
    that still applies the write after the client gave up).
    ``drop_rate``: close the connection without an answer, before the handler runs.
    ``drop_after_rate``: run the handler (its write lands), then close the connection without
    the answer: the "executed, reply lost" case.
    ``burst_429``: the next N matching requests get the vendor's 429.
    """

    error_rate: float = 0.0
    error_status: int = 503
    latency_ms: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    drop_rate: float = 0.0
    drop_after_rate: float = 0.0
    burst_429: int = 0
    methods: list[str] | None = None
    paths: list[str] | None = None
    seed: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        return cls(**data)

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return not self.paths or any(p in path for p in self.paths)


class Faults:
    def __init__(self) -> None:
        self.config = FaultConfig()
        self._rng = random.Random()
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)

    def decide(self, method: str, path: str) -> str | None:
        with self._lock:
            cfg = self.config
            if not cfg.matches(method, path):
                return None
            if cfg.burst_429 > 0:
                cfg.burst_429 -= 1
                outcome: str | None = "burst"
            else:
                roll = self._rng.random()
                outcome = None
                for name, rate in (
                    ("error", cfg.error_rate),
                    ("timeout", cfg.timeout_rate),
                    ("drop", cfg.drop_rate),
                    ("drop_after", cfg.drop_after_rate),
                ):
                    if roll < rate:
                        outcome = name
                        break
                    roll -= rate
            if outcome:
                self.injected[outcome] += 1
            return outcome


class SimulatedDrop(Exception):
    """Raised after the response has started so that uvicorn closes the connection mid-answer."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedDrop)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


# --------------------------------------------------------------------------- rate-limit windows


class FixedWindow:
    """A fixed window of ``seconds`` allowing ``limit`` requests; ``limit=None`` means unlimited."""

    def __init__(self, limit: int | None, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._start = 0.0
        self.used = 0

    def _roll(self, now: float) -> None:
        if now >= self._start + self.seconds:
            self._start = now - ((now - self._start) % self.seconds) if self._start else now
            self.used = 0

    def would_allow(self, now: float) -> bool:
        self._roll(now)
        return self.limit is None or self.used < self.limit

    def hit(self, now: float) -> None:
        self._roll(now)
        self.used += 1

    def remaining(self, now: float) -> int | None:
        self._roll(now)
        return None if self.limit is None else max(self.limit - self.used, 0)

    def reset_at(self, now: float) -> float:
        self._roll(now)
        return self._start + self.seconds

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window resets (at least 1, so a client never spins)."""
        return max(1, int(-(-(self.reset_at(now) - now) // 1)))


# --------------------------------------------------------------------------- the shared state


@dataclass
class SimState:
    """What the core keeps per simulator: clock, journal, faults and the rate-limit switch."""

    clock: SimClock = field(default_factory=SimClock)
    journal: Journal = field(default_factory=Journal)
    faults: Faults = field(default_factory=Faults)
    rate_limits_enabled: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock)


class Backend(Protocol):
    """What a vendor simulator gives the core. Plain methods; no base class to extend."""

    name: str
    state: SimState

    def routes(self) -> list[BaseRoute]:
        """The vendor's own paths."""
        ...

    def admin_routes(self) -> list[BaseRoute]:
        """Vendor-specific admin paths, mounted under ``/__admin`` next to the shared ones."""
        ...

    def too_many_requests(self) -> Response:
        """The vendor's 429 answer, used for injected 429 bursts."""
        ...

    def reset(self) -> None: ...

    def export_state(self) -> dict[str, Any]: ...

    def import_state(self, data: dict[str, Any]) -> None: ...

    def configure_limits(self, data: dict[str, Any]) -> dict[str, Any]:
        """Apply vendor-specific limit settings from ``PUT /__admin/ratelimits``; return them."""
        ...


# --------------------------------------------------------------------------- middleware


async def _read_body(receive: Receive) -> bytes | None:
    """The request's whole body; None when the client went away before sending all of it (a
    client killed between its headers and its body), which no server acts on."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _decode_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return load_json(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class FaultMiddleware:
    """Journals vendor requests and injects the configured faults around the vendor handler."""

    def __init__(self, app: ASGIApp, backend: Backend) -> None:
        self.app = app
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.backend.state
        started = time.perf_counter()
        body = await _read_body(receive)
        method, path = scope["method"], scope["path"]
        if body is None:
            return  # the request never arrived whole: nothing to run and nobody to answer
        raw = body
        outcome = state.faults.decide(method, path)
        cfg = state.faults.config
        status: list[int] = []

        async def replay() -> Message:
            return {"type": "http.request", "body": raw, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            if outcome == "drop_after":
                return  # the handler ran; its answer is lost
            await send(message)

        def journal(final: str) -> None:
            state.journal.record(
                at=iso_ms(state.clock.now()),
                method=method,
                path=path,
                query=redact_query(scope.get("query_string", b"").decode("latin-1")),
                headers=redact_headers(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                ),
                body=redact_body(_decode_body(raw)),
                status=status[0] if status else None,
                outcome=final,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

        if cfg.latency_ms and cfg.matches(method, path):
            await asyncio.sleep(cfg.latency_ms / 1000)
        if outcome == "timeout":
            await asyncio.sleep(cfg.timeout_seconds)
        if outcome == "error":
            body = json.dumps({"error": "Simulated server error", "statusCode": cfg.error_status}).encode()
            await _respond(send, cfg.error_status, body)
            status.append(cfg.error_status)
            journal("error")
            return
        if outcome == "burst":
            response = self.backend.too_many_requests()
            status.append(response.status_code)
            journal("burst")
            await response(scope, replay, send)
            return
        if outcome == "drop":
            journal("drop")
            await _drop(send)
        await self.app(scope, replay, capture)
        journal(outcome or "ok")
        if outcome == "drop_after":
            await _drop(send)


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    # Announce a body that never comes, then fail: uvicorn can only close the connection.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    raise SimulatedDrop()


# --------------------------------------------------------------------------- admin surface


class AdminInputError(ValueError):
    """An admin request the simulator cannot act on; answered 400 with ``{"error": ...}``."""


async def admin_object(request: Request) -> dict[str, Any]:
    """The JSON object an admin request carries (an empty body reads as ``{}``)."""
    raw = await request.body()
    try:
        data = load_json(raw) if raw.strip() else {}
    except ValueError as exc:
        raise AdminInputError(f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise AdminInputError("the body must be a JSON object")
    return data


def _admin(handler: Handler) -> Handler:
    """Bad admin input (wrong JSON, wrong types in a setting or a state file) answers 400."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except (AdminInputError, TypeError, ValueError, KeyError, AttributeError) as exc:
            return JSONResponse({"error": str(exc) or type(exc).__name__}, status_code=400)

    return endpoint


def _shared_admin_routes(backend: Backend) -> list[BaseRoute]:
    state = backend.state

    async def reset(request: Request) -> Response:
        with state.lock:
            backend.reset()
            state.journal.clear()
            state.faults.configure(FaultConfig())
            state.faults.injected.clear()
            state.clock.reset()
        return JSONResponse({"reset": True})

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            state.journal.clear()
            return JSONResponse({"cleared": True})
        since = request.query_params.get("since", "0")
        if not since.isascii() or not since.isdigit():
            raise AdminInputError("since must be a journal sequence number")
        entries = state.journal.entries(int(since))
        return JSONResponse({"entries": [e.to_json() for e in entries], "last_seq": state.journal.last_seq})

    async def counters(request: Request) -> Response:
        return JSONResponse(
            {"calls": state.journal.counters(), "faults_injected": dict(state.faults.injected)}
        )

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                state.faults.configure(FaultConfig.from_json(await admin_object(request)))
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(asdict(state.faults.config))

    async def ratelimits(request: Request) -> Response:
        data = await admin_object(request) if request.method == "PUT" else {}
        with state.lock:
            if "enabled" in data:
                state.rate_limits_enabled = bool(data.pop("enabled"))
            try:
                limits = backend.configure_limits(data)
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"enabled": state.rate_limits_enabled, **limits})

    async def clock(request: Request) -> Response:
        data = await admin_object(request) if request.method == "POST" else {}
        if "advance" in data:
            state.clock.advance(float(data["advance"]))
        if data.get("freeze"):
            state.clock.freeze()
        if data.get("freeze") is False:
            state.clock.unfreeze()
        return JSONResponse({"now": iso_ms(state.clock.now())})

    async def snapshot(request: Request) -> Response:
        with state.lock:
            if request.method == "PUT":
                backend.import_state(await admin_object(request))
                return JSONResponse({"imported": True})
            return JSONResponse(backend.export_state())

    return [
        Route("/reset", _admin(reset), methods=["POST"]),
        Route("/journal", _admin(journal), methods=["GET", "DELETE"]),
        Route("/counters", _admin(counters), methods=["GET"]),
        Route("/faults", _admin(faults), methods=["GET", "PUT"]),
        Route("/ratelimits", _admin(ratelimits), methods=["GET", "PUT"]),
        Route("/clock", _admin(clock), methods=["GET", "POST"]),
        Route("/state", _admin(snapshot), methods=["GET", "PUT"]),
    ]


def build_app(backend: Backend) -> ASGIApp:
    """The vendor routes, the admin surface under ``/__admin``, wrapped in the fault middleware."""
    admin = Mount(ADMIN_PREFIX, routes=[*_shared_admin_routes(backend), *backend.admin_routes()])
    app = Starlette(routes=[admin, *backend.routes()])
    return FaultMiddleware(app, backend)


# --------------------------------------------------------------------------- serving


class ServerThread:
    """Serve an ASGI app with uvicorn on loopback in a daemon thread (port 0 picks a free port)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Without TCP_NODELAY, Nagle plus delayed ACK holds every small answer for ~40 ms.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"simulator on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def save_state(backend: Backend, path: Path) -> None:
    """Write a simulator's data to ``path`` atomically (for demos that survive a restart)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with backend.state.lock:
        data = backend.export_state()
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def load_state(backend: Backend, path: Path) -> bool:
    if not path.exists():
        return False
    with backend.state.lock:
        backend.import_state(json.loads(path.read_text()))
    return True


Handler = Callable[[Request], Awaitable[Response]]
