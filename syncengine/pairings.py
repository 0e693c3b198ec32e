"""Many pairings in one file: each is one Apollo team, one LeadConnector location and optionally
CorporateMerch, synced by ``syncengine worker`` (``syncengine.worker``).

```toml
[worker]
database = "postgresql://postgres@127.0.0.1:5432/syncengine"  # the queue and the shared budgets
state = "state/pairings"        # a directory: one SQLite database per pairing (<dir>/<pairing>/)
# state = "postgresql"          # or one schema per pairing in `database` (syncengine_<pairing>)
# schema_prefix = "syncengine_" # the start of those schemas' names
schedule = "*/5 * * * *"        # cron (a 6th column counts seconds); each pairing may override it
concurrency = 1                 # jobs one worker process runs at once
stalled_after = 30              # seconds without a heartbeat before a worker's jobs are run again

[pairings.acme]
config = "acme.toml"            # optional: rules, custom fields and region, as syncengine.toml

[pairings.acme.apollo]
api_key_env = "ACME_APOLLO_API_KEY"     # the variable holding the key, never the key itself
team = "acme"                   # optional: pairings naming one team share its rate budget

[pairings.acme.leadconnector]
token_env = "ACME_LC_TOKEN"
location_id = "ve9EPM428h8vShlRW1KT"

[pairings.acme.corporatemerch]  # optional
token_env = "ACME_CM_TOKEN"
```

Credentials come only from the environment, by the names given here; ``database`` may instead be
named by ``database_env`` (default ``SYNCENGINE_DATABASE_URL``). Every system table also takes
``base_url``. Errors name the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from croniter import croniter  # type: ignore[import-untyped]

from syncengine.config import ConfigFileError
from syncengine.connectors.errors import ConfigError
from syncengine.connectors.settings import check_base_url

DEFAULT_SCHEDULE = "*/5 * * * *"
DEFAULT_DATABASE_ENV = "SYNCENGINE_DATABASE_URL"
POSTGRES_STATE = "postgresql"
SCHEMA_PREFIX = "syncengine_"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORKER_KEYS = {
    "database", "database_env", "state", "schema_prefix", "schedule", "concurrency", "stalled_after",
}  # fmt: skip
_PAIRING_KEYS = {"schedule", "config", "apollo", "leadconnector", "corporatemerch"}


@dataclass(frozen=True)
class SystemAccount:
    """One system of a pairing: which variable holds its credential, and which account it is.

    ``account`` keys the rate budget shared by every pairing on the same Apollo team, LeadConnector
    location or CorporateMerch account; ``token_key`` tells a location's tokens apart (the
    LeadConnector burst window counts per token, the daily one per location)."""

    system: str
    secret_env: str
    account: str
    base_url: str | None = None
    location_id: str | None = None

    @property
    def token_key(self) -> str:
        return f"{self.account}/{self.secret_env}"


@dataclass(frozen=True)
class Pairing:
    name: str
    schedule: str
    systems: tuple[SystemAccount, ...]
    config: Path | None = None
    schema_prefix: str = SCHEMA_PREFIX

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding this pairing's state when ``state = "postgresql"``."""
        return self.schema_prefix + self.name.replace("-", "_")

    def system(self, name: str) -> SystemAccount | None:
        return next((s for s in self.systems if s.system == name), None)


@dataclass(frozen=True)
class PairingsConfig:
    source: Path
    database: str
    state: str  # a directory, or "postgresql"
    pairings: tuple[Pairing, ...]
    concurrency: int = 1
    stalled_after: float = 30.0

    def pairing(self, name: str) -> Pairing:
        for pairing in self.pairings:
            if pairing.name == name:
                return pairing
        raise KeyError(name)

    @property
    def state_in_postgres(self) -> bool:
        return self.state == POSTGRES_STATE


# The engine's variables per system: credential, base URL, LeadConnector's location.
_ENGINE_VARIABLES = {
    "apollo": ("APOLLO_API_KEY", "APOLLO_BASE_URL", None),
    "leadconnector": ("LEADCONNECTOR_TOKEN", "LEADCONNECTOR_BASE_URL", "LEADCONNECTOR_LOCATION_ID"),
    "corporatemerch": ("CORPORATEMERCH_TOKEN", "CORPORATEMERCH_BASE_URL", None),
}
_SECRET_KEY = {"apollo": "api_key_env", "leadconnector": "token_env", "corporatemerch": "token_env"}
_ACCOUNT_KEY = {"apollo": "team", "leadconnector": "location_id", "corporatemerch": "account"}


def engine_environment(pairing: Pairing, env: Mapping[str, str], source: Path) -> dict[str, str]:
    """The engine's variables (``APOLLO_API_KEY``...) for ``pairing``, read from ``env`` by the names
    the file gives. A system the pairing leaves out is set blank, so that nothing inherited (the
    process's own variables, a ``.env`` file) adds it; a variable that is not set is an error."""
    out: dict[str, str] = {}
    for system, (secret, url, location) in _ENGINE_VARIABLES.items():
        out[secret] = out[url] = ""
        if location:
            out[location] = ""
        account = pairing.system(system)
        if account is None:
            continue
        value = env.get(account.secret_env, "").strip()
        if not value:
            raise ConfigFileError(
                f"{source}: pairings.{pairing.name}.{system}.{_SECRET_KEY[system]}: the variable "
                f"{account.secret_env} is not set"
            )
        out[secret] = value
        if account.base_url:
            out[url] = account.base_url
        if location and account.location_id:
            out[location] = account.location_id
    return out


def load_pairings(path: Path, env: Mapping[str, str]) -> PairingsConfig:
    """Read and check a pairings file; ``ConfigFileError`` names the file and key of a mistake."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: not UTF-8; save it as UTF-8") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigFileError(f"{path}: {exc}") from exc
    _only(data, {"worker", "pairings"}, path, "")
    worker = _table(data, "worker", path, "")
    _only(worker, _WORKER_KEYS, path, "worker.")
    database_env = _get(worker, "database_env", str, DEFAULT_DATABASE_ENV, path, "worker.")
    database = _get(worker, "database", str, "", path, "worker.") or env.get(database_env, "").strip()
    if not database.startswith(("postgresql://", "postgres://")):
        shown = "is not set" if not database else "must be a postgresql:// URL"
        raise ConfigFileError(
            f"{path}: worker.database: {shown} (the worker's queue lives in PostgreSQL; "
            f"or set {database_env})"
        )
    schedule = _get(worker, "schedule", str, DEFAULT_SCHEDULE, path, "worker.")
    default_schedule = _cron(schedule, path, "worker.")
    concurrency = _get(worker, "concurrency", int, 1, path, "worker.")
    stalled_after = _get(worker, "stalled_after", (int, float), 30, path, "worker.")
    if concurrency < 1 or stalled_after < 2:
        key = "concurrency" if concurrency < 1 else "stalled_after"
        raise ConfigFileError(f"{path}: worker.{key}: must be at least {1 if concurrency < 1 else 2}")
    state = _get(worker, "state", str, "state/pairings", path, "worker.")
    if state != POSTGRES_STATE:
        state = str((path.parent / state) if not Path(state).is_absolute() else Path(state))
    prefix = _get(worker, "schema_prefix", str, SCHEMA_PREFIX, path, "worker.")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,20}", prefix):
        raise ConfigFileError(
            f"{path}: worker.schema_prefix: lower-case letters, digits and _, got {prefix!r}"
        )
    tables = _table(data, "pairings", path, "")
    if not tables:
        raise ConfigFileError(f"{path}: pairings: no pairing is listed (add a [pairings.NAME] table)")
    pairings = tuple(
        _pairing(name, table, default_schedule, path, prefix) for name, table in tables.items()
    )
    schemas = [p.schema for p in pairings]
    for pairing in pairings:
        if schemas.count(pairing.schema) > 1:
            raise ConfigFileError(f"{path}: pairings.{pairing.name}: its name clashes with another's schema")
    return PairingsConfig(path, database, state, pairings, concurrency, float(stalled_after))


def _pairing(name: str, table: Any, default_schedule: str, path: Path, prefix: str) -> Pairing:
    where = f"pairings.{name}."
    if not _NAME.fullmatch(name):
        raise ConfigFileError(f"{path}: pairings.{name}: a name is lower-case letters, digits, - and _")
    if not isinstance(table, dict):
        raise ConfigFileError(f"{path}: pairings.{name}: must be a table")
    _only(table, _PAIRING_KEYS, path, where)
    for required in ("apollo", "leadconnector"):
        if required not in table:
            raise ConfigFileError(f"{path}: {where}{required}: missing (a pairing is one Apollo team and "
                                  "one LeadConnector location)")  # fmt: skip
    systems = tuple(
        _account(system, _table(table, system, path, where), path, f"{where}{system}.")
        for system in _ENGINE_VARIABLES
        if system in table
    )
    config = _get(table, "config", str, "", path, where)
    return Pairing(
        name=name,
        schedule=_cron(_get(table, "schedule", str, default_schedule, path, where), path, where),
        systems=systems,
        config=(path.parent / config) if config else None,
        schema_prefix=prefix,
    )


def _account(system: str, table: dict[str, Any], path: Path, where: str) -> SystemAccount:
    secret_key, account_key = _SECRET_KEY[system], _ACCOUNT_KEY[system]
    _only(table, {secret_key, account_key, "base_url"}, path, where)
    secret_env = _get(table, secret_key, str, "", path, where)
    if not _ENV_NAME.fullmatch(secret_env):
        raise ConfigFileError(
            f"{path}: {where}{secret_key}: the name of an environment variable is required, "
            f"got {secret_env!r}"
        )
    account = _get(table, account_key, str, "", path, where)
    if system == "leadconnector" and not account:
        raise ConfigFileError(f"{path}: {where}location_id: missing")
    base_url = _get(table, "base_url", str, "", path, where) or None
    if base_url:
        try:
            base_url = check_base_url(base_url, system=system, variable="base_url")
        except ConfigError as exc:
            raise ConfigFileError(f"{path}: {where}base_url: {exc}") from exc
    return SystemAccount(
        system=system,
        secret_env=secret_env,
        account=f"{system}:{account or secret_env}",
        base_url=base_url,
        location_id=account if system == "leadconnector" else None,
    )


def _cron(text: str, path: Path, where: str) -> str:
    if not croniter.is_valid(text):
        raise ConfigFileError(
            f"{path}: {where}schedule: {text!r} is not a cron expression, e.g. '*/5 * * * *'"
        )
    return text


def _only(table: Mapping[str, Any], allowed: set[str], path: Path, prefix: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise ConfigFileError(f"{path}: {prefix}{unknown[0]}: unknown key; known: {known}")


def _table(table: Mapping[str, Any], key: str, path: Path, prefix: str) -> dict[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigFileError(f"{path}: {prefix}{key}: must be a table")
    return value


def _get(
    table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any, path: Path, prefix: str
) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        name = kind.__name__ if isinstance(kind, type) else "a number"
        raise ConfigFileError(f"{path}: {prefix}{key}: must be {name}, got {value!r}")
    return value
