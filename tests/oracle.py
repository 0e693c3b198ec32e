"""An oracle that does not trust the engine: what the simulators hold, against what the rules demand.

It knows who is who from the seed (``seed_people``: every seeded record's person), reads each
simulator's own contacts, and attributes every record the engine created to a seeded person by its
email (else its first and last name). Records of one person that share nothing a match key could
see (another email, a nickname, no phone) are two identities to any sync, so a person counts as one
identity per group of records joined by an email, a phone number or a first and last name. From
the rules alone it then demands:

* **no duplicate:** no person has more records in a system than the one it was seeded with (or
  than the seed put there, where two sample people share an email), and every record is explained;
* **placement:** every person is in every system whose create rule selects them (CorporateMerch:
  tagged ``merch`` in any system);
* **agreement:** a person's first name, last name and email (case aside) are the same in every
  system that holds them.

The engine's state is read only to accept a shortfall that is *reported*: a person missing where
the rules place them, or a field that differs, is fine only while the mirror says that work is
owed for that entity (a refused create, a failed write) or an open conflict holds the field.
Everything else is a finding; a forgotten create is one, though the next run would write nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncengine.mirror import Mirror
from syncengine.rules import Rules
from syncengine.sim.runner import SimCluster
from syncengine.sim.sampledata import generate_sample

SYSTEMS = ("apollo", "leadconnector", "corporatemerch")
_NAMES = {
    "apollo": ("first_name", "last_name"),
    "leadconnector": ("firstName", "lastName"),
    "corporatemerch": ("first_name", "last_name"),
}


@dataclass
class Truth:
    """Who is who: ``people[i]`` maps each system to the simulator id of person i's seeded record."""

    people: list[dict[str, str]] = field(default_factory=list)


_STAMPS = ("created_at", "updated_at", "dateAdded", "dateUpdated")


def seed_people(
    cluster: SimCluster, n: int, *, seed: int = 1, overlap: float = 0.5, fresh: bool = False
) -> Truth:
    """Seed ``n`` sample people (as ``drive.seed_people`` does) and return who is who. ``fresh``:
    they were added just now (the samples' own dates lie in the past, where an incremental pull
    after a completed run no longer looks)."""
    sample = generate_sample(n, overlap=overlap, seed=seed, systems=tuple(cluster.systems))
    if fresh:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for rows in sample.records.values():
            for row in rows:
                row.update({k: now for k in _STAMPS if k in row})
    by_sample_id: dict[tuple[str, str], str] = {}
    for name, system in cluster.systems.items():
        rows = sample.records[name]
        stored = system.sim.seed_contacts([{k: v for k, v in r.items() if k != "id"} for r in rows])
        for row, kept in zip(rows, stored, strict=True):
            by_sample_id[(name, str(row["id"]))] = str(kept["id"])
    people = [
        {s: by_sample_id[(s, str(rid))] for s, rid in links.items() if s in cluster.systems}
        for links in sample.people
    ]
    return Truth(people)


def _tags(cluster: SimCluster, system: str, record: dict[str, Any]) -> set[str]:
    sim = cluster[system].sim
    if system == "apollo":
        labels = sim.catalogues.labels
        return {str(labels[i]["name"]).casefold() for i in record.get("label_ids") or [] if i in labels}
    if system == "leadconnector":
        return {str(t).casefold() for t in record.get("tags") or []}
    names = {item["id"]: item["name"] for item in sim.store.catalogue("labels")}
    return {str(names[i]).casefold() for i in record.get("labels") or [] if i in names}


def _names(system: str, record: dict[str, Any]) -> tuple[str, str]:
    first, last = _NAMES[system]
    return (str(record.get(first) or "").strip(), str(record.get(last) or "").strip())


def _email(record: dict[str, Any]) -> str:
    return str(record.get("email") or "").strip().casefold()


def _phones(record: dict[str, Any]) -> set[str]:
    """The last ten digits of every phone a record holds, whatever its format."""
    found: set[str] = set()
    for key in ("phone", "phone_number", "sanitized_phone"):
        digits = "".join(ch for ch in str(record.get(key) or "") if ch.isdigit())
        if len(digits) >= 7:
            found.add(digits[-10:])
    for item in record.get("phone_numbers") or []:
        digits = "".join(ch for ch in str(item.get("sanitized_number") or item.get("raw_number") or "")
                         if ch.isdigit())  # fmt: skip
        if len(digits) >= 7:
            found.add(digits[-10:])
    return found


_COMPANY = {"apollo": "organization_name", "leadconnector": "companyName", "corporatemerch": "company_name"}


def _keys(system: str, record: dict[str, Any]) -> set[str]:
    """What a matcher under the default rules can see: email, phone, name with company."""
    keys = {f"e:{_email(record)}"} if _email(record) else set()
    keys |= {f"p:{p}" for p in _phones(record)}
    first, last = (n.casefold() for n in _names(system, record))
    company = " ".join(str(record.get(_COMPANY[system]) or "").casefold().split()[:2])  # no legal suffix
    if first and last and company:
        keys.add(f"n:{first}|{last}|{company}")
    return keys


def _identities(truth: Truth, held: dict[str, dict[str, dict[str, Any]]]) -> list[list[tuple[str, str]]]:
    """The seeded records, grouped into the people a sync can tell apart: records joined by a
    shared email are one identity, whichever seeded person they came from."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(ref: tuple[str, str]) -> tuple[str, str]:
        while parent[ref] != ref:
            parent[ref] = parent[parent[ref]]
            ref = parent[ref]
        return ref

    owner: dict[str, tuple[str, str]] = {}
    for person, links in enumerate(truth.people):
        for system, rid in links.items():
            record = held[system].get(rid)
            if record is None:
                continue
            ref = (system, rid)
            parent[ref] = ref
            for key in _keys(system, record):
                # Two people who share only a phone or a name and company are linked by nobody:
                # their emails decide first. One person's records are joined by any key.
                key = key if key.startswith("e:") else f"{key}#{person}"
                if key in owner:
                    parent[root(ref)] = root(owner[key])
                else:
                    owner[key] = ref
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for ref in parent:
        groups.setdefault(root(ref), []).append(ref)
    return list(groups.values())


@dataclass
class Findings:
    duplicates: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # forgotten: not where the rules place them
    disagreeing: list[str] = field(default_factory=list)
    reported: int = 0  # shortfalls the mirror reports as owed work or open conflicts

    @property
    def problems(self) -> list[str]:
        return self.duplicates + self.unexplained + self.missing + self.disagreeing

    def summary(self) -> dict[str, int]:
        return {
            "duplicates": len(self.duplicates),
            "unexplained": len(self.unexplained),
            "missing": len(self.missing),
            "disagreeing": len(self.disagreeing),
            "reported": self.reported,
        }


def audit(cluster: SimCluster, truth: Truth, rules: Rules, mirror: Mirror | None = None) -> Findings:
    """Compare what the simulators hold with what the rules demand for the seeded people."""
    held = {s: {str(r["id"]): r for r in cluster[s].sim.contacts()} for s in cluster.systems}
    identities = _identities(truth, held)
    person_of: dict[tuple[str, str], int] = {}
    by_key: dict[str, set[int]] = defaultdict(set)
    for i, refs in enumerate(identities):
        for system, rid in refs:
            person_of[(system, rid)] = i
            for key in _keys(system, held[system][rid]):
                by_key[key].add(i)  # a record the engine made from its values carries its keys
    findings = Findings()
    records_of: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for system, records in held.items():
        for rid, record in records.items():
            who = person_of.get((system, rid))
            if who is None:  # a record the engine made: whose values does it carry?
                keys = _keys(system, record)
                candidates: set[int] = set()
                for kind in ("e:", "p:", "n:"):  # the strongest key that names someone decides
                    candidates = set().union(*(by_key.get(k, set()) for k in keys if k.startswith(kind)))
                    if candidates:
                        break
                if len(candidates) != 1:
                    shown = f"{system} {rid}: {_names(system, record)} {_email(record)!r}"
                    findings.unexplained.append(shown)
                    continue
                who = next(iter(candidates))
            records_of[who][system].append(rid)
    owed, conflicts = _reported(mirror)
    for i in range(len(identities)):
        present = records_of.get(i, {})
        seeded = Counter(system for system, _ in identities[i])
        for system, rids in present.items():
            # A source that already held one person twice is not the sync's doing; one more is.
            if len(rids) > max(1, seeded[system]):
                findings.duplicates.append(f"person {i} has {len(rids)} records in {system}: {rids}")
        entities = _entities(mirror, present)
        tags = set().union(*(_tags(cluster, s, held[s][r[0]]) for s, r in present.items()))
        for system in cluster.systems:
            if system in present or not _placed(rules, system, tags):
                continue
            if any((e, system) in owed or (e, "") in owed for e in entities) or any(
                (s, r) in owed for s, rids in present.items() for r in rids
            ):
                findings.reported += 1
                continue
            findings.missing.append(f"person {i} is not in {system} (in {sorted(present)}); nothing says why")
        _compare(i, {s: held[s][r[0]] for s, r in present.items()}, entities, owed, conflicts, findings)
    return findings


def _placed(rules: Rules, system: str, tags: set[str]) -> bool:
    rule = rules.create.get(system)
    if rule is None or not rule.enabled:
        return False
    return rule.when_tags_any is None or bool(tags & {t.casefold() for t in rule.when_tags_any})


def _compare(
    person: int,
    records: dict[str, dict[str, Any]],
    entities: set[str],
    owed: set[tuple[str, str]],
    conflicts: set[tuple[str, str]],
    findings: Findings,
) -> None:
    if len(records) < 2:
        return
    values = {
        "first_name": {s: _names(s, r)[0] for s, r in records.items()},
        "last_name": {s: _names(s, r)[1] for s, r in records.items()},
        "email": {s: _email(r) for s, r in records.items()},
    }
    for name, by_system in values.items():
        if len(set(by_system.values())) <= 1:
            continue
        if any((e, name) in conflicts for e in entities) or any(
            (e, s) in owed for e in entities for s in ("", *by_system)
        ):
            findings.reported += 1
            continue
        findings.disagreeing.append(f"person {person} {name}: {by_system}")


def _entities(mirror: Mirror | None, present: dict[str, list[str]]) -> set[str]:
    if mirror is None:
        return set()
    found = set()
    for system, rids in present.items():
        found.update(mirror.entities_for(system, rids).values())
    return found


def _reported(mirror: Mirror | None) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(entity, system) pairs with owed work, plus (system, remote id) of records the last run
    reported; and (entity, field) pairs with an open conflict."""
    if mirror is None:
        return set(), set()
    owed = {(o.entity_id, o.system) for o in mirror.owed()}
    # Contacts that wait for a change (a refused create, an ambiguous match) stay listed until then.
    owed |= {(w.system, w.remote_id) for w in mirror.waiting() if w.remote_id}
    last = mirror.last_run(status=("succeeded", "partial"))
    if last is not None:
        owed |= {(p.system, p.remote_id) for p in mirror.record_errors(run_id=last.id) if p.remote_id}
    conflicts = {(c.entity_id, c.field) for c in mirror.open_conflicts()}
    return owed, conflicts


def assert_complete(findings: Findings, *, context: Iterable[str] = ()) -> None:
    """Fail with the first findings of each kind, and their counts."""
    if findings.problems:
        shown = "\n".join([*context, str(findings.summary()), *findings.problems[:20]])
        raise AssertionError(f"the systems do not hold what the rules demand:\n{shown}")
