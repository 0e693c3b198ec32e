"""Link: match unlinked records to the people the mirror knows, or to each other (``match``).

Matching compares only match keys (email, phones, name and company), so a record's other values
are not held for it. A link is stored with what it owes (``unfilled``: its blanks are values it
never had, not a person's clearing) until a merge fills it. A record that matches several people
stays unlinked and waits, with the reason, for a person or a change.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from syncengine.match import (
    PHONE_FIELDS,
    Candidate,
    EntityKeys,
    MatchConflict,
    MatchResult,
    keys_by_kind,
    keys_of,
    match,
    match_values,
    record_keys,
)
from syncengine.mirror import Owed, RecordProblem, StoredRecord
from syncengine.plan import MatchOutcome
from syncengine.stages.context import RunContext, by_system, value_problems
from syncengine.stages.pull import Pulled

KEY_FIELDS = ("email", *PHONE_FIELDS, "first_name", "last_name", "company")
READ_CHUNK = 500
LOOKUP_CHUNK = 5000  # candidates whose possible partners are looked up at once
PART = 20_000  # records matched at once; more are matched a part at a time (``_link_in_parts``)


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
    if ctx.dry_run or len(unlinked) <= PART:
        return _link_at_once(ctx, unlinked, pulled)
    return _link_in_parts(ctx, unlinked, pulled)


def _link_at_once(ctx: RunContext, unlinked: tuple[tuple[str, str], ...], pulled: Pulled) -> Linked:
    candidates: list[Candidate] = []
    problems: dict[tuple[str, str], list[RecordProblem]] = {}
    for record in _read(ctx, unlinked, pulled):
        candidates.append(_candidate(ctx, record, problems))
    entities = _entity_keys(ctx, *_partners(ctx, candidates))
    done = _Done()
    _settle(ctx, match(entities, candidates, ctx.rules), candidates, problems, done)
    return done.linked(ctx)


def _link_in_parts(ctx: RunContext, unlinked: tuple[tuple[str, str], ...], pulled: Pulled) -> Linked:
    """The same matches as ``_link_at_once``, holding a part of the records at a time: an
    account's first sync matches every record it holds.

    Each record's keys are stored as it is read (only its id stays in memory). Records that share
    a key, directly or through other records or a known contact, form one group, found by walking
    the stored keys in order; ``match`` only ever relates records of one group, so matching whole
    groups a part at a time gives what matching all at once would. Only a preview, which stores
    nothing, matches all at once."""
    kinds = ctx.rules.match_keys
    refs = tuple(sorted(unlinked))  # (sorted already, as select gives them)
    present = bytearray(len(refs))  # 1 for each record found in the mirror (looked up by bisection)
    problems: dict[tuple[str, str], list[RecordProblem]] = {}
    by_records: set[str] = set()
    nearby: set[str] = set()
    records = iter(_read(ctx, refs, pulled))
    while True:
        part = [_candidate(ctx, record, problems) for record in islice(records, LOOKUP_CHUNK)]
        if not part:
            break
        found_by_records, found = _partners(ctx, part)
        by_records |= found_by_records
        nearby |= found
        ctx.mirror.set_match_keys({(c.system, c.remote_id): record_keys(c.values, kinds) for c in part})
        for c in part:
            present[bisect_left(refs, (c.system, c.remote_id))] = 1
    entities = _entity_keys(ctx, by_records, nearby)
    done = _Done()
    for members, known in _groups(ctx, refs, present, entities):
        stored = ctx.mirror.match_keys_by_record(members)
        candidates = [Candidate(s, r, {}, keys_by_kind(stored.get((s, r), ()))) for s, r in members]
        _settle(ctx, match(known, candidates, ctx.rules), candidates, problems, done)
    return done.linked(ctx)


def _candidate(
    ctx: RunContext, record: StoredRecord, problems: dict[tuple[str, str], list[RecordProblem]]
) -> Candidate:
    canonical = ctx.canonical(record)
    if canonical.invalid:
        problems[(record.system, record.remote_id)] = value_problems(ctx, record, canonical)
    values = {k: canonical.values[k] for k in KEY_FIELDS if k in canonical.values}
    return Candidate(record.system, record.remote_id, values)


def _partners(ctx: RunContext, candidates: Sequence[Candidate]) -> tuple[set[str], set[str]]:
    """Only entities sharing a value with some candidate can match: those with a linked record that
    holds it (the first set), and those whose base holds it (a field in conflict is not in the
    base). Looked up a part at a time, so that the keys asked for are never all in memory at once."""
    kinds = ctx.rules.match_keys
    by_records: set[str] = set()
    nearby: set[str] = set()
    for start in range(0, len(candidates), LOOKUP_CHUNK):
        part = candidates[start : start + LOOKUP_CHUNK]
        by_records |= _entities_holding(ctx, set().union(*(record_keys(c.values, kinds) for c in part)))
        nearby |= _nearby(ctx, *match_values(part, kinds))
    return by_records, nearby | by_records


def _entity_keys(ctx: RunContext, by_records: set[str], nearby: set[str]) -> list[EntityKeys]:
    links = ctx.mirror.links_for(nearby)
    bases = ctx.mirror.get_base(sorted(e for e in nearby if e in links))
    held = _linked_values(ctx, {e: links[e] for e in by_records if e in links})
    return [
        EntityKeys(e, frozenset(links[e]), [b for b in (bases[e], *held.get(e, [])) if b])
        for e in sorted(bases)
        if bases[e] or held.get(e)
    ]


def _groups(
    ctx: RunContext, refs: Sequence[tuple[str, str]], present: bytearray, entities: list[EntityKeys]
) -> Iterator[tuple[list[tuple[str, str]], list[EntityKeys]]]:
    """The records ``refs`` (sorted; those ``present`` have their keys stored) and the known
    ``entities``, in parts of about ``PART`` records, each part made of whole groups sharing keys."""
    kinds = ctx.rules.match_keys
    count = len(refs)
    parent = array("l", range(count + len(entities)))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(nodes: list[int]) -> None:
        first = root(nodes[0])
        for node in nodes[1:]:
            other = root(node)
            if other != first:
                parent[other] = first

    def node_of(system: str, remote_id: str) -> int | None:
        at = bisect_left(refs, (system, remote_id))
        return at if at < count and refs[at] == (system, remote_id) and present[at] else None

    by_key: dict[str, list[int]] = {}
    for j, entity in enumerate(entities):
        for key in set().union(*(record_keys(values, kinds) for values in entity.values)):
            by_key.setdefault(key, []).append(count + j)
    shared: list[int] = []
    last = ""
    for key, system, remote_id in ctx.mirror.match_key_rows():
        if key != last:
            if shared:
                join(shared + by_key.get(last, []))
            shared, last = [], key
        node = node_of(system, remote_id)
        if node is not None:
            shared.append(node)
    if shared:
        join(shared + by_key.get(last, []))
    roots = array("l", (root(node) for node in range(count + len(entities))))
    part: list[tuple[str, str]] = []
    known: list[EntityKeys] = []
    group: list[int] = []
    for node in sorted(range(len(roots)), key=roots.__getitem__):  # a group's nodes together
        if group and roots[node] != roots[group[0]]:
            _add_group(group, refs, present, entities, part, known)
            group = []
            if len(part) >= PART:
                yield part, known
                part, known = [], []
        group.append(node)
    if group:
        _add_group(group, refs, present, entities, part, known)
    if part:
        yield part, known


def _add_group(
    group: list[int],
    refs: Sequence[tuple[str, str]],
    present: bytearray,
    entities: list[EntityKeys],
    part: list[tuple[str, str]],
    known: list[EntityKeys],
) -> None:
    count = len(refs)
    records = [refs[n] for n in group if n < count and present[n]]
    if records:  # else a known contact no record reaches
        part.extend(records)
        known.extend(entities[n - count] for n in group if n >= count)


class _Done:
    """What the parts of a match stored and found, added up."""

    def __init__(self) -> None:
        self.wanted: list[tuple[str, str, str]] = []
        self.entities: set[str] = set()
        self.linked_count = self.new_count = self.across = 0
        self.conflicts: list[MatchConflict] = []
        self.only_in: Counter[str] = Counter()
        self.linked_by: Counter[str] = Counter()
        self.problems: list[RecordProblem] = []

    def linked(self, ctx: RunContext) -> Linked:
        outcome = MatchOutcome(
            linked=self.linked_count,
            new_entities=self.new_count,
            conflicts=tuple(self.conflicts),
            matched_across=self.across,
            only_in=dict(self.only_in),
            linked_by=dict(self.linked_by),
        )
        return Linked(tuple(self.wanted) if ctx.dry_run else (), frozenset(self.entities), outcome,
                      tuple(self.problems))  # fmt: skip


def _settle(
    ctx: RunContext,
    result: MatchResult,
    candidates: Sequence[Candidate],
    problems: Mapping[tuple[str, str], list[RecordProblem]],
    done: _Done,
) -> None:
    """Store what one match found and add it to ``done``."""
    kinds = ctx.rules.match_keys
    wanted = [(x.entity_id, x.system, x.remote_id) for x in result.links]
    first = done.new_count + 1
    fresh = (
        [f"new-{first + i}" for i in range(len(result.new_entities))]
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
            ctx.mirror.set_match_keys(
                {ref: record_keys(by_ref[ref].values, kinds) for ref, _ in left if by_ref[ref].keys is None}
            )
            ctx.mirror.add_record_errors(
                RecordProblem(
                    system=c.system, remote_id=c.remote_id, field=c.key,
                    message=f"not linked, waits for a person: {c.reason}", run_id=ctx.run_id,
                )
                for _, c in left
            )  # fmt: skip
    if ctx.dry_run:
        done.wanted.extend(wanted)
    done.entities.update(e for e, _, _ in wanted)
    done.linked_count += len(result.links)
    done.new_count += len(result.new_entities)
    done.conflicts.extend(result.conflicts)
    done.across += sum(1 for members in result.new_entities if len(members) > 1)
    done.only_in.update(members[0].system for members in result.new_entities if len(members) == 1)
    done.linked_by.update(x.key for x in result.links)
    done.problems.extend(p for ref, _ in left for p in problems.get(ref, ()))


def _nearby(
    ctx: RunContext, wanted: dict[str, set[str]], names: set[tuple[str, str]], name_keys: set[str]
) -> set[str]:
    """Entities whose base holds one of the values ``wanted`` (field -> values), or one of the
    ``name_keys`` (looked up by their first and last ``names`` as pairs, then compared whole):
    not everyone called Smith, nor every John Smith."""
    found = ctx.mirror.entities_with_values(wanted) if wanted else set()
    if names:
        kinds = [k for k in ctx.rules.match_keys if k not in ("email", "phone")]

        def shares_a_key(values: Mapping[str, Any]) -> bool:
            return any(key in name_keys for kind in kinds for key in keys_of(values, kind))

        found |= ctx.mirror.entities_with_names(names, shares_a_key)
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
