"""Identity resolution: which unlinked records are which person. Never a guess.

Keys, in the order the rules give: the normalised email; each E.164 phone; first name, last name
and company together (casefolded). For each record the first key kind that finds anything decides:
one entity links it; several entities, or an entity that already holds a record of this system,
make a match conflict, reported and left unlinked. Records found nowhere group among themselves the
same way into new entities. Everything is index lookups, so 100,000 records take seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncengine.rules import Rules

PHONE_FIELDS = ("phone", "phone_mobile", "phone_corporate", "phone_home", "phone_other")


@dataclass(frozen=True)
class Candidate:
    """An unlinked record and its canonical values."""

    system: str
    remote_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class EntityKeys:
    """An existing entity: the systems it holds a record of and the values to match it by."""

    entity_id: str
    systems: frozenset[str]
    values: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Link:
    entity_id: str
    system: str
    remote_id: str
    key: str  # which key matched: "email", "phone", "name_company"


@dataclass(frozen=True)
class Member:
    system: str
    remote_id: str


@dataclass(frozen=True)
class MatchConflict:
    system: str
    remote_id: str
    key: str
    reason: str
    candidates: tuple[str, ...]  # entity ids, or "system:remote_id" of other unlinked records


@dataclass(frozen=True)
class MatchResult:
    links: list[Link]
    new_entities: list[tuple[Member, ...]]
    conflicts: list[MatchConflict]


def keys_of(values: Mapping[str, Any], kind: str) -> list[str]:
    """The match keys of one kind that a record's canonical values give."""
    if kind == "email":
        email = values.get("email")
        return [str(email).casefold()] if email else []
    if kind == "phone":
        return sorted({str(values[f]) for f in PHONE_FIELDS if values.get(f)})
    parts = [values.get(f) for f in ("first_name", "last_name", "company")]
    if all(isinstance(p, str) and p.strip() for p in parts):
        return ["\x1f".join(str(p).casefold() for p in parts)]
    return []


def _index(items: Iterable[tuple[str, Mapping[str, Any]]], kind: str) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for ident, values in items:
        for key in keys_of(values, kind):
            index.setdefault(key, set()).add(ident)
    return index


def match(entities: Sequence[EntityKeys], records: Sequence[Candidate], rules: Rules) -> MatchResult:
    kinds = rules.match_keys
    systems = {e.entity_id: set(e.systems) for e in entities}
    indexes = {kind: _index(((e.entity_id, v) for e in entities for v in e.values), kind) for kind in kinds}
    links: list[Link] = []
    conflicts: list[MatchConflict] = []
    unmatched: list[Candidate] = []
    ordered = sorted(records, key=lambda c: (c.system, c.remote_id))
    claimed: dict[tuple[str, str], list[Candidate]] = {}
    for record in ordered:
        for kind in kinds:
            found = set().union(*(indexes[kind].get(k, set()) for k in keys_of(record.values, kind)))
            if not found:
                continue
            if len(found) > 1:
                reason = f"matches {len(found)} contacts by {kind}"
                conflicts.append(
                    MatchConflict(record.system, record.remote_id, kind, reason, tuple(sorted(found)))
                )
            else:
                claimed.setdefault((found.pop(), record.system), []).append(record)
            break
        else:
            unmatched.append(record)
    for (entity_id, system), claimants in sorted(claimed.items()):
        if system in systems[entity_id] or len(claimants) > 1:
            reason = (
                f"the contact already has a {system} record"
                if system in systems[entity_id]
                else f"{len(claimants)} {system} records match the same contact"
            )
            conflicts.extend(
                MatchConflict(c.system, c.remote_id, "", reason, (entity_id,)) for c in claimants
            )
            continue
        links.append(
            Link(entity_id, system, claimants[0].remote_id, _first_kind(claimants[0], entity_id, indexes))
        )
        systems[entity_id].add(system)
    groups, group_conflicts = _group(unmatched, kinds)
    return MatchResult(links, groups, conflicts + group_conflicts)


def _first_kind(record: Candidate, entity_id: str, indexes: Mapping[str, Mapping[str, set[str]]]) -> str:
    for kind, index in indexes.items():
        if any(entity_id in index.get(k, ()) for k in keys_of(record.values, kind)):
            return kind
    return ""


def _group(
    records: list[Candidate], kinds: Sequence[str]
) -> tuple[list[tuple[Member, ...]], list[MatchConflict]]:
    """Unmatched records into new entities: records of different systems sharing a key join one
    entity (union-find); a group that would hold two records of one system is a conflict."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for kind in kinds:
        seen: dict[str, int] = {}
        for i, record in enumerate(records):
            for key in keys_of(record.values, kind):
                if key in seen:
                    parent[find(i)] = find(seen[key])
                else:
                    seen[key] = i
    groups: dict[int, list[Candidate]] = {}
    for i, record in enumerate(records):
        groups.setdefault(find(i), []).append(record)
    out: list[tuple[Member, ...]] = []
    conflicts: list[MatchConflict] = []
    for members in groups.values():
        by_system: dict[str, list[Candidate]] = {}
        for record in members:
            by_system.setdefault(record.system, []).append(record)
        doubled = [s for s, rs in by_system.items() if len(rs) > 1]
        if doubled:
            others = tuple(f"{r.system}:{r.remote_id}" for r in members)
            reason = f"shares a key with another record of {', '.join(doubled)}: which is which is unclear"
            conflicts.extend(MatchConflict(r.system, r.remote_id, "", reason, others) for r in members)
            continue
        out.append(tuple(Member(r.system, r.remote_id) for r in sorted(members, key=lambda r: r.system)))
    return out, conflicts
