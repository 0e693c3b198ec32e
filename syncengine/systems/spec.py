"""What the engine knows about one CRM, as data: ``SystemSpec``.

Settings, rate limits, the connector registry, the simulator runner and the command line read a
system's spec instead of naming the system themselves. The connector, field map and simulator are
named as ``module:attribute`` and imported only when asked for, so reading the registry stays
cheap and free of import cycles (the connectors themselves import the settings, which import the
registry).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncengine.connectors.base import Connector
    from syncengine.connectors.ratelimit import LimitSpec

Auth = Callable[[str], dict[str, str]]


def header(name: str) -> Auth:
    """The secret sent as-is in header ``name`` (Apollo's ``x-api-key``)."""

    def headers(secret: str) -> dict[str, str]:
        return {name: secret}

    return headers


def bearer(**extra: str) -> Auth:
    """``Authorization: Bearer <secret>``, plus fixed headers the API demands on every call."""

    def headers(secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}", **extra}

    return headers


@dataclass(frozen=True)
class SimCredential:
    """One credential a simulator accepts, named after the engine's variable it stands in for."""

    variable: str  # the engine's environment variable
    keyword: str  # the simulator constructor's keyword
    default: str  # the value the simulator accepts when none is given
    option: str  # the ``syncengine sim`` option that sets it, without the leading dashes
    help: str


@dataclass(frozen=True)
class SimulatorSpec:
    """How to build and serve a system's simulator."""

    app: str  # ``module:Class``; the class takes the credentials' keywords and ``seed``
    path: str  # appended to ``http://127.0.0.1:PORT`` to make the engine's base URL
    default_port: int
    credentials: tuple[SimCredential, ...]

    def simulator_class(self) -> type[Any]:
        found = load(self.app)
        if not isinstance(found, type):
            raise TypeError(f"{self.app} is not a class")
        return found


@dataclass(frozen=True)
class SystemSpec:
    """One CRM: how to reach it, how it authenticates, what it allows, and the code that speaks it.

    ``name`` is the system's id everywhere (rules, state, output); ``location_env`` names a
    variable the system needs besides its secret (LeadConnector's sub-account id).
    """

    name: str
    display_name: str
    secret_env: str
    base_url_env: str
    default_base_url: str
    auth: Auth
    limits: Callable[[], LimitSpec]  # the vendor's documented limits, for the client's own pacing
    connector: str  # ``module:Class`` of the connector, built with (settings, client=, options=)
    field_map: str  # ``module:Class`` of the field map; its table is the module's ``.toml`` beside it
    simulator: SimulatorSpec
    location_env: str | None = None

    @property
    def env_vars(self) -> tuple[str, ...]:
        """Every environment variable the engine reads for this system."""
        extra = (self.location_env,) if self.location_env else ()
        return (self.secret_env, *extra, self.base_url_env)

    def connector_class(self) -> Callable[..., Connector]:
        found: Callable[..., Connector] = load(self.connector)
        return found

    def field_map_class(self) -> type[Any]:
        found = load(self.field_map)
        if not isinstance(found, type):
            raise TypeError(f"{self.field_map} is not a class")
        return found


def load(reference: str) -> Any:
    """The attribute a ``module:attribute`` reference names, importing its module."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)
