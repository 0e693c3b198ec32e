"""Plan: a batch's decisions become ops (``plan.update_ops``, ``plan.create_ops``), notes and
conflicts. A create a system refuses for a known reason waits instead of being sent, and so does a
write the system refused as a duplicate of another record, while nothing of it has changed."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncengine.canonical import FIELDS, Kind
from syncengine.connectors.base import RemoteRecord
from syncengine.mirror import jsoncodec
from syncengine.plan import Note, Plan, PlannedConflict, PlannedOp, Waiting, create_ops, update_ops, who
from syncengine.push import op_payload
from syncengine.stages.context import RunContext
from syncengine.stages.load import Loaded
from syncengine.stages.merge import Merged

IDENTITY = (Kind.EMAIL, Kind.PHONE)  # the kinds of value a system refuses as another record's


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
        for planned in update_ops(state.entity_id, item.merge, state.links, current, label, expected):
            if not _refused_again(planned, loaded, label, out):
                out.ops.append(planned)
        for planned in create_ops(state.entity_id, values, state.links, active, ctx.holds, ctx.rules, label):
            system = planned.op.system
            if _refused_again(planned, loaded, label, out):
                continue
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


def _refused_again(planned: PlannedOp, loaded: Loaded, label: str, out: Plan) -> bool:
    """Whether ``planned`` would be refused as its system refused an earlier write, with nothing
    changed since: it then waits again, with the first refusal's words and run, instead of
    failing once more in every run that looks at the contact."""
    op = planned.op
    refusal = loaded.refused.get((op.entity_id or "", op.system, op.kind))
    if refusal is None or not _within(op_payload(op), refusal.payload):
        return False
    waiting = Waiting(op.entity_id or "", label, op.system, refusal.detail, None, op.kind, refusal.run_id)
    out.waiting.append(waiting)
    return True


def _within(payload: Mapping[str, Any], refused: Mapping[str, Any]) -> bool:
    """Whether ``payload`` writes nothing the ``refused`` write did not, and still writes every
    address and number of it (one of which collided). A part of a refused write may have gone
    through another way since (tags are added by an endpoint of their own), so what is left to
    write can be a part of it."""
    values, before = payload.get("values", {}), refused.get("values", {})
    if any(name not in before or _json(value) != _json(before[name]) for name, value in values.items()):
        return False
    if any(FIELDS[name].kind in IDENTITY for name in before if name in FIELDS and name not in values):
        return False
    return all(
        set(payload.get(part, {}).get(name, ())) <= set(refused.get(part, {}).get(name, ()))
        for part in ("add", "remove")
        for name in payload.get(part, {})
    )


def _json(value: Any) -> str:
    return jsoncodec.dumps(value, what="an op's payload")


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
