"""Everything one command needs: configuration, the state mirror, the rules and the connectors.

When no system has credentials, the bundled simulators stand in for the CRMs (with sample contacts,
their data kept in the state directory), so a new user sees the whole product with nothing set.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from syncengine.config import Config, environment, load_config
from syncengine.connectors.base import Connector
from syncengine.connectors.http import WaitCallback
from syncengine.connectors.registry import build_connectors
from syncengine.connectors.settings import Settings, load_settings
from syncengine.mirror import Mirror
from syncengine.mirror.db import resolve
from syncengine.rules import Rules, load_rules
from syncengine.sim.runner import SimCluster
from syncengine.state_lock import hold_state

SIMULATOR_CONTACTS = 200
SIMULATOR_STATE = "simulators.json"


@dataclass
class Workspace:
    config: Config
    settings: Settings
    rules: Rules
    mirror: Mirror
    simulated: bool = False
    _stack: ExitStack = field(default_factory=ExitStack)
    client_budget: bool = True

    def connectors(self, *, on_wait: WaitCallback | None = None) -> dict[str, Connector]:
        # The bundled simulators run without rate limits, so the client-side budget is off too; so
        # it is with SYNCENGINE_CLIENT_BUDGET=off (an account with other limits than the documented
        # ones, or simulators started with --no-rate-limits): 429s and rate-limit headers still pace.
        budget = not self.simulated and self.client_budget
        built = build_connectors(self.settings, self.config.options, on_wait=on_wait, proactive_limits=budget)
        for connector in built.values():
            self._stack.callback(connector.close)
        return {s: c for s, c in built.items() if s not in self.config.disabled}

    def close(self) -> None:
        # The mirror closes before the lock is released, so the next holder sees every commit.
        self.mirror.close()
        self._stack.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workspace(
    *,
    state_dir: Path | None = None,
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    simulate_when_unconfigured: bool = False,
    lock: bool = False,
    wait: float = 0.0,
    command: str = "",
    config: Config | None = None,
) -> Workspace:
    """Open the state and settings; with ``simulate_when_unconfigured`` and no credentials set,
    start the bundled simulators and point the settings at them.

    ``lock``: the command writes the state or a CRM, so it holds the state's exclusive lock until
    the workspace closes (``StateBusyError`` after ``wait`` seconds). The lock is taken before the
    bundled simulators load their data, which is part of the state in sandbox mode; a command
    without the lock never saves the simulators' data back.

    ``config``: already read (a pairing's, see ``syncengine.worker``), instead of ``config_path``."""
    env = environment(env)
    config = config or load_config(config_path, state_dir=state_dir, env=env)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings(env)
    stack = ExitStack()
    try:
        if lock:
            location = resolve(config.database, config.state_dir)
            stack.enter_context(hold_state(location, wait=wait, command=command))
        simulated = False
        if simulate_when_unconfigured and not settings.configured:
            cluster = SimCluster(
                contacts=SIMULATOR_CONTACTS,
                state_file=config.state_dir / SIMULATOR_STATE,
                rate_limits=False,
                env={},
                save_on_stop=lock,
            )
            stack.enter_context(cluster)
            settings = load_settings(cluster.environment())
            simulated = True
        rules = load_rules(config.rules_path)
        mirror = Mirror.open(config.database, state_dir=config.state_dir)
    except BaseException:
        stack.close()
        raise
    budget = env.get("SYNCENGINE_CLIENT_BUDGET", "on").strip().lower() not in ("off", "0", "false", "no")
    return Workspace(config, settings, rules, mirror, simulated, stack, budget)
