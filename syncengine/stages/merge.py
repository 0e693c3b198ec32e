"""Merge: each field of each entity against its base, under the rules (``merge.merge_entity``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncengine.merge import EntityMerge, Resolution, Side, merge_entity
from syncengine.stages.context import RunContext
from syncengine.stages.load import EntityState


@dataclass(frozen=True)
class Merged:
    state: EntityState
    merge: EntityMerge


def merge(ctx: RunContext, states: Sequence[EntityState]) -> tuple[Merged, ...]:
    wanted = {s.entity_id for s in states}
    resolutions: dict[str, dict[str, Resolution]] = {}
    for conflict in ctx.mirror.pending_resolutions():
        if conflict.entity_id in wanted:
            resolutions.setdefault(conflict.entity_id, {})[conflict.field] = Resolution(
                conflict.resolution_value
            )
    out = []
    for state in states:
        sides = {
            system: {
                name: Side(
                    system,
                    value,
                    state.records[system].remote_updated_at,
                    name in state.invalid.get(system, ()),
                )
                for name, value in state.values[system].items()
                if name in ctx.holds[system]
            }
            for system in state.values
        }
        merged = merge_entity(
            state.base,
            set(state.base),
            sides,
            ctx.rules,
            resolutions=resolutions.get(state.entity_id, {}),
            holds={s: ctx.holds[s] for s in state.values},
            fresh=state.fresh,
        )
        out.append(Merged(state, merged))
    return tuple(out)
