"""The sync the worker runs: one engine run of the queued contacts, under the pairing's lock.

With targets the engine reads only those records (``Connector.fetch_many``), leaves the other
systems' mirrored records standing for them and moves no cursor; everything else is a run like a
scheduled one: rules, conflicts, outbox, budgets, history. ``None`` is the scheduled poll, and
also what runs while a system was never pulled into this state. The lock is the state lock every
writing command holds (``state_lock.hold_state``), so a targeted sync never overlaps a ``sync``,
``run`` or ``resolve`` of the same state: it waits up to ``wait`` seconds, then the contacts stay
queued for the worker's next try.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

from syncengine.connectors.base import Connector
from syncengine.mirror.db import resolve
from syncengine.state_lock import hold_state
from syncengine.sync import Engine, RunReport
from syncengine.workspace import Workspace

Targets = Mapping[str, Sequence[str]]


class TargetedSyncError(Exception):
    """A targeted run could not read the contacts it was for; they stay queued."""


class EngineSync:
    """``sync(targets)`` over a workspace. ``hold_lock`` False: the caller already holds the state
    lock for as long as this object is used (the sandbox, whose simulators are part of the state)."""

    def __init__(
        self,
        ws: Workspace,
        *,
        hold_lock: bool = True,
        wait: float = 30.0,
        on_report: Callable[[RunReport, Targets | None], None] | None = None,
    ) -> None:
        self.ws = ws
        self.hold_lock = hold_lock
        self.wait = wait
        self.on_report = on_report
        self._connectors: dict[str, Connector] | None = None

    def __call__(self, targets: Targets | None) -> RunReport:
        with ExitStack() as held:
            if self.hold_lock:
                location = resolve(self.ws.config.database, self.ws.config.state_dir)
                held.enter_context(hold_state(location, wait=self.wait, command="webhooks"))
            connectors = self.connectors()
            region = self.ws.config.default_region
            engine = Engine(self.ws.mirror, connectors, self.ws.rules, default_region=region)
            if targets is not None and any(self.ws.mirror.get_cursor(s) is None for s in connectors):
                # A system never pulled has no mirrored records to stand for its own: a targeted run
                # would take its people for new ones and create them again. A full first run instead.
                targets = None
            report = _run(engine, targets)
        if self.on_report is not None:
            self.on_report(report, targets)
        unread = {s: report.pull_errors[s] for s in targets or {} if s in report.pull_errors}
        if unread:
            raise TargetedSyncError("; ".join(f"{s}: {e}" for s, e in unread.items()))
        return report

    def connectors(self) -> dict[str, Connector]:
        if self._connectors is None:  # one set for every run: their HTTP clients are reused
            self._connectors = self.ws.connectors()
        return self._connectors


def supports_targets() -> bool:
    """Whether this engine runs targeted syncs (``Engine.run(targets=...)``)."""
    return "targets" in inspect.signature(Engine.run).parameters


def _run(engine: Engine, targets: Targets | None) -> RunReport:
    if targets is None:
        return engine.run()
    run: Callable[..., Any] = engine.run
    if supports_targets():
        report: RunReport = run(targets={s: list(ids) for s, ids in targets.items()})
        return report
    # An engine without targeted runs: an incremental run reads these contacts' changes too.
    fallback: RunReport = run()
    return fallback
