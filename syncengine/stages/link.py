"""Link: match unlinked records to the people the mirror knows, or to each other (``match``).

Matching compares only match keys (email, phones, name and company), so a record's other values
are not held for it. A link is stored with what it owes (``unfilled``: its blanks are values it
never had, not a person's clearing) until a merge fills it. A record that matches several people
stays unlinked and waits, with the reason, for a person or a change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from syncengine.match import PHONE_FIELDS, Candidate, EntityKeys, match, match_values, record_keys
from syncengine.mirror import Owed, RecordProblem, StoredRecord
from syncengine.plan import MatchOutcome
from syncengine.stages.context import RunContext, by_system, value_problems
from syncengine.stages.pull import Pulled

KEY_FIELDS = ("email", *PHONE_FIELDS, "first_name", "last_name", "company")
READ_CHUNK = 500
LOOKUP_CHUNK = 5000  # candidates whose possible partners are looked up at once


@dataclass(frozen=True)
class Linked:
    # (entity id, system, remote id) made by a preview, which stores none; a run stores them.
    links: tuple[tuple[str, str, str], ...]
    entities: frozenset[str]  # entities given a record in this run
    outcome: MatchOutcome
    problems: tuple[RecordProblem, ...]  # of the records left unlinked


def link(ctx: RunContext, unlinked: tuple[tuple[str, str], ...], pulled: Pulled) -> Linked:
    if not unlinked:
        return Linked((), frozenset(), MatchOutcome(), ())
    candidates: list[Candidate] = []
    problems: dict[tuple[str, str], list[RecordProblem]] = {}
    for record in _read(ctx, unlinked, pulled):
        canonical = ctx.canonical(record)
        values = {k: canonical.values[k] for k in KEY_FIELDS if k in canonical.values}
        candidates.append(Candidate(record.system, record.remote_id, values))
        if canonical.invalid:
            problems[(record.system, record.remote_id)] = value_problems(ctx, record, canonical)
    kinds = ctx.rules.match_keys
    # Only entities sharing a value with some candidate can match: those whose base holds it,
    # and those with a linked record that holds it (a field in conflict is not in the base).
    # Looked up a part at a time, so that the keys asked for are never all in memory at once.
    by_records: set[str] = set()
    nearby: set[str] = set()
    for start in range(0, len(candidates), LOOKUP_CHUNK):
        part = candidates[start : start + LOOKUP_CHUNK]
        by_records |= _entities_holding(ctx, set().union(*(record_keys(c.values, kinds) for c in part)))
        nearby |= _nearby(ctx, match_values(part, kinds))
    nearby |= by_records
    links = ctx.mirror.links_for(nearby)
    bases = ctx.mirror.get_base(sorted(e for e in nearby if e in links))
    held = _linked_values(ctx, {e: links[e] for e in by_records if e in links})
    entities = [
        EntityKeys(e, frozenset(links[e]), [b for b in (bases[e], *held.get(e, [])) if b])
        for e in sorted(bases)
        if bases[e] or held.get(e)
    ]
    result = match(entities, candidates, ctx.rules)
    wanted = [(x.entity_id, x.system, x.remote_id) for x in result.links]
    fresh = (
        [f"new-{i + 1}" for i in range(len(result.new_entities))]
        if ctx.dry_run
        else ctx.mirror.new_entities(len(result.new_entities))
    )
    for entity_id, members in zip(fresh, result.new_entities, strict=True):
        wanted.extend((entity_id, m.system, m.remote_id) for m in members)
    left = [((c.system, c.remote_id), c) for c in result.conflicts]
    if not ctx.dry_run:
        with ctx.mirror.transaction():  # a link is owed its merge until a commit settles it
            ctx.mirror.link_many(wanted, run_id=ctx.run_id)
            # Until a merge fills it, the record's blanks are values it never had, not a
            # person's clearing: kept per system, whatever defers the entity meanwhile.
            ctx.mirror.owe(
                Owed(e, s, "unfilled", f"linked in run {ctx.run_id}; its blanks are filled from the agreed "
                     "values", ctx.run_id)
                for e, s, _ in wanted
            )  # fmt: skip
            # A record left unlinked has no entity to owe work to: its keys are stored, so a change
            # to a record sharing one brings it back, and its reason is kept in the record errors.
            refs = {ref for ref, _ in left}
            by_ref = {(c.system, c.remote_id): c for c in candidates if (c.system, c.remote_id) in refs}
            ctx.mirror.set_match_keys({ref: record_keys(by_ref[ref].values, kinds) for ref, _ in left})
            ctx.mirror.add_record_errors(
                RecordProblem(
                    system=c.system, remote_id=c.remote_id, field=c.key,
                    message=f"not linked, waits for a person: {c.reason}", run_id=ctx.run_id,
                )
                for _, c in left
            )  # fmt: skip
    alone = Counter(members[0].system for members in result.new_entities if len(members) == 1)
    outcome = MatchOutcome(
        linked=len(result.links),
        new_entities=len(result.new_entities),
        conflicts=tuple(result.conflicts),
        matched_across=sum(1 for members in result.new_entities if len(members) > 1),
        only_in=dict(alone),
        linked_by=dict(Counter(x.key for x in result.links)),
    )
    kept = tuple(p for ref, _ in left for p in problems.get(ref, ()))
    entities = frozenset(e for e, _, _ in wanted)
    return Linked(tuple(wanted) if ctx.dry_run else (), entities, outcome, kept)


def _nearby(ctx: RunContext, wanted: dict[str, set[str]]) -> set[str]:
    """Entities whose base holds one of the values ``wanted`` (field -> values); by name only
    those holding both a first and a last name asked for, not everyone called Smith."""
    first, last = wanted.pop("first_name", None), wanted.pop("last_name", None)
    found = ctx.mirror.entities_with_values(wanted)
    if first and last:
        named = ctx.mirror.entities_with_values({"last_name": last})
        if named:
            found |= named & ctx.mirror.entities_with_values({"first_name": first})
    return found


def _read(ctx: RunContext, refs: Iterable[tuple[str, str]], pulled: Pulled) -> Iterable[StoredRecord]:
    for system, remote_ids in by_system(refs).items():
        for start in range(0, len(remote_ids), READ_CHUNK):
            chunk = remote_ids[start : start + READ_CHUNK]
            stored = ctx.mirror.get_records(system, chunk)
            for remote_id in chunk:
                record = pulled.overlay.get((system, remote_id), stored.get(remote_id))
                if record is not None:
                    yield record


def _entities_holding(ctx: RunContext, keys: set[str]) -> set[str]:
    """Entities with a linked record whose match keys include one of ``keys``."""
    if not keys:
        return set()
    in_memory: dict[tuple[str, str], set[str]] = {}
    if not ctx.mirror.has_match_keys() and any(ctx.mirror.link_counts().values()):
        # A state from before records kept their match keys: read every linked record once.
        kinds = ctx.rules.match_keys
        refs = [(s, r) for entity_links in ctx.mirror.all_links().values() for s, r in entity_links.items()]
        in_memory = {ref: record_keys(values, kinds) for ref, values in _record_values(ctx, refs).items()}
        if not ctx.dry_run:  # a preview writes nothing, not even this
            ctx.mirror.set_match_keys(in_memory)
    if in_memory:
        found = {ref for ref, held in in_memory.items() if held & keys}
    else:
        found = ctx.mirror.records_with_match_keys(keys)
    return {e for s, ids in by_system(found).items() for e in ctx.mirror.entities_for(s, ids).values()}


def _linked_values(
    ctx: RunContext, links: Mapping[str, Mapping[str, str]]
) -> dict[str, list[dict[str, Any]]]:
    """Per entity, the canonical values of its live linked records, as matching compares them."""
    values = _record_values(ctx, [(s, r) for entity_links in links.values() for s, r in entity_links.items()])
    return {
        entity_id: [values[(s, r)] for s, r in entity_links.items() if (s, r) in values]
        for entity_id, entity_links in links.items()
    }


def _record_values(ctx: RunContext, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Canonical values of the live stored records named ``(system, remote_id)``."""
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for system, remote_ids in by_system(refs).items():
        if system not in ctx.connectors:
            continue
        for remote_id, record in ctx.mirror.get_records(system, remote_ids).items():
            if not record.is_deleted:
                values[(system, remote_id)] = dict(ctx.canonical(record).values)
    return values
