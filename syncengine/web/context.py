"""What every page and action of one server shares: where the state is, how to open it, the last
previews shown, and the rate budget each system had left after the app's last call to it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncengine.actions import SyncOutcome
from syncengine.config import Config, environment, load_config
from syncengine.connectors.base import Connector
from syncengine.connectors.registry import build_connectors
from syncengine.connectors.settings import Settings, load_settings
from syncengine.mirror import Mirror
from syncengine.mirror.db import resolve
from syncengine.mirror.pages import PageReader
from syncengine.undo import UndoPlan
from syncengine.workspace import SIMULATOR_STATE, Workspace, open_workspace

PREVIEWS_KEPT = 6  # previews a tab can still page through or approve
LOCK_WAIT = 30.0  # seconds an action waits for another (a tab, a CLI run) to release the state


@dataclass
class WebContext:
    state_dir: Path | None
    config_path: Path | None
    config: Config
    mirror: Mirror  # for reads: the same queries the command line makes
    pages: PageReader  # for the paginated lists
    env: Mapping[str, str]
    previews: OrderedDict[str, SyncOutcome] = field(default_factory=OrderedDict)
    undos: OrderedDict[str, UndoPlan] = field(default_factory=OrderedDict)
    _grouped: OrderedDict[str, Any] = field(default_factory=OrderedDict)  # a preview's contacts
    _readers: dict[str, Connector] | None = None
    budgets: dict[str, tuple[datetime, dict[str, int]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, state_dir: Path | None, config_path: Path | None) -> WebContext:
        env = environment(None)
        config = load_config(config_path, state_dir=state_dir, env=env)
        config.state_dir.mkdir(parents=True, exist_ok=True)
        mirror = Mirror.open(config.database, state_dir=config.state_dir)
        reader = PageReader(resolve(config.database, config.state_dir))
        return cls(state_dir, config_path, config, mirror, reader, env)

    def close(self) -> None:
        for connector in (self._readers or {}).values():
            connector.close()
        self.pages.close()
        self.mirror.close()

    @property
    def settings(self) -> Settings:
        return load_settings(self.env)

    @property
    def sandbox(self) -> bool:
        """No credentials set: the bundled simulators, whose data is kept in the state directory."""
        return not self.settings.configured

    @property
    def sandbox_ready(self) -> bool:
        return self.sandbox and (self.config.state_dir / SIMULATOR_STATE).exists()

    def workspace(self, *, lock: bool = False, simulate: bool = True, command: str = "serve") -> Workspace:
        """A workspace as a command opens it: with ``simulate``, the bundled simulators when no
        credentials are set; ``lock``: the action writes, so it holds the state lock (waiting for
        another holder)."""
        return open_workspace(
            state_dir=self.state_dir, config_path=self.config_path, simulate_when_unconfigured=simulate,
            lock=lock, wait=LOCK_WAIT if lock else 0.0, command=command,
        )  # fmt: skip

    # ------------------------------------------------------------------ what tabs come back to

    def keep_preview(self, outcome: SyncOutcome) -> str:
        return _keep(self.previews, outcome.fingerprint, outcome, self._lock)

    def grouped(self, outcome: SyncOutcome, group: Callable[[SyncOutcome], Any]) -> Any:
        """``group(outcome)``, computed once per preview kept."""
        found = self._grouped.get(outcome.fingerprint)
        if found is None:
            found = group(outcome)
            _keep(self._grouped, outcome.fingerprint, found, self._lock)
        return found

    def field_maps(self) -> Mapping[str, Connector]:
        """The configured systems' connectors, to read stored records through their field maps
        (nothing is sent: no catalogue is loaded)."""
        with self._lock:
            if self._readers is None:
                built = build_connectors(self.settings, self.config.options, proactive_limits=False)
                self._readers = {s: c for s, c in built.items() if s not in self.config.disabled}
            return self._readers

    def keep_undo(self, fingerprint: str, plan: UndoPlan) -> str:
        return _keep(self.undos, fingerprint, plan, self._lock)

    def note_budgets(self, connectors: Mapping[str, Any]) -> None:
        from syncengine.web.budget import budget_left

        now = datetime.now(UTC)
        for system, connector in connectors.items():
            left = budget_left(connector)
            if left:
                self.budgets[system] = (now, left)


def _keep(store: OrderedDict[str, Any], key: str, value: Any, lock: threading.Lock) -> str:
    with lock:
        store[key] = value
        store.move_to_end(key)
        while len(store) > PREVIEWS_KEPT:
            store.popitem(last=False)
    return key
