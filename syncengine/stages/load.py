"""Load: one batch of entities with their links, live records, canonical values and base."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from syncengine.connectors.errors import existing_id_of
from syncengine.match import record_keys
from syncengine.mirror import RecordProblem, Refusal, StoredRecord
from syncengine.plan import who
from syncengine.stages.context import RunContext, value_problems
from syncengine.stages.pull import Pulled


@dataclass(frozen=True)
class EntityState:
    """Everything the merge and the plan need about one entity."""

    entity_id: str
    links: Mapping[str, str]  # system -> remote id
    records: Mapping[str, StoredRecord]  # live records of the systems read this run
    values: Mapping[str, Mapping[str, Any]]  # system -> canonical values
    base: Mapping[str, Any]
    invalid: Mapping[str, frozenset[str]]  # system -> fields whose value could not be read
    fresh: frozenset[str]  # systems whose record was linked and not filled yet


@dataclass(frozen=True)
class Loaded:
    states: tuple[EntityState, ...]
    deferred: Mapping[str, str]  # entity -> why a later run looks at it again
    deleted: tuple[tuple[str, str, str], ...]  # (entity, system, remote id) of deleted records
    settling: tuple[tuple[str, str, tuple[str, ...]], ...]  # edited moments ago: entity, who, where
    problems: tuple[RecordProblem, ...]
    # (entity, system, kind) -> a write the system refused as a duplicate of another record, whose
    # record has not changed since: the same write would be refused again.
    refused: Mapping[tuple[str, str, str], Refusal] = field(default_factory=dict)


def load(
    ctx: RunContext,
    entity_ids: Collection[str],
    pulled: Pulled,
    made: Mapping[str, Mapping[str, str]],
) -> Loaded:
    """``made``: links this run made (a preview does not store them)."""
    touched = sorted(entity_ids)
    known = [e for e in touched if not e.startswith("new-")]
    links = ctx.mirror.links_for(known)
    for entity_id, systems in made.items():
        if entity_id in entity_ids:
            links.setdefault(entity_id, {}).update(systems)
    fresh = {(o.entity_id, o.system) for o in ctx.mirror.owed_to(known, reason="unfilled")}
    fresh |= {(e, s) for e, systems in made.items() for s in systems}
    bases = ctx.mirror.get_base(known)
    wanted: dict[str, list[str]] = {}
    for entity_id in touched:
        for system, remote_id in links.get(entity_id, {}).items():
            wanted.setdefault(system, []).append(remote_id)
    stored = {s: ctx.mirror.get_records(s, ids) for s, ids in wanted.items()}
    if pulled.overlay:  # a preview's records as pulled stand for the stored ones
        for system, remote_ids in wanted.items():
            for remote_id in remote_ids:
                previewed = pulled.overlay.get((system, remote_id))
                if previewed is not None:
                    stored[system][remote_id] = previewed
    settle = timedelta(seconds=ctx.rules.guard.settle_seconds)
    resting_since = ctx.now() - settle
    unread = set(ctx.connectors) - set(pulled.active)
    states: list[EntityState] = []
    deferred: dict[str, str] = {}
    deleted: list[tuple[str, str, str]] = []
    settling: list[tuple[str, str, tuple[str, ...]]] = []
    problems: list[RecordProblem] = []
    keys: dict[tuple[str, str], set[str]] = {}
    for entity_id in touched:
        entity_links = dict(links.get(entity_id, {}))
        if unread:
            # Looked at again next run: a system whose pull failed may need to receive it.
            deferred[entity_id] = f"waits for {', '.join(sorted(unread))}, whose pull failed"
            if unread & set(entity_links):
                continue  # merging without a system that holds it could move the base past its value
        records: dict[str, StoredRecord] = {}
        values: dict[str, Mapping[str, Any]] = {}
        invalid: dict[str, frozenset[str]] = {}
        for system, remote_id in entity_links.items():
            record = stored.get(system, {}).get(remote_id)
            if record is not None and record.is_deleted:
                # Deletions are reported, not propagated: the other systems keep the contact.
                deleted.append((entity_id, system, remote_id))
            if record is None or record.is_deleted or system not in pulled.active:
                continue
            canonical = ctx.canonical(record)
            records[system], values[system] = record, canonical.values
            if canonical.invalid:
                invalid[system] = frozenset(canonical.invalid)
                problems.extend(value_problems(ctx, record, canonical))
            keys[(system, remote_id)] = record_keys(canonical.values, ctx.rules.match_keys)
        stamps = {s: r.remote_updated_at for s, r in records.items()}
        recent = sorted(s for s, at in stamps.items() if at is not None and at > resting_since)
        if settle and recent:
            deferred[entity_id] = f"edited in {', '.join(recent)} moments ago (settle time)"
            settling.append((entity_id, who(next(iter(values.values()), {})), tuple(recent)))
            continue
        if values:
            mine = frozenset(s for s in values if (entity_id, s) in fresh)
            states.append(
                EntityState(entity_id, entity_links, records, values, bases.get(entity_id, {}), invalid, mine)
            )
    if not ctx.dry_run and keys:
        ctx.mirror.set_match_keys(keys)
    refused = _standing(ctx, known, pulled)
    return Loaded(tuple(states), deferred, tuple(deleted), tuple(settling), tuple(problems), refused)


def _standing(
    ctx: RunContext, entity_ids: Collection[str], pulled: Pulled
) -> dict[tuple[str, str, str], Refusal]:
    """The refusals of ``entity_ids`` that still stand: the record the write collided with is
    unchanged since (a person who removes the duplicate, in either record, lets it through)."""
    found = [(r, existing_id_of(r.detail)) for r in (ctx.mirror.refusals(entity_ids) if entity_ids else [])]
    holders: dict[str, list[str]] = {}
    for refusal, holder in found:
        if holder is not None:
            holders.setdefault(refusal.system, []).append(holder)
    stored = {s: ctx.mirror.get_records(s, ids) for s, ids in holders.items()}
    standing: dict[tuple[str, str, str], Refusal] = {}
    for refusal, holder in found:
        record = stored.get(refusal.system, {}).get(holder) if holder else None
        changed = (
            record is None
            or record.is_deleted
            or record.changed_run_id > refusal.run_id
            or (refusal.system, record.remote_id) in pulled.overlay
        )
        if not changed:
            standing[(refusal.entity_id, refusal.system, refusal.kind)] = refusal
    return standing
