"""Commit: in one transaction per batch, move the base for confirmed writes, record history and
conflicts, and store what is owed (failed writes, deferrals, waiting creates) in place of what the
batch looked at. A kill loses at most the batch in flight; the outbox covers its writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncengine.canonical import same
from syncengine.merge import UNCHANGED, FieldDecision
from syncengine.mirror import HistoryEntry, Owed, SeenConflict
from syncengine.plan import PlannedOp
from syncengine.push import PushOutcome
from syncengine.stages.context import RunContext
from syncengine.stages.plan import BatchPlan
from syncengine.stages.select import WAITING


def commit(ctx: RunContext, batch: BatchPlan, push: PushOutcome, deferred: Mapping[str, str]) -> None:
    """``deferred``: the batch's entities a later run looks at again, and why."""
    run_id, plan = ctx.run_id, batch.plan
    owed = [
        Owed(p.op.entity_id, p.op.system, WAITING, f"{p.op.kind} refused: {push.failed[p.op.op_id]}", run_id)
        if p.op.op_id in push.duplicates
        else Owed(
            p.op.entity_id, p.op.system, "failed", f"{p.op.kind} failed: {push.failed[p.op.op_id]}", run_id
        )
        for p in plan.ops
        if p.op.op_id in push.failed and p.op.entity_id
    ]
    # A write refused again keeps its first run: that run's outbox holds the op it was refused.
    owed.extend(Owed(w.entity_id, w.system, WAITING, w.reason, w.run_id or run_id) for w in plan.waiting)
    ops_by_entity: dict[str, list[PlannedOp]] = {}
    for planned in plan.ops:
        ops_by_entity.setdefault(planned.op.entity_id or "", []).append(planned)
    new_base: dict[str, dict[str, Any]] = {}
    history: list[HistoryEntry] = []
    states = {m.state.entity_id: m for m in batch.merged}
    seen: list[SeenConflict] = []
    unsent: dict[str, set[str]] = {}
    for w in plan.waiting:
        if w.kind != "create":
            unsent.setdefault(w.entity_id, set()).add(w.system)
    with ctx.mirror.transaction():
        for entity_id, item in states.items():
            state, merged = item.state, item.merge
            written = ops_by_entity.get(entity_id, [])
            # Fields a confirmed write left out (the system cannot take the value): the base
            # does not move for them and no history says they were written; they stay owed.
            left: dict[tuple[str, str], PlannedOp] = {}
            for planned in written:
                for name, why in push.left_out.get(planned.op.op_id, {}).items():
                    left[(planned.op.system, name)] = planned
                    owed.append(Owed(entity_id, planned.op.system, "left_out", f"{name}: {why}", run_id))
            for planned in written:
                if planned.op.op_id in push.confirmed and planned.op.kind == "update":
                    history.extend(
                        HistoryEntry(entity_id, c.field, c.old, c.new, c.reason, planned.op.system, run_id)
                        for c in planned.changes
                        if (planned.op.system, c.field) not in left
                    )
            failed_systems = {p.op.system for p in written if p.op.op_id in push.failed}
            # A write that waits (refused before, not sent again) moves no base either: the system
            # still holds its old value, which would otherwise read as a change next run.
            failed_systems |= unsent.get(entity_id, set())
            fields: dict[str, Any] = {}
            for name, decision in merged.decisions.items():
                if decision.conflict is not None:
                    seen.append(_seen(entity_id, decision))
                if set(decision.writes) & failed_systems or decision.new_base is UNCHANGED:
                    continue
                if any((s, name) in left for s in decision.writes):
                    continue
                if name in state.base and same(name, state.base[name], decision.new_base):
                    continue
                fields[name] = decision.new_base
                if name not in state.base:
                    continue  # a first agreement overwrote nothing: the writes to systems say what it did
                history.append(
                    HistoryEntry(
                        entity_id,
                        name,
                        state.base.get(name),
                        decision.new_base,
                        decision.reason,
                        None,
                        run_id,
                    )
                )
            for (system, name), planned in left.items():
                record = push.written.get(planned.op.op_id)
                if planned.op.kind == "create" and record is not None:
                    # A new record without the value: agree on what it holds, or the next run
                    # would read its blank (or smaller set) as a person's removal and spread it.
                    held = ctx.connectors[system].to_canonical(record).values.get(name)
                    fields[name] = held
                    why = f"left out of the create in {system}"
                    history.append(
                        HistoryEntry(entity_id, name, state.base.get(name), held, why, None, run_id)
                    )
            if fields:
                new_base[entity_id] = fields
            open_fields = {n for n, d in merged.decisions.items() if d.conflict and d.conflict.open}
            holders = set(state.links) | {p.op.system for p in written}
            again, own = _read_back(ctx, written, push, {**state.base, **fields}, open_fields, holders)
            if own:
                new_base.setdefault(entity_id, {}).update(own)
            if again:
                owed.append(
                    Owed(entity_id, "", "read_back", "a system answered with a value of its own", run_id)
                )
            # A newly linked record whose fill did not go through stays "new" until one does.
            owed.extend(
                Owed(entity_id, system, "unfilled", f"linked; its blanks are filled once a write to "
                     f"{system} goes through", run_id)
                for system in failed_systems if system in state.fresh
            )  # fmt: skip
        ctx.mirror.record_conflicts(seen, run_id=run_id)
        ctx.mirror.set_base_many(new_base, run_id=run_id)
        for conflict in ctx.mirror.pending_resolutions():
            moved = new_base.get(conflict.entity_id, {})
            if conflict.entity_id in states and conflict.field in moved:
                ctx.mirror.mark_resolution_applied(conflict.id, run_id=run_id)
        ctx.mirror.add_history(history)
        ctx.mirror.add_record_errors(plan.problems)
        # Entities the batch looked at are settled, except for what it leaves owed. One it put
        # off (deferred) keeps what it owed, which this run did not do. Unfinished creates of a
        # system keep their entity owed until they are found or given up.
        ctx.mirror.settle_owed((batch.looked_at | set(states)) - set(deferred))
        owed.extend(Owed(e, "", "deferred", why, run_id) for e, why in deferred.items())
        mine = batch.looked_at | set(states)
        owed.extend(
            Owed(op.entity_id, op.system, "unconfirmed_create", "a create whose answer was lost", run_id)
            for op in ctx.mirror.pending()
            if op.kind == "create" and op.entity_id in mine
        )
        ctx.mirror.owe(owed)


def _read_back(
    ctx: RunContext,
    planned: list[PlannedOp],
    push: PushOutcome,
    base: Mapping[str, Any],
    skip: set[str],
    holders: set[str],
) -> tuple[bool, dict[str, Any]]:
    """Compare what systems answered confirmed writes with the new base. A system may fill in
    values of its own (Apollo's owner and stage on create). Where no other system holds the
    field, that value simply becomes the base (returned); where one does, the entity is looked
    at again next run (True), so the value reaches the others whether or not a reply got back."""
    again, own = False, {}
    for item in planned:
        record = push.written.get(item.op.op_id)
        if record is None:
            continue
        system = item.op.system
        values = ctx.connectors[system].to_canonical(record).values
        for name in ctx.holds[system] - skip:
            if (name not in values and name not in base) or same(name, values.get(name), base.get(name)):
                continue
            if any(name in ctx.holds.get(other, ()) for other in holders - {system}):
                again = True
            else:
                own[name] = values.get(name)
    return again, own


def _seen(entity_id: str, decision: FieldDecision) -> SeenConflict:
    conflict = decision.conflict
    assert conflict is not None
    return SeenConflict(
        entity_id, decision.field, conflict.base, conflict.values, conflict.policy,
        {s: t for s, t in conflict.changed_at.items() if t},
        None if conflict.open else f"rule:{conflict.policy}", None if conflict.open else decision.target,
    )  # fmt: skip
