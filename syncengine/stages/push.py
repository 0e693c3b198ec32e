"""Push: a batch's ops through the outbox (``push.Pusher``); a preview instead lists what each
system would refuse or leave out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

from syncengine.mirror import Owed, RecordProblem
from syncengine.plan import Plan
from syncengine.push import Pusher, PushOutcome, ResultHook
from syncengine.stages.context import RunContext


def push(ctx: RunContext, plan: Plan, held: Mapping[str, str], on_result: ResultHook | None) -> PushOutcome:
    """``held``: systems nothing is written to (mass-change guard) -> why."""
    sent = [p for p in plan.ops if p.op.system not in held]
    # Owed until the commit settles them: a kill anywhere in the push leaves the entities to the
    # next run, including the systems not reached yet.
    ctx.mirror.owe(
        Owed(p.op.entity_id, p.op.system, "planned", f"{p.op.kind} planned in run {ctx.run_id}", ctx.run_id)
        for p in sent
        if p.op.entity_id
    )
    outcome = Pusher(ctx.mirror, ctx.connectors, run_id=ctx.run_id).push(sent, on_result=on_result)
    for planned in plan.ops:
        if planned.op.system in held:
            outcome.failed[planned.op.op_id] = held[planned.op.system]
    return outcome


def foresee(ctx: RunContext, plan: Plan) -> None:
    """A preview lists the writes a system will refuse before anything is sent (a value its API
    cannot take), so it counts the errors the run would report."""
    for planned in plan.ops:
        connector = ctx.connectors[planned.op.system]
        error = connector.refusal(planned.op)
        if error is not None:
            refused = [(error, f"would be refused: {error}")]
        else:  # written, but for the fields (or set members) the system cannot take
            refused = [(e, f"would leave out {e.field}: {e}") for e in connector.left_out(planned.op)]
        plan.problems.extend(
            RecordProblem(
                system=planned.op.system,
                message=f"{planned.op.kind} of {planned.who} {text}",
                remote_id=planned.op.remote_id,
                entity_id=planned.op.entity_id,
                field=e.field,
            )
            for e, text in refused
        )


# Kept per batch only: the records as written are stored in the mirror by then.
_PER_BATCH = {"records", "written"}
# What went through, kept in the run's total only when it keeps every op.
_WENT_THROUGH = {"confirmed", "created", "linked_existing"}


def absorb(total: PushOutcome, part: PushOutcome, *, keep_all: bool = True) -> None:
    """Add a batch's outcome to the run's; without ``keep_all``, the ops that went through are
    counted, not kept, so the run's memory does not grow with what it writes."""
    if not keep_all:
        total.confirmed_not_kept += len(part.confirmed)
    for f in fields(PushOutcome):
        if f.name in _PER_BATCH or (not keep_all and f.name in _WENT_THROUGH):
            continue
        mine, theirs = getattr(total, f.name), getattr(part, f.name)
        if isinstance(mine, set):
            mine |= theirs
        elif isinstance(mine, dict):
            mine.update(theirs)
        elif isinstance(mine, list):
            mine.extend(theirs)
        elif isinstance(mine, int | float):
            setattr(total, f.name, mine + theirs)
