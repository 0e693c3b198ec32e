"""Identity resolution: which unlinked records are which person. Never a guess.

Keys, in the order the rules give: the normalised email; each E.164 phone; first name, last name
and company together (casefolded; the company without punctuation and trailing legal forms).
For each record the first key kind that finds anything decides:
one entity links it; several entities, or an entity that already holds a record of this system,
make a match conflict, reported and left unlinked. Records found nowhere group among themselves the
same way into new entities. Everything is index lookups, so 100,000 records take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from syncengine.rules import Rules

PHONE_FIELDS = ("phone", "phone_mobile", "phone_corporate", "phone_home", "phone_other")


@dataclass(frozen=True, slots=True)
class Candidate:
    """An unlinked record and its canonical values, or only its match keys by kind (``keys``):
    what is kept of it when an account's records are matched a part at a time."""

    system: str
    remote_id: str
    values: Mapping[str, Any]
    keys: Mapping[str, tuple[str, ...]] | None = None

    def keys_for(self, kind: str) -> Sequence[str]:
        return keys_of(self.values, kind) if self.keys is None else self.keys.get(kind, ())


def keys_by_kind(stored: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Keys as ``record_keys`` words them ("email:ada@example.com"), grouped by kind."""
    grouped: dict[str, list[str]] = {}
    for key in stored:
        kind, _, value = key.partition(":")
        grouped.setdefault(kind, []).append(value)
    return {kind: tuple(sorted(values)) for kind, values in grouped.items()}


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


@dataclass(frozen=True, slots=True)
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


# A field that failed to normalise keeps its raw value; only real addresses and numbers are keys, so
# two records holding the same "n/a" are not taken for one person.
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def keys_of(values: Mapping[str, Any], kind: str) -> list[str]:
    """The match keys of one kind that a record's canonical values give."""
    if kind == "email":
        email = values.get("email")
        return [email.casefold()] if isinstance(email, str) and _EMAIL.fullmatch(email) else []
    if kind == "phone":
        phones = (values.get(f) for f in PHONE_FIELDS)
        return sorted({p for p in phones if isinstance(p, str) and _E164.fullmatch(p)})
    parts = [values.get(f) for f in ("first_name", "last_name", "company")]
    if all(isinstance(p, str) and p.strip() for p in parts):
        first, last, company = (str(p).casefold().strip() for p in parts)
        return ["\x1f".join((first, last, company_key(company)))]
    return []


# Legal forms people add or leave out ("Granite Security Inc." is "Granite Security").
_LEGAL_FORMS = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "llp",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "plc",
        "sa",
        "sas",
        "sarl",
        "srl",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "pty",
        "pte",
        "kk",
    ]
)
_PUNCTUATION = re.compile(r"[.,&'()]+")


def company_key(company: str) -> str:
    """A company name as a match key compares it: casefolded, without punctuation and trailing
    legal forms (never all of its words)."""
    words = _PUNCTUATION.sub(" ", company.casefold()).split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def record_keys(values: Mapping[str, Any], kinds: Sequence[str]) -> set[str]:
    """A record's match keys of every kind, as the mirror keeps them ("email:ada@example.com")."""
    return {f"{kind}:{key}" for kind in kinds for key in keys_of(values, kind)}


def match_values(
    records: Sequence[Candidate], kinds: Sequence[str]
) -> tuple[dict[str, set[str]], set[tuple[str, str]], set[str]]:
    """What an entity's base must hold to share a key with one of ``records``: per field, the
    addresses and numbers (a superset: the match itself then compares whole keys); and for a name
    key, the (first name, last name) pairs to look up and the keys they must give."""
    wanted: dict[str, set[str]] = {}
    names: set[tuple[str, str]] = set()
    name_keys: set[str] = set()
    for record in records:
        for kind in kinds:
            if kind == "email":
                wanted.setdefault("email", set()).update(keys_of(record.values, kind))
            elif kind == "phone":
                for field in PHONE_FIELDS:
                    wanted.setdefault(field, set()).update(keys_of(record.values, kind))
            elif found := keys_of(record.values, kind):
                names.add((str(record.values["first_name"]), str(record.values["last_name"])))
                name_keys.update(found)
    return {field: values for field, values in wanted.items() if values}, names, name_keys


# kind -> key -> the id holding it, or the ids when several do: most keys have one holder, and a
# set for each would cost five times the memory on an account's first match.
KeyIndex = dict[str, dict[str, str | set[str]]]


def _add(index: KeyIndex, kinds: Sequence[str], ident: str, keys: Callable[[str], Sequence[str]]) -> None:
    for kind in kinds:
        table = index.setdefault(kind, {})
        for key in keys(kind):
            held = table.get(key)
            if held is None:
                table[key] = ident
            elif isinstance(held, set):
                held.add(ident)
            elif held != ident:
                table[key] = {held, ident}


def _lookup(
    index: KeyIndex, kinds: Sequence[str], keys: Callable[[str], Sequence[str]]
) -> tuple[str, set[str]] | None:
    """The first key kind that finds anything, and the ids it finds."""
    for kind in kinds:
        table = index.get(kind, {})
        found: set[str] = set()
        for key in keys(kind):
            held = table.get(key)
            if isinstance(held, set):
                found |= held
            elif held is not None:
                found.add(held)
        if found:
            return kind, found
    return None


def match(entities: Sequence[EntityKeys], records: Sequence[Candidate], rules: Rules) -> MatchResult:
    """Link ``records`` to ``entities``, group the rest into new entities, report the ambiguous."""
    kinds = rules.match_keys
    rank = {s: i for i, s in enumerate(rules.systems)}
    ordered = sorted(records, key=lambda c: (rank.get(c.system, len(rank)), c.system, c.remote_id))
    systems = {e.entity_id: set(e.systems) for e in entities}
    index: KeyIndex = {}
    for entity in entities:
        for values in entity.values:
            _add(index, kinds, entity.entity_id, partial(keys_of, values))
    conflicts: list[MatchConflict] = []
    unmatched: list[Candidate] = []
    claimed: dict[tuple[str, str], list[tuple[Candidate, str]]] = {}
    for record in ordered:
        hit = _lookup(index, kinds, record.keys_for)
        if hit is None:
            unmatched.append(record)
            continue
        kind, found = hit
        if len(found) > 1:
            reason = f"matches {len(found)} contacts by {kind}"
            conflicts.append(
                MatchConflict(record.system, record.remote_id, kind, reason, tuple(sorted(found)))
            )
            continue
        claimed.setdefault((found.pop(), record.system), []).append((record, kind))
    links: list[Link] = []
    for (entity_id, system), claimants in sorted(claimed.items()):
        if system in systems[entity_id]:
            reason = f"the contact already has a {system} record"
        elif len(claimants) > 1:
            reason = f"{len(claimants)} {system} records match the same contact"
        else:
            record, kind = claimants[0]
            links.append(Link(entity_id, system, record.remote_id, kind))
            continue
        conflicts.extend(MatchConflict(r.system, r.remote_id, k, reason, (entity_id,)) for r, k in claimants)
    groups, group_conflicts = _group(unmatched, kinds)
    return MatchResult(links, groups, conflicts + group_conflicts)


def _group(
    records: Sequence[Candidate], kinds: Sequence[str]
) -> tuple[list[tuple[Member, ...]], list[MatchConflict]]:
    """Unmatched records into new entities, by the same first-key rule as against entities. Two
    records of one system sharing the key make their whole group a conflict: which one is the
    person is unclear, and linking either would invite a duplicate. A record that reaches a group
    holding its system through another member's key is a conflict on its own."""
    members: list[list[Candidate]] = []
    clashes: dict[int, list[tuple[Candidate, str]]] = {}
    index: KeyIndex = {}
    conflicts: list[MatchConflict] = []
    for record in records:
        hit = _lookup(index, kinds, record.keys_for)
        if hit is None:
            gid = len(members)
            members.append([record])
        else:
            kind, found = hit
            group_ids = sorted(int(g) for g in found)
            others = tuple(f"{r.system}:{r.remote_id}" for g in group_ids for r in members[g])
            if len(group_ids) > 1:
                reason = f"matches {len(group_ids)} new contacts by {kind}"
                conflicts.append(MatchConflict(record.system, record.remote_id, kind, reason, others))
                continue
            gid = group_ids[0]
            same_system = [m for m in members[gid] if m.system == record.system]
            own_keys = set(record.keys_for(kind))
            if any(own_keys & set(m.keys_for(kind)) for m in same_system):
                clashes.setdefault(gid, []).append((record, kind))
            elif same_system:
                reason = f"the contact it matches by {kind} already has a {record.system} record"
                conflicts.append(MatchConflict(record.system, record.remote_id, kind, reason, others))
                continue
            else:
                members[gid].append(record)
        _add(index, kinds, str(gid), record.keys_for)
    out: list[tuple[Member, ...]] = []
    for gid, group in enumerate(members):
        if gid not in clashes:
            out.append(tuple(Member(r.system, r.remote_id) for r in group))
            continue
        everyone = group + [r for r, _ in clashes[gid]]
        kind = clashes[gid][0][1]
        doubled = sorted({r.system for r, _ in clashes[gid]})
        reason = f"{' and '.join(doubled)} records share one {kind}: which one is this contact is unclear"
        names = [f"{r.system}:{r.remote_id}" for r in everyone]
        conflicts.extend(
            MatchConflict(r.system, r.remote_id, kind, reason, tuple(n for n in names if n != own))
            for r, own in zip(everyone, names, strict=True)
        )
    return out, conflicts
