"""Serve the simulators together on loopback, each with the base URL the engine's variables take."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncengine.sim.apollo import ApolloSim
from syncengine.sim.core import ServerThread
from syncengine.sim.leadconnector import LeadConnectorSim

DEFAULT_PORTS = {"apollo": 8701, "leadconnector": 8702}


@dataclass(frozen=True)
class Credential:
    """One credential variable; ``from_env`` ones are never printed (a real key may be set).

    They show as ``VAR=$VAR``, which still pastes into a shell.
    """

    variable: str
    value: str
    from_env: bool

    def shown(self) -> str:
        return f"{self.variable}=${self.variable}" if self.from_env else f"{self.variable}={self.value}"


@dataclass
class RunningSystem:
    name: str
    sim: Any
    server: ServerThread
    url_variable: str
    path: str
    credentials: tuple[Credential, ...]

    @property
    def base_url(self) -> str:
        return self.server.url + self.path

    def line(self) -> str:
        """``name  VAR=url CRED=...`` in the form the engine's environment variables take."""
        parts = [f"{self.url_variable}={self.base_url}", *(c.shown() for c in self.credentials)]
        return f"{self.name:<15} " + " ".join(parts)


def _credential(variable: str, default: str, given: str | None, env: Mapping[str, str]) -> Credential:
    if given is not None:
        return Credential(variable, given, False)
    if env.get(variable):
        return Credential(variable, env[variable], True)
    return Credential(variable, default, False)


class SimCluster:
    """The simulators of every supported CRM, served on 127.0.0.1 (port 0 picks a free one)."""

    def __init__(
        self,
        *,
        ports: Mapping[str, int] | None = None,
        credentials: Mapping[str, str | None] | None = None,
        rate_limits: bool = True,
        seed: int = 0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        given = dict(credentials or {})
        ports = {**{name: 0 for name in DEFAULT_PORTS}, **(ports or {})}
        key = _credential("APOLLO_API_KEY", "sim-apollo-key", given.get("APOLLO_API_KEY"), env)
        token = _credential("LEADCONNECTOR_TOKEN", "sim-lc-token", given.get("LEADCONNECTOR_TOKEN"), env)
        location = _credential(
            "LEADCONNECTOR_LOCATION_ID", "SimLocation000000001", given.get("LEADCONNECTOR_LOCATION_ID"), env
        )
        apollo = ApolloSim(key.value, seed=seed)
        lc = LeadConnectorSim(token.value, location.value, seed=seed)
        self.systems: dict[str, RunningSystem] = {
            "apollo": RunningSystem(
                "apollo",
                apollo,
                ServerThread(apollo.app, port=ports["apollo"]),
                "APOLLO_BASE_URL",
                "/api/v1",
                (key,),
            ),
            "leadconnector": RunningSystem(
                "leadconnector",
                lc,
                ServerThread(lc.app, port=ports["leadconnector"]),
                "LEADCONNECTOR_BASE_URL",
                "",
                (token, location),
            ),
        }
        for system in self.systems.values():
            system.sim.state.rate_limits_enabled = rate_limits

    def start(self) -> SimCluster:
        for system in self.systems.values():
            system.server.start()
        return self

    def stop(self) -> None:
        for system in self.systems.values():
            system.server.stop()

    def lines(self) -> list[str]:
        return [system.line() for system in self.systems.values()]

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
