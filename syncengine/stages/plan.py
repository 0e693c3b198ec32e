"""Plan: a batch's decisions become ops (``plan.update_ops``, ``plan.create_ops``), notes and
conflicts. A create a system refuses for a known reason waits instead of being sent."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncengine.canonical import FIELDS
from syncengine.connectors.base import RemoteRecord
from syncengine.plan import Note, Plan, PlannedConflict, Waiting, create_ops, update_ops, who
from syncengine.stages.context import RunContext
from syncengine.stages.load import Loaded
from syncengine.stages.merge import Merged


@dataclass(frozen=True)
class BatchPlan:
    plan: Plan
    merged: tuple[Merged, ...]
    deferred: Mapping[str, str]  # entity -> why it is looked at again next run
    looked_at: frozenset[str]  # entities of the batch (their owed work is settled by its commit)


def plan(
    ctx: RunContext,
    entity_ids: Collection[str],
    loaded: Loaded,
    merged: Sequence[Merged],
    active: Sequence[str],
    creates_in_flight: Collection[tuple[str | None, str]],
) -> BatchPlan:
    """``creates_in_flight``: (entity, system) of creates whose answer was lost and that may still
    land; none is sent again yet."""
    out = Plan(problems=list(loaded.problems))
    deferred = dict(loaded.deferred)
    by_entity = {m.state.entity_id: m for m in merged}
    for entity_id, system, remote_id in loaded.deleted:
        label = who(agreed(by_entity[entity_id])) if entity_id in by_entity else entity_id[:8]
        text = f"deleted in {system} ({remote_id}); the other systems keep the contact"
        out.notes.append(Note(entity_id, label, "", text))
    for entity_id, label, systems in loaded.settling:
        text = (
            f"edited in {', '.join(systems)} less than {ctx.rules.guard.settle_seconds} s ago; "
            "waits for a later run (guard.settle_seconds)"
        )
        out.notes.append(Note(entity_id, label, "", text))
    for item in merged:
        state, decisions = item.state, item.merge.decisions
        values = agreed(item)
        label = who(values)
        expected = {
            system: RemoteRecord(system, r.remote_id, r.raw, r.remote_updated_at)
            for system, r in state.records.items()
        }
        current = {s: dict(v) for s, v in state.values.items()}
        out.ops.extend(update_ops(state.entity_id, item.merge, state.links, current, label, expected))
        for planned in create_ops(state.entity_id, values, state.links, active, ctx.holds, ctx.rules, label):
            system = planned.op.system
            if (state.entity_id, system) in creates_in_flight:
                deferred[state.entity_id] = (
                    f"create in {system} held back: an earlier create's answer was lost"
                )
                text = (
                    f"not created in {system} yet: an earlier create's answer was lost and it may "
                    "still land; it is looked for before anything is created again"
                )
                out.notes.append(Note(state.entity_id, label, "", text))
                continue
            refused = ctx.connectors[system].refusal(planned.op)
            if refused is not None:
                out.waiting.append(Waiting(state.entity_id, label, system, str(refused), refused.field))
                continue
            out.ops.append(planned)
        for name, decision in decisions.items():
            if decision.conflict is not None:
                out.conflicts.append(PlannedConflict(state.entity_id, label, decision.conflict))
            out.notes.extend(Note(state.entity_id, label, name, text) for text in decision.notes)
    return BatchPlan(
        out, tuple(merged), deferred, frozenset(e for e in entity_ids if not e.startswith("new-"))
    )


def agreed(item: Merged) -> dict[str, Any]:
    """The entity's values after the run: each field's target, else any system's value."""
    values: dict[str, Any] = {}
    for system_values in item.state.values.values():
        for name, value in system_values.items():
            values.setdefault(name, value)
    for name, decision in item.merge.decisions.items():
        if decision.conflict is None or not decision.conflict.open:
            values[name] = decision.target
    return {k: values[k] for k in FIELDS if k in values}
