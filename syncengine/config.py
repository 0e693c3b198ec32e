"""Configuration: credentials from the environment, everything else from a config file with defaults.

Credentials are read only from environment variables (or a ``.env`` file in the working directory,
which the user owns and never commits); ``syncengine.toml`` holds the rest:

```toml
default_region = "US"          # phone numbers without a country code are read as this region
rules = "rules"                # a rules directory or file
database = ""                  # a PostgreSQL URL; empty: SQLite in the state directory
full_scan_every = 24           # every Nth run is a full scan, which is how deletions are found

[systems.apollo]
custom_fields = { shirt_size = "Shirt Size" }   # canonical target -> the system's field name
overlap_seconds = 300
```

The state directory is ``./state`` unless ``--state DIR`` or ``SYNCENGINE_STATE_DIR`` says otherwise.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pycountry
from dotenv import dotenv_values

from syncengine.connectors.base import ConnectorOptions
from syncengine.connectors.settings import SYSTEMS

CONFIG_FILE = "syncengine.toml"
_TOP_KEYS = {"default_region", "rules", "database", "full_scan_every", "systems"}
_SYSTEM_KEYS = {"custom_fields", "overlap_seconds", "enabled"}


class ConfigFileError(ValueError):
    """The config file is unreadable or holds a wrong key; the message names the file and key."""


@dataclass(frozen=True)
class Config:
    state_dir: Path
    rules_path: Path | None = None
    database: str | None = None
    default_region: str = "US"
    full_scan_every: int = 24
    options: Mapping[str, ConnectorOptions] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    source: Path | None = None

    def connector_options(self, system: str) -> ConnectorOptions:
        return self.options.get(system) or ConnectorOptions(default_region=self.default_region)


def environment(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> dict[str, str]:
    """``env`` (default ``os.environ``) over the values of ``.env`` in ``cwd``, when there is one."""
    base = dict(os.environ if env is None else env)
    dotenv = (cwd or Path.cwd()) / ".env"
    if dotenv.is_file():
        try:
            values = dotenv_values(dotenv)
        except UnicodeDecodeError as exc:
            raise ConfigFileError(f"{dotenv}: {_not_utf8(exc)}") from exc
        for key, value in values.items():
            if value is not None:
                base.setdefault(key, value)
    return base


def load_config(
    path: Path | None = None, *, state_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Read ``path`` (default ``./syncengine.toml`` when present) and resolve the state directory."""
    env = os.environ if env is None else env
    state = state_dir or Path(env.get("SYNCENGINE_STATE_DIR") or "state")
    if path is None:
        path = Path(CONFIG_FILE) if Path(CONFIG_FILE).is_file() else None
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigFileError(f"{path}: {_not_utf8(exc)}") from exc
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigFileError(f"{path}: {exc}") from exc
    where = str(path)
    _only(data, _TOP_KEYS, where, "")
    region = _typed(data, "default_region", str, "US", where)
    if pycountry.countries.get(alpha_2=region.upper()) is None:
        # Phone numbers are read in this region, so a typo would silently misread every local number.
        raise ConfigFileError(
            f"{where}: default_region: {region!r} is not a two-letter country code (ISO 3166), e.g. US, GB"
        )
    region = region.upper()
    systems = data.get("systems", {})
    if not isinstance(systems, dict):
        raise ConfigFileError(f"{where}: systems: must be a table")
    options: dict[str, ConnectorOptions] = {}
    disabled = set()
    for system, table in systems.items():
        if system not in SYSTEMS:
            raise ConfigFileError(f"{where}: systems.{system}: unknown system; known: {', '.join(SYSTEMS)}")
        if not isinstance(table, dict):
            raise ConfigFileError(f"{where}: systems.{system}: must be a table")
        _only(table, _SYSTEM_KEYS, where, f"systems.{system}.")
        custom = _typed(table, "custom_fields", dict, {}, where, f"systems.{system}.")
        overlap = _typed(table, "overlap_seconds", int, 300, where, f"systems.{system}.")
        if not _typed(table, "enabled", bool, True, where, f"systems.{system}."):
            disabled.add(system)
        options[system] = ConnectorOptions(
            default_region=region,
            custom_fields={str(k): str(v) for k, v in custom.items()},
            overlap=timedelta(seconds=overlap),
        )
    rules = _typed(data, "rules", str, "", where)
    return Config(
        state_dir=state,
        rules_path=Path(rules) if rules else None,
        database=_typed(data, "database", str, "", where) or env.get("SYNCENGINE_DATABASE_URL") or None,
        default_region=region,
        full_scan_every=_typed(data, "full_scan_every", int, 24, where),
        options=options,
        disabled=frozenset(disabled),
        source=path,
    )


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"not UTF-8 (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); save it as UTF-8"


def _only(table: Mapping[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigFileError(
            f"{where}: {prefix}{unknown[0]}: unknown key; known: {', '.join(sorted(allowed))}"
        )


def _typed(table: Mapping[str, Any], key: str, kind: type, default: Any, where: str, prefix: str = "") -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigFileError(f"{where}: {prefix}{key}: must be {kind.__name__}, got {value!r}")
    return value
