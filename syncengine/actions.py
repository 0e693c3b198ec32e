"""What a person decides, for the command line and the web app alike: run or preview a sync, settle
conflicts, undo a run.

Each function is the one place its decision is taken; ``syncengine.commands`` prints its outcome and
``syncengine.web`` renders it. A function that writes expects its caller to hold the state lock
(``syncengine.state_lock.hold_state``, which ``open_workspace(lock=True)`` takes), and checks inside it
that what it acts on is still as the person saw it: an open conflict, the same planned writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from syncengine.connectors.base import Connector, HttpCall
from syncengine.connectors.errors import StopSystemError
from syncengine.connectors.http import WaitCallback
from syncengine.mirror import Conflict, Mirror, NotFoundError, Owed, RecordProblem
from syncengine.sync import Engine, RunReport
from syncengine.undo import UndoPlan, UndoResult, apply_undo, plan_undo
from syncengine.workspace import Workspace

Calls = dict[str, list[HttpCall]]  # op id -> the HTTP calls that carry it


class ActionError(Exception):
    """An action that cannot be taken as asked (unknown or settled conflict, unknown run); nothing
    was written. The message says what to do instead."""


# ---------------------------------------------------------------------- sync


@dataclass(frozen=True)
class SyncOutcome:
    report: RunReport
    calls: Calls

    @cached_property
    def fingerprint(self) -> str:
        return plan_fingerprint(self.report)


def run_sync(
    ws: Workspace,
    *,
    dry_run: bool,
    full: bool = False,
    allow_mass_change: bool = False,
    progress: Any = None,
    connectors: Mapping[str, Connector] | None = None,
    keep_ops: bool = True,
) -> SyncOutcome:
    """One sync cycle (or its preview) over the workspace's systems, with the calls each op makes.

    ``progress``: a ``SyncProgress`` (its ``on_wait`` then reports rate-limit waits);
    ``connectors``: the workspace's, when the caller wants to look at them afterwards;
    ``keep_ops``: False when only the summary is shown (``Engine.run``)."""
    if connectors is None:
        connectors = ws.connectors(on_wait=progress.on_wait if progress is not None else None)
    if not connectors:
        raise StopSystemError(
            "no system is configured: set APOLLO_API_KEY, LEADCONNECTOR_TOKEN and LEADCONNECTOR_LOCATION_ID, "
            "or CORPORATEMERCH_TOKEN (or run without any to use the bundled simulators)"
        )
    engine = Engine(
        ws.mirror, connectors, ws.rules, default_region=ws.config.default_region,
        progress=progress,
    )  # fmt: skip
    report = engine.run(dry_run=dry_run, full=full, allow_mass_change=allow_mass_change, keep_ops=keep_ops)
    calls: Calls = {}
    for system, connector in connectors.items():
        ops = [p.op for p in report.plan.ops_for(system)]
        if ops:
            for call in connector.describe(ops):
                for op_id in call.op_ids:
                    calls.setdefault(op_id, []).append(call)
    return SyncOutcome(report, calls)


def plan_fingerprint(report: RunReport) -> str:
    """A digest of the writes a plan makes (system, op, record, entity and values; not the op ids,
    which are new at every preview): equal for two previews that would write the same."""
    ops = sorted(
        json.dumps(
            [p.op.system, p.op.kind, p.op.remote_id, p.op.entity_id, dict(p.op.values),
             {k: sorted(v) for k, v in p.op.add.items()}, {k: sorted(v) for k, v in p.op.remove.items()}],
            sort_keys=True, default=str, ensure_ascii=False,
        )
        for p in report.plan.ops
    )  # fmt: skip
    return hashlib.sha256("\n".join(ops).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Approval:
    """The sync a person approved: ``ran`` when its writes were those shown; otherwise ``outcome`` is
    the new preview to show instead, and nothing was written."""

    ran: bool
    outcome: SyncOutcome


def approve_sync(
    ws: Workspace,
    shown: str,
    *,
    allow_mass_change: bool = False,
    connectors: Mapping[str, Connector] | None = None,
) -> Approval:
    """Run the sync whose preview had fingerprint ``shown``, if it still plans the same writes.

    The caller holds the state lock, so no other run, resolution or undo moves the state between
    this preview and the run."""
    preview = run_sync(ws, dry_run=True, connectors=connectors)
    if preview.fingerprint != shown:
        return Approval(False, preview)
    done = run_sync(ws, dry_run=False, allow_mass_change=allow_mass_change, connectors=connectors)
    return Approval(True, done)


# ---------------------------------------------------------------------- conflicts


@dataclass(frozen=True)
class Settled:
    conflict_id: int
    field: str
    value: Any
    resolved_by: str


def parse_value(text: str) -> Any:
    """A typed value: JSON for a list or an object (``["a", "b"]``), anything else as the text."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, list | dict) else text


def choose_conflicts(mirror: Mirror, *, conflict_id: int | None, field: str | None) -> list[Conflict]:
    """The conflict ``conflict_id``, or every open conflict on ``field``; each still open."""
    try:
        chosen = (
            [mirror.get_conflict(conflict_id)]
            if conflict_id is not None
            else mirror.conflicts(status="open", field=field)
        )
    except NotFoundError as exc:
        raise ActionError(f"no conflict {conflict_id}: `syncengine conflicts` lists the open ones") from exc
    if not chosen:
        raise ActionError(f"no open conflict on field {field!r}: see `syncengine conflicts`")
    for conflict in chosen:
        if conflict.status != "open":
            raise ActionError(f"conflict {conflict.id} is already {conflict.status}")
    return chosen


def settle_conflicts(
    mirror: Mirror,
    *,
    conflict_id: int | None = None,
    field: str | None = None,
    take: str | None = None,
    value: Any = None,
) -> list[Settled]:
    """Settle one conflict, or all open ones on ``field``, with system ``take``'s value or with
    ``value``; the next sync writes it. Checks every conflict before settling any."""
    chosen = choose_conflicts(mirror, conflict_id=conflict_id, field=field)
    if take is not None:
        for conflict in chosen:
            if take not in conflict.values:
                sides = ", ".join(conflict.values)
                raise ActionError(f"conflict {conflict.id}: {take} is not one of {sides}")
    settled = []
    for conflict in chosen:
        if take is not None:
            chosen_value, by = conflict.values[take], f"person: took {take}"
        else:
            chosen_value, by = value, "person: set value"
        mirror.resolve_conflict(conflict.id, chosen_value, resolved_by=by)
        settled.append(Settled(conflict.id, conflict.field, chosen_value, by))
    return settled


# ---------------------------------------------------------------------- undo


def preview_undo(ws: Workspace, run_id: int, *, on_wait: WaitCallback | None = None) -> UndoPlan:
    """What undoing ``run_id`` writes back, read from the systems now; writes nothing."""
    try:
        return plan_undo(ws.mirror, ws.connectors(on_wait=on_wait), run_id)
    except NotFoundError as exc:
        raise ActionError(f"unknown run {run_id}: see `syncengine status` for the runs ({exc})") from exc


def write_undo(ws: Workspace, plan: UndoPlan, *, on_wait: WaitCallback | None = None) -> UndoResult:
    """Write ``plan`` back (the caller holds the state lock)."""
    return apply_undo(ws.mirror, ws.connectors(on_wait=on_wait), plan)


def undo_fingerprint(plan: UndoPlan) -> str:
    """A digest of what an undo writes back, per record and field."""
    rows = sorted(
        json.dumps([r.system, r.remote_id, r.entity_id, r.restores], sort_keys=True, default=str)
        for r in plan.writes
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:32]


def undone_by(mirror: Mirror, run_id: int, runs: Sequence[Any] | None = None) -> int | None:
    """The run that undid ``run_id`` with writes, if any (among the newest 500 runs)."""
    for run in runs if runs is not None else mirror.recent_runs(500):
        if run.counts.get("undo_of") == run_id and run.counts.get("confirmed"):
            return int(run.id)
    return None


@dataclass(frozen=True)
class UndoApproval:
    ran: bool
    plan: UndoPlan
    result: UndoResult | None = None


def approve_undo(ws: Workspace, run_id: int, shown: str) -> UndoApproval:
    """Undo ``run_id`` if the undo still writes back what the preview with fingerprint ``shown``
    did and no other undo of it wrote since; else return the new preview, having written nothing.
    The caller holds the state lock."""
    if (by := undone_by(ws.mirror, run_id)) is not None:
        raise ActionError(f"run {run_id} was already undone by run {by}")
    plan = preview_undo(ws, run_id)
    if undo_fingerprint(plan) != shown:
        return UndoApproval(False, plan)
    return UndoApproval(True, plan, write_undo(ws, plan))


# ---------------------------------------------------------------------- the errors inbox

RETRY = "retry"  # the owed reason of a retry a person asked for


@dataclass(frozen=True)
class Traced:
    """What an errors-inbox action did: the contacts it touched and the trace it left."""

    entity_ids: tuple[str, ...]
    trace: str


def _trace(mirror: Mirror, system: str, message: str, *, entity_id: str | None = None,
           remote_id: str | None = None) -> None:  # fmt: skip
    # A record error without a run: kept with the others, never counted as a run's error.
    mirror.add_record_error(system or "-", message, entity_id=entity_id, remote_id=remote_id)


def retry_owed(mirror: Mirror, entries: Sequence[Owed], *, why: str) -> Traced:
    """Have the next sync take up these contacts again (an owed ``retry`` row each, which its
    commit settles), and leave a trace. The caller holds the state lock."""
    entities = sorted({o.entity_id for o in entries})
    if not entities:
        raise ActionError("nothing to retry: the work is no longer owed (a sync may have done it)")
    mirror.owe(
        Owed(o.entity_id, o.system, RETRY, f"retry asked by a person (was {o.reason}: {o.detail})"[:2000])
        for o in entries
    )
    _trace(mirror, entries[0].system if len({o.system for o in entries}) == 1 else "",
           f"retry asked: {why}", entity_id=entities[0] if len(entities) == 1 else None)  # fmt: skip
    return Traced(tuple(entities), f"retry asked: {why}")


def dismiss_owed(mirror: Mirror, entry: Owed) -> Traced:
    """Drop owed work a person decided is not to be done, leaving a trace. The caller holds the lock."""
    mirror.settle_owed([entry.entity_id], reasons=[entry.reason])
    message = f"dismissed owed work ({entry.reason}): {entry.detail}"[:2000]
    _trace(mirror, entry.system, message, entity_id=entry.entity_id)
    return Traced((entry.entity_id,), message)


def dismiss_error(mirror: Mirror, problem: RecordProblem) -> Traced:
    """Hide a record error from the inbox; the trace row names it (``mirror.pages.DISMISSED``)."""
    from syncengine.mirror.pages import DISMISSED

    _trace(mirror, problem.system, f"{DISMISSED}{problem.id}", entity_id=problem.entity_id,
           remote_id=problem.remote_id)  # fmt: skip
    return Traced((problem.entity_id,) if problem.entity_id else (), f"dismissed: {problem.message}")
