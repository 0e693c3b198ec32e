"""The data of one simulated CorporateMerch account: contacts and the list and label catalogues.

Contacts are numbered 1, 2, 3 ... in creation order, as an auto-increment key would; a deleted
contact keeps its number (it is only marked, so the admin surface can still show it) and the
number is never handed out again.
"""

from __future__ import annotations

import copy
from typing import Any

from syncengine.sim.core import SimClock, iso_ms, parse_iso
from syncengine.sim.corporatemerch.values import FIELDS, ID_LIST_FIELDS, Rules, ValidationError

CATALOGUES = ("lists", "labels")
STAMPS = ("created_at", "updated_at")


def read_shape(
    record: dict[str, Any], *, secondary: str = "unit", string_ids: bool = False, memberships: bool = True
) -> dict[str, Any]:
    """The contact object the API answers: every field (null when empty), then the timestamps."""
    out: dict[str, Any] = {"id": str(record["id"]) if string_ids else record["id"]}
    for name in FIELDS:
        if name in ID_LIST_FIELDS:
            if memberships:
                out[name] = list(record.get(name) or [])
        else:
            out[secondary if name == "unit" else name] = record.get(name)
    out["created_at"] = record["created_at"]
    out["updated_at"] = record["updated_at"]
    return out


def parse_contact_id(contact_id: int | str) -> int | None:
    """The number in a path id (``"42"``); None for anything that cannot name a contact."""
    if isinstance(contact_id, int) and not isinstance(contact_id, bool):
        return contact_id
    if isinstance(contact_id, str) and contact_id.isascii() and contact_id.isdigit():
        return int(contact_id)
    return None


class ContactStore:
    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.contacts: dict[int, dict[str, Any]] = {}
        self.catalogues: dict[str, dict[int, str]] = {kind: {} for kind in CATALOGUES}
        self.last_id = 0

    # ------------------------------------------------------------------ reads

    def live(self, contact_id: int | str) -> dict[str, Any] | None:
        number = parse_contact_id(contact_id)
        record = self.contacts.get(number) if number is not None else None
        return None if record is None or record.get("deleted") else record

    def newest_first(self) -> list[dict[str, Any]]:
        """Live contacts, newest ``created_at`` first; equal times put the higher id first."""
        records = [r for r in self.contacts.values() if not r.get("deleted")]
        return sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True)

    def catalogue(self, kind: str) -> list[dict[str, Any]]:
        return [{"id": i, "name": name} for i, name in sorted(self.catalogues[kind].items())]

    # ------------------------------------------------------------------ API writes

    def create(self, values: dict[str, Any]) -> dict[str, Any]:
        now = iso_ms(self.clock.now())
        self.last_id += 1
        record = {"id": self.last_id, **_blank(), **values, "created_at": now, "updated_at": now}
        self.contacts[record["id"]] = record
        return record

    def replace(self, record: dict[str, Any], values: dict[str, Any], *, clear_omitted: bool) -> None:
        """Full replacement: fields left out are cleared, or kept when ``clear_omitted`` is off."""
        base = _blank() if clear_omitted else {name: record.get(name) for name in FIELDS}
        record.update({**base, **values})
        for name in ID_LIST_FIELDS:
            record[name] = list(record.get(name) or [])
        record["updated_at"] = iso_ms(self.clock.now())

    def delete(self, record: dict[str, Any]) -> None:
        record["deleted"] = True
        record["updated_at"] = iso_ms(self.clock.now())

    # ------------------------------------------------------------------ catalogues

    def add_catalogue_items(self, kind: str, items: list[Any]) -> list[dict[str, Any]]:
        """Add ``{"id"?: int, "name": str}`` items (a known id is renamed); all or none."""
        entries: dict[int, str] = dict(self.catalogues[kind])
        for n, item in enumerate(items):
            where = f"{kind} item {n}"
            if not isinstance(item, dict) or set(item) - {"id", "name"}:
                raise ValueError(f'{where}: must be {{"id"?: int, "name": str}}')
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"{where}: name must be a non-empty string")
            given = item.get("id")
            if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given < 1):
                raise ValueError(f"{where}: id must be a positive integer, got {given!r}")
            entries[given if given is not None else max(entries, default=0) + 1] = name.strip()
        self.catalogues[kind] = entries
        return self.catalogue(kind)

    # ------------------------------------------------------------------ seeding and UI edits

    def seed_record(self, given: dict[str, Any], rules: Rules, taken: set[int]) -> dict[str, Any]:
        """Store a contact given in the read shape; a missing id is numbered, stamps default to now."""
        where = f"contact {given.get('id') if given.get('id') is not None else '(new)'}"
        writable = {rules.secondary if name == "unit" else name for name in FIELDS}
        unknown = sorted(set(given) - writable - {"id", "deleted", *STAMPS})
        if unknown:
            raise ValueError(f"{where}: field {unknown[0]!r} is not a CorporateMerch contact field")
        number = self._seed_id(where, given.get("id"), taken)
        values = _checked(where, rules, {k: v for k, v in given.items() if k in writable})
        stamps: dict[str, str] = {}
        for key in STAMPS:
            raw = given.get(key) or stamps.get("created_at") or iso_ms(self.clock.now())
            try:
                stamps[key] = iso_ms(parse_iso(raw))
            except (TypeError, ValueError) as exc:
                message = f"{where}: field {key!r}: {raw!r} is not an ISO timestamp with zone"
                raise ValueError(message) from exc
        record: dict[str, Any] = {"id": number, **_blank(), **values, **stamps}
        if given.get("deleted"):
            record["deleted"] = True
        taken.add(number)
        return record

    def _seed_id(self, where: str, given: Any, taken: set[int]) -> int:
        if given is None:
            return max([self.last_id, *self.contacts, *taken]) + 1
        number = parse_contact_id(given)
        if number is None or number < 1:
            raise ValueError(f"{where}: field 'id': must be a positive integer or null, got {given!r}")
        if number in self.contacts or number in taken:
            raise ValueError(f"{where}: field 'id': {number} is already taken")
        return number

    def add_seeded(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.contacts[record["id"]] = record
            self.last_id = max(self.last_id, record["id"])

    def ui_edit(self, contact_id: int | str, changes: dict[str, Any], rules: Rules) -> dict[str, Any]:
        """A person's edit in the UI: the same rules as the API, on the record with the changes."""
        record = self.live(contact_id)
        if record is None:
            raise KeyError(contact_id)
        where = f"contact {record['id']}"
        current = read_shape(record, secondary=rules.secondary)
        writable = {rules.secondary if name == "unit" else name for name in FIELDS}
        forbidden = sorted(set(changes) - writable)
        if forbidden:
            raise ValueError(f"{where}: field {forbidden[0]!r} cannot be edited")
        merged = {k: v for k, v in {**current, **changes}.items() if k in writable}
        self.replace(record, _checked(where, rules, merged), clear_omitted=True)
        return record

    # ------------------------------------------------------------------ snapshot

    def export(self) -> dict[str, Any]:
        return {
            "contacts": copy.deepcopy(sorted(self.contacts.values(), key=lambda r: r["id"])),
            "lists": self.catalogue("lists"),
            "labels": self.catalogue("labels"),
            "last_id": self.last_id,
        }

    def load(self, data: dict[str, Any]) -> None:
        self.contacts = {int(c["id"]): copy.deepcopy(c) for c in data.get("contacts", [])}
        self.catalogues = {
            kind: {int(item["id"]): item["name"] for item in data.get(kind, [])} for kind in CATALOGUES
        }
        self.last_id = max([int(data.get("last_id", 0)), *self.contacts])

    def clear(self) -> None:
        self.contacts.clear()
        self.catalogues = {kind: {} for kind in CATALOGUES}
        self.last_id = 0


def _blank() -> dict[str, Any]:
    return {name: ([] if name in ID_LIST_FIELDS else None) for name in FIELDS}


def _checked(where: str, rules: Rules, values: dict[str, Any]) -> dict[str, Any]:
    try:
        return rules.check(values, address_required=False)
    except ValidationError as exc:
        field = exc.first_field()
        raise ValueError(f"{where}: field {field!r}: {exc.errors[field][0]}") from exc
