"""Serve the simulators together on loopback, each with the base URL the engine's variables take.

``SimCluster`` builds one simulator per system, fills them with sample data (or the data a state
file kept from the last run) and serves each with ``core.ServerThread``. Every system then offers
what a client needs in the engine's own terms: ``APOLLO_BASE_URL`` and ``APOLLO_API_KEY`` and so on.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from syncengine.sim import sampledata
from syncengine.sim.core import ADMIN_PREFIX, ServerThread
from syncengine.systems import NAMES, SPECS, SystemSpec
from syncengine.systems.spec import SimCredential

DEFAULT_PORTS = {name: spec.simulator.default_port for name, spec in SPECS.items()}
STATE_FORMAT = 1


class SimClusterError(Exception):
    """The cluster cannot start as asked (a busy port, an unreadable state file, bad seeding)."""


@dataclass(frozen=True)
class Credential:
    """One credential variable; ``from_env`` ones are never printed (a real key may be set).

    They show as ``VAR=$VAR``, which still pastes into a shell and parses as ``KEY=VALUE``.
    """

    variable: str
    value: str
    from_env: bool

    def shown(self) -> str:
        return f"{self.variable}=${self.variable}" if self.from_env else f"{self.variable}={self.value}"


class RunningSystem:
    """One simulator of the cluster: the object, its server and its settings in the engine's form."""

    def __init__(self, spec: SystemSpec, sim: Any, credentials: tuple[Credential, ...], port: int) -> None:
        self.spec = spec
        self.sim = sim
        self.credentials = credentials
        self.port = port
        self.server: ServerThread | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        if self.server is None:
            raise SimClusterError(f"{self.name} simulator is not running")
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.url + self.spec.simulator.path

    @property
    def admin_url(self) -> str:
        return self.url + ADMIN_PREFIX

    def environment(self) -> dict[str, str]:
        """The engine's variables for this system, with the real credential values."""
        return {self.spec.base_url_env: self.base_url, **{c.variable: c.value for c in self.credentials}}

    def line(self) -> str:
        """``name  VAR=url CRED=...``; credentials taken from the environment are not shown."""
        parts = [f"{self.spec.base_url_env}={self.base_url}", *(c.shown() for c in self.credentials)]
        return f"{self.name:<15} " + " ".join(parts)


def _credential(spec: SimCredential, given: str | None, env: Mapping[str, str]) -> Credential:
    if given is not None:
        return Credential(spec.variable, given, False)
    if env.get(spec.variable):
        return Credential(spec.variable, env[spec.variable], True)
    return Credential(spec.variable, spec.default, False)


def simulator_class(name: str) -> type:
    try:
        return SPECS[name].simulator.simulator_class()
    except (ImportError, AttributeError, TypeError) as exc:
        raise SimClusterError(f"the {name} simulator is not available: {exc}") from exc


class SimCluster:
    """The simulators of the chosen systems, served on 127.0.0.1 (port 0 picks a free one).

    ``credentials`` maps the engine's variable names to values; a variable not given there is
    read from ``env`` (default ``os.environ``) and falls back to the simulator's default.
    ``contacts`` sample contacts per system are generated on start unless ``state_file`` exists,
    in which case its data is loaded instead; ``stop`` saves the data back to it unless
    ``save_on_stop`` is False (a reader of the data must not overwrite what a writer saved since).
    """

    def __init__(
        self,
        *,
        systems: tuple[str, ...] = NAMES,
        ports: Mapping[str, int] | None = None,
        credentials: Mapping[str, str | None] | None = None,
        contacts: int = 0,
        overlap: float = 0.5,
        seed: int = 0,
        rate_limits: bool = True,
        state_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        save_on_stop: bool = True,
        webhook_url: str | None = None,
    ) -> None:
        unknown = sorted(set(systems) - set(SPECS))
        if unknown:
            raise SimClusterError(f"unknown systems {unknown}; known: {sorted(SPECS)}")
        env = os.environ if env is None else env
        given = dict(credentials or {})
        ports = {**dict.fromkeys(SPECS, 0), **(ports or {})}
        self.contacts = contacts
        self.overlap = overlap
        self.seed = seed
        self.rate_limits = rate_limits
        self.state_file = Path(state_file) if state_file is not None else None
        self.save_on_stop = save_on_stop
        self.webhook_url = webhook_url
        self.loaded_state = False
        self.systems: dict[str, RunningSystem] = {}
        for name in (s for s in SPECS if s in systems):
            spec = SPECS[name]
            wanted = spec.simulator.credentials
            creds = tuple(_credential(c, given.get(c.variable), env) for c in wanted)
            keywords = {c.keyword: v.value for c, v in zip(wanted, creds, strict=True)}
            sim = simulator_class(name)(**keywords, seed=seed)
            self.systems[name] = RunningSystem(spec, sim, creds, ports[name])

    def __getitem__(self, name: str) -> RunningSystem:
        return self.systems[name]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SimCluster:
        """Serve every simulator, then load the state file or seed sample data."""
        try:
            for system in self.systems.values():
                system.server = _serve(system)
            self.loaded_state = self._load()
            if not self.loaded_state and self.contacts:
                self._seed()
            if self.webhook_url and "leadconnector" in self.systems:
                try:
                    self.systems["leadconnector"].sim.webhooks.configure({"url": self.webhook_url})
                except ValueError as exc:
                    raise SimClusterError(f"webhook URL {self.webhook_url!r}: {exc}") from None
        except BaseException:
            self._stop_servers()
            raise
        for system in self.systems.values():
            system.sim.state.rate_limits_enabled = self.rate_limits
        return self

    def stop(self) -> None:
        """Stop serving (requests in flight finish first), then save the state file if one is set."""
        running = any(s.server is not None for s in self.systems.values())
        self._stop_servers()
        if running and self.state_file is not None and self.save_on_stop:
            self.save(self.state_file)

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what clients need

    def lines(self) -> list[str]:
        lines = [system.line() for system in self.systems.values()]
        hooks = self.webhook_environment()
        if hooks:
            shown = " ".join(f"{k}={v}" for k, v in hooks.items())
            lines.append(f"{'webhooks':<15} {shown}")
        return lines

    def webhook_environment(self) -> dict[str, str]:
        """The public keys LeadConnector's simulator signs its webhooks with, in the variables the
        engine's receiver reads (base64 of the DER encoding); empty without that simulator."""
        if "leadconnector" not in self.systems:
            return {}
        keys = self.systems["leadconnector"].sim.webhooks.keys.public()
        return {
            "LEADCONNECTOR_WEBHOOK_PUBLIC_KEY": keys["ed25519"]["base64"],
            "LEADCONNECTOR_WEBHOOK_LEGACY_PUBLIC_KEY": keys["rsa"]["base64"],
        }

    def environment(self) -> dict[str, str]:
        """All the engine's variables for the running simulators, credentials included."""
        return {k: v for system in self.systems.values() for k, v in system.environment().items()}

    # ------------------------------------------------------------------ data

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write every simulator's data (contacts, catalogues, id counters) as JSON, atomically."""
        target = Path(path)
        data: dict[str, Any] = {"format": STATE_FORMAT, "systems": {}}
        for name, system in self.systems.items():
            with system.sim.state.lock:
                data["systems"][name] = system.sim.export_state()
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        # Sample personal data: readable by its owner only, like the state database.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(data))
        tmp.replace(target)

    def _load(self) -> bool:
        if self.state_file is None or not self.state_file.exists():
            return False
        try:
            data = json.loads(self.state_file.read_text())
            states = data["systems"] if data.get("format") == STATE_FORMAT else None
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise SimClusterError(f"state file {self.state_file} is not readable: {exc}") from exc
        if not isinstance(states, dict):
            raise SimClusterError(
                f"state file {self.state_file} holds no simulator state (format {STATE_FORMAT})"
            )
        for name, system in self.systems.items():
            if name in states:
                with system.sim.state.lock:
                    system.sim.import_state(states[name])
        return True

    def _seed(self) -> None:
        """Catalogues through the admin API (the vendor-neutral surface), then the sample contacts.

        A system the sample data does not render starts empty."""
        sampled = tuple(name for name in self.systems if name in sampledata.SYSTEMS)
        records = sampledata.generate(self.contacts, overlap=self.overlap, seed=self.seed, systems=sampled)
        wanted = sampledata.catalogues()
        with httpx.Client(timeout=30) as client:
            for name, system in self.systems.items():
                for key, items in wanted.get(name, {}).items():
                    answer = client.post(f"{system.admin_url}/{key}", json={key: items})
                    if answer.status_code != 200:
                        raise SimClusterError(
                            f"{name}: seeding {key} failed with {answer.status_code}: {answer.text[:300]}"
                        )
        for name, system in self.systems.items():
            try:
                system.sim.seed_contacts(records.get(name, []))
            except ValueError as exc:
                raise SimClusterError(f"{name}: sample contacts refused: {exc}") from exc

    def _stop_servers(self) -> None:
        for system in self.systems.values():
            if system.server is not None:
                system.server.stop()
                system.server = None
            close = getattr(system.sim, "close", None)
            if close is not None:
                close()  # background senders (LeadConnector's webhooks)


def _serve(system: RunningSystem) -> ServerThread:
    try:
        server = ServerThread(system.sim.app, port=system.port)
    except OSError as exc:
        raise SimClusterError(
            f"{system.name} simulator cannot listen on 127.0.0.1:{system.port}: {exc.strerror or exc}"
        ) from exc
    return server.start()


def serve_until_signalled(cluster: SimCluster, announce: Callable[[list[str]], None]) -> None:
    """Start the cluster, ``announce`` its lines, serve until SIGINT or SIGTERM, stop cleanly.

    Must run in the main thread (signal handlers); the previous handlers are restored afterwards.
    """
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with cluster:
            announce(cluster.lines())
            while not stopping.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
