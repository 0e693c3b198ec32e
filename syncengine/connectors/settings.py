"""Per-system connection settings from environment variables.

Each system's spec (``syncengine.systems``) names its variables: a secret (``APOLLO_API_KEY``,
``LEADCONNECTOR_TOKEN``, ``CORPORATEMERCH_TOKEN``), a base URL that defaults to the vendor's
(``APOLLO_BASE_URL``...), and any other value its calls need (``LEADCONNECTOR_LOCATION_ID``).

A system is configured when its credentials are set. A configured system with a bad setting
(plain ``http://`` to a non-loopback host, a LeadConnector token without location) does not stop
the others: ``load_settings`` records its ``ConfigError`` and ``Settings.system`` raises it.
Credentials live in ``Secret``, whose repr and str are masked, and are registered for redaction.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from syncengine.connectors.errors import ConfigError
from syncengine.redact import MASK, redact_url, register_secret
from syncengine.systems import NAMES, SPECS
from syncengine.systems.spec import SystemSpec


class Secret:
    """A credential that never shows itself in a repr, str or log line; ``reveal`` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SystemSettings:
    """Where and as whom to reach one system."""

    name: str
    base_url: str
    secret: Secret
    location_id: str | None = None  # LeadConnector: the sub-account every contact call names

    def auth_headers(self) -> dict[str, str]:
        """The headers the system's API authenticates with."""
        if self.name not in SPECS:
            raise ConfigError(f"unknown system {self.name!r}; known: {', '.join(SYSTEMS)}", system=self.name)
        return SPECS[self.name].auth(self.secret.reveal())


SYSTEMS: tuple[str, ...] = NAMES


@dataclass(frozen=True)
class Settings:
    """Every configured system's settings, and the configuration error of each broken one."""

    systems: Mapping[str, SystemSettings] = field(default_factory=dict)
    errors: Mapping[str, ConfigError] = field(default_factory=dict)

    @property
    def configured(self) -> tuple[str, ...]:
        """Systems whose credentials are set (including those with a configuration error)."""
        return tuple(name for name in SYSTEMS if name in self.systems or name in self.errors)

    def system(self, name: str) -> SystemSettings:
        """The settings of ``name``; ``ConfigError`` saying what to set when it cannot be used."""
        if name in self.errors:
            raise self.errors[name]
        if name in self.systems:
            return self.systems[name]
        if name not in SPECS:
            raise ConfigError(f"unknown system {name!r}; known: {', '.join(SYSTEMS)}")
        raise ConfigError(f"{name} is not configured: set {SPECS[name].secret_env}", system=name)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every system's settings from ``env`` (default ``os.environ``)."""
    env = os.environ if env is None else env
    systems: dict[str, SystemSettings] = {}
    errors: dict[str, ConfigError] = {}
    for name, spec in SPECS.items():
        secret = env.get(spec.secret_env, "").strip()
        if not secret:
            continue
        register_secret(secret)
        try:
            systems[name] = _system_settings(spec, secret, env)
        except ConfigError as exc:
            errors[name] = exc
    return Settings(systems=systems, errors=errors)


def _system_settings(spec: SystemSpec, secret: str, env: Mapping[str, str]) -> SystemSettings:
    location_id = env.get(spec.location_env, "").strip() if spec.location_env else None
    if spec.location_env and not location_id:
        raise ConfigError(f"{spec.secret_env} is set but {spec.location_env} is missing", system=spec.name)
    base_url = env.get(spec.base_url_env, "").strip() or spec.default_base_url
    return SystemSettings(
        name=spec.name,
        base_url=check_base_url(base_url, system=spec.name, variable=spec.base_url_env),
        secret=Secret(secret),
        location_id=location_id,
    )


def check_base_url(url: str, *, system: str | None = None, variable: str = "base URL") -> str:
    """``url`` without trailing slash; ``ConfigError`` unless https, or http on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(
            f"{variable} must be an absolute https:// URL, got {redact_url(url)!r}", system=system
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{variable} must not carry credentials, a query or a fragment", system=system)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"{variable} uses plain http:// to {parts.hostname}; credentials would travel unencrypted "
            "(http:// is only accepted for loopback addresses)",
            system=system,
        )
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
