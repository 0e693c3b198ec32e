"""``syncengine undo RUN``: write back every value a run overwrote, and restore its base.

The history keeps, per run, the value each system held before the engine wrote to it; undo plans
an update per record that sets those values again (only where the system still holds what the run
wrote, so a person's later edit is never overwritten), pushes it through the outbox and records the
reversal in the history of a new run.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from syncengine.canonical import same
from syncengine.connectors.base import Connector, RemoteRecord, WriteOp
from syncengine.mirror import HistoryEntry, Mirror
from syncengine.plan import FieldChange, PlannedOp
from syncengine.push import Pusher, PushOutcome


def plan_undo(
    mirror: Mirror, connectors: Mapping[str, Connector], run_id: int
) -> tuple[list[PlannedOp], list[str]]:
    """The updates that revert ``run_id``, and notes on what is skipped and why."""
    entries = [e for e in mirror.history(run_id=run_id) if e.system is not None]
    grouped: dict[tuple[str, str], list[HistoryEntry]] = {}
    for entry in entries:
        grouped.setdefault((entry.entity_id, entry.system or ""), []).append(entry)
    planned: list[PlannedOp] = []
    notes: list[str] = []
    for (entity_id, system), items in sorted(grouped.items()):
        remote_id = mirror.links_of(entity_id).get(system)
        connector = connectors.get(system)
        if remote_id is None or connector is None:
            notes.append(f"{system} record of entity {entity_id[:8]}: not linked or not configured, skipped")
            continue
        stored = mirror.get_record(system, remote_id)
        current: dict[str, Any] = {}
        if stored is not None:
            remote = RemoteRecord(system, remote_id, stored.raw, stored.remote_updated_at)
            current = dict(connector.to_canonical(remote).values)
        values: dict[str, Any] = {}
        changes = []
        for entry in items:
            if not same(entry.field, current.get(entry.field), entry.new_value):
                notes.append(f"{system} {remote_id} {entry.field}: changed since run {run_id}, kept")
                continue
            values[entry.field] = entry.old_value
            changes.append(
                FieldChange(entry.field, entry.new_value, entry.old_value, f"undo of run {run_id}")
            )
        if values:
            op = WriteOp(
                uuid.uuid4().hex, system, "update", remote_id=remote_id, values=values, entity_id=entity_id
            )
            planned.append(PlannedOp(op, entity_id[:8], tuple(changes)))
    return planned, notes


def undo_run(
    mirror: Mirror, connectors: Mapping[str, Connector], run_id: int
) -> tuple[PushOutcome, list[str], int]:
    """Revert ``run_id``; returns the push outcome, the notes and the id of the undo run."""
    mirror.get_run(run_id)  # an unknown run raises before anything is written
    planned, notes = plan_undo(mirror, connectors, run_id)
    run = mirror.start_run()
    outcome = Pusher(mirror, connectors, run_id=run.id).push(planned)
    history = [
        HistoryEntry(p.op.entity_id or "", c.field, c.old, c.new, c.reason, p.op.system, run.id)
        for p in planned
        if p.op.op_id in outcome.confirmed
        for c in p.changes
    ]
    base_entries = [e for e in mirror.history(run_id=run_id) if e.system is None]
    reverted_base: dict[str, dict[str, Any]] = {}
    for entry in base_entries:
        reverted_base.setdefault(entry.entity_id, {})[entry.field] = entry.old_value
    with mirror.transaction():
        mirror.add_history(history)
        mirror.set_base_many(reverted_base, run_id=run.id)
    status = "partial" if outcome.failed else "succeeded"
    mirror.finish_run(run.id, status, counts={"undo_of": run_id, "confirmed": len(outcome.confirmed),
                                              "failed": len(outcome.failed)})  # fmt: skip
    return outcome, notes, run.id
