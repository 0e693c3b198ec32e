"""How to build each configured system's connector from its settings and its spec."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from syncengine.connectors.base import Connector, ConnectorOptions
from syncengine.connectors.errors import ConfigError
from syncengine.connectors.http import HttpClient, HttpOptions, RetryPolicy, WaitCallback
from syncengine.connectors.ratelimit import LimitSpec, RateLimiter
from syncengine.connectors.settings import Settings, SystemSettings
from syncengine.systems import SPECS

# ``module:Class`` of each system's connector, as its spec names it.
CONNECTORS: Mapping[str, str] = {name: spec.connector for name, spec in SPECS.items()}


def connector_class(system: str) -> Callable[..., Connector]:
    if system not in SPECS:
        raise ConfigError(f"no connector for {system!r}; known: {', '.join(SPECS)}", system=system)
    return SPECS[system].connector_class()


def build_connector(
    settings: SystemSettings,
    options: ConnectorOptions | None = None,
    *,
    retry: RetryPolicy | None = None,
    on_wait: WaitCallback | None = None,
    proactive_limits: bool = True,
    http: HttpOptions | None = None,
) -> Connector:
    """``proactive_limits=False`` drops the client-side budget (for simulators run without limits);
    the server's 429s are still honoured. ``http`` sets the client's timeouts."""
    limiter = None if proactive_limits else RateLimiter(settings.name, LimitSpec(windows=()))
    client = HttpClient(settings, limiter=limiter, retry=retry, on_wait=on_wait, options=http)
    return connector_class(settings.name)(settings, client=client, options=options)


def build_connectors(
    settings: Settings,
    options: Mapping[str, ConnectorOptions] | None = None,
    *,
    only: tuple[str, ...] | None = None,
    retry: RetryPolicy | None = None,
    on_wait: WaitCallback | None = None,
    proactive_limits: bool = True,
    http: HttpOptions | None = None,
) -> dict[str, Connector]:
    """A connector per configured system (``only`` narrows them); a broken one raises ConfigError."""
    options = options or {}
    built = {}
    for system in settings.configured:
        if only is not None and system not in only:
            continue
        built[system] = build_connector(
            settings.system(system),
            options.get(system),
            retry=retry,
            on_wait=on_wait,
            proactive_limits=proactive_limits,
            http=http,
        )
    return built
