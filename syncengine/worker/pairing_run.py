"""One job's work: sync one pairing, or a few of its contacts, in its own state.

The pairing's credentials are read from the environment by the names its table gives; its state is
its own: a SQLite database in ``<state>/<pairing>/``, or the schema ``syncengine_<pairing>`` of the
worker's database (``state = "postgresql"``). Each run holds the pairing's state lock like any
other writing command, so a manual ``syncengine sync`` on the same state waits its turn too. Every
client's rate limiter also spends the account's budget shared by every worker
(``syncengine.connectors.shared_budget``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from syncengine.config import Config, ConfigFileError, environment, load_config
from syncengine.connectors.base import Connector
from syncengine.connectors.errors import StopSystemError
from syncengine.connectors.ratelimit import RateLimiter
from syncengine.connectors.shared_budget import SharedBudget
from syncengine.pairings import Pairing, PairingsConfig, SystemAccount, engine_environment
from syncengine.sync import Engine, RunReport
from syncengine.workspace import open_workspace

STATE_LOCK_WAIT = 30.0  # seconds a job waits for a manual run holding the pairing's state


@dataclass(frozen=True)
class PairingOutcome:
    """What a job reports back (it is stored as the job's result, so it stays plain)."""

    pairing: str
    run_id: int
    status: str
    ops: int
    open_conflicts: int
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def state_target(config: PairingsConfig, pairing: Pairing) -> tuple[Path, str | None]:
    """The pairing's state directory and, on PostgreSQL, the URL of its schema."""
    if not config.state_in_postgres:
        return Path(config.state) / pairing.name, None
    url = make_url(config.database)
    url = url.update_query_dict({"options": f"-csearch_path={pairing.schema}"})
    # The directory only holds what a state directory holds beside the database (none of the state).
    return config.source.parent / "state" / pairing.name, url.render_as_string(hide_password=False)


def pairing_config(config: PairingsConfig, pairing: Pairing) -> Config:
    """The pairing's engine configuration: its own file (rules, custom fields, region) if it names
    one, never ``./syncengine.toml``; its state where the pairings file puts it."""
    state_dir, database = state_target(config, pairing)
    if pairing.config is None:
        base = Config(state_dir=state_dir)
    else:
        base = load_config(pairing.config, state_dir=state_dir, env={})
        if base.database:
            raise ConfigFileError(
                f"{pairing.config}: database: a pairing's state is set by {config.source} (worker.state)"
            )
    return replace(base, state_dir=state_dir, database=database)


def ensure_schema(config: PairingsConfig, pairing: Pairing) -> None:
    if not config.state_in_postgres:
        return
    import psycopg

    with psycopg.connect(config.database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{pairing.schema}"')


def run_pairing(
    config: PairingsConfig,
    name: str,
    *,
    targets: Mapping[str, Sequence[str]] | None = None,
    env: Mapping[str, str] | None = None,
    command: str = "worker",
) -> PairingOutcome:
    """Sync pairing ``name`` (only the records in ``targets``, per system, when given)."""
    pairing = config.pairing(name)
    base_env = environment(os.environ if env is None else env)
    engine_env = {**base_env, **engine_environment(pairing, base_env, config.source)}
    ensure_schema(config, pairing)
    with ExitStack() as stack:
        ws = stack.enter_context(open_workspace(
            env=engine_env, config=pairing_config(config, pairing), lock=True, wait=STATE_LOCK_WAIT,
            command=f"{command} {name}",
        ))  # fmt: skip
        connectors = ws.connectors()
        if not connectors:
            raise StopSystemError(f"pairing {name}: no system is configured")
        for budget in share_budgets(connectors, pairing, config.database):
            stack.callback(budget.close)
        engine = Engine(ws.mirror, connectors, ws.rules, default_region=ws.config.default_region)
        report = _run(engine, targets)
        return PairingOutcome(
            pairing=name,
            run_id=report.run_id,
            status=report.status,
            ops=len(report.plan.ops),
            open_conflicts=report.open_conflicts,
            errors=report.errors,
        )


def _run(engine: Engine, targets: Mapping[str, Sequence[str]] | None) -> RunReport:
    # A targeted run fetches just those records by id and syncs them as one small batch.
    return engine.run(targets=targets)


def share_budgets(
    connectors: Mapping[str, Connector], pairing: Pairing, url: str
) -> list[SharedBudget]:
    """Make each connector's limiter also spend its account's budget shared by every worker."""
    budgets = []
    for system, connector in connectors.items():
        account = pairing.system(system)
        limiter = getattr(getattr(connector, "client", None), "limiter", None)
        if account is None or not isinstance(limiter, RateLimiter) or not limiter.spec.windows:
            continue  # no documented budget to share (SYNCENGINE_CLIENT_BUDGET=off)
        budget = SharedBudget(url, account.account, scopes=_scopes(account))
        limiter.shared = budget
        budgets.append(budget)
    return budgets


def _scopes(account: SystemAccount) -> dict[str, str]:
    # LeadConnector counts its burst window per token, its daily window per location.
    return {"interval": account.token_key} if account.system == "leadconnector" else {}
