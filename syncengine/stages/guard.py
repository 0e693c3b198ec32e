"""The mass-change guard on writes: a run that would clear a value in too many of a system's
contacts at once writes nothing to that system (``rules.guard``)."""

from __future__ import annotations

from collections.abc import Mapping

from syncengine.canonical import is_blank
from syncengine.plan import Plan
from syncengine.stages.context import RunContext


def clearing(plan: Plan) -> dict[str, set[str]]:
    """system -> entities whose value in it the plan clears."""
    found: dict[str, set[str]] = {}
    for planned in plan.ops:
        if planned.op.kind == "update" and any(
            is_blank(c.new) and not is_blank(c.old) for c in planned.changes
        ):
            found.setdefault(planned.op.system, set()).add(planned.op.entity_id or "")
    return found


def could_trip(ctx: RunContext, entities: int, linked: Mapping[str, int]) -> bool:
    """Whether a run looking at ``entities`` known contacts could clear too many in some system."""
    return any(ctx.too_many(entities, linked.get(system, 0)) for system in ctx.connectors)


def held(ctx: RunContext, cleared: Mapping[str, int], linked: Mapping[str, int]) -> dict[str, str]:
    """system -> why nothing is written to it, for the systems whose contacts would lose too many values."""
    out: dict[str, str] = {}
    for system, count in sorted(cleared.items()):
        out_of = linked.get(system, 0)
        if ctx.too_many(count, out_of):
            out[system] = (
                f"held by the mass-change guard: this run would clear values in {count} of "
                f"{out_of} {system} contacts (more than {ctx.rules.guard.max_share:.0%}); nothing was "
                f"written to {system}. Check the changes (syncengine plan), then run "
                "`syncengine sync --allow-mass-change` if they are meant"
            )
    return out
