"""The data of one simulated LeadConnector location: contacts, tag and custom-field catalogues.

Every change to a contact is kept as a timed version so that search, which reads an index that
lags behind the database, can see each record as it was ``search_lag_seconds`` ago.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from syncengine.sim.core import IdMaker, SearchCache, SimClock, iso_ms, parse_iso
from syncengine.sim.leadconnector.shapes import DERIVED_KEYS, get_shape
from syncengine.sim.leadconnector.values import (
    CUSTOM_FIELD_TYPES,
    UPDATE_FIELDS,
    WriteValidator,
    split_name,
)

# Read-only extras a person (or the seed data) may set, but the API may not.
UI_ONLY_KEYS = frozenset(
    {"gender", "additionalEmails", "additionalPhones", "attributionSource", "lastAttributionSource",
     "businessId", "visitorId", "lastActivity", "attachments", "followers", "opportunities"}
)  # fmt: skip
SEED_KEYS = UPDATE_FIELDS | UI_ONLY_KEYS | {"id", "locationId", "dateAdded", "dateUpdated", "deleted"}
# Computed or answer-only keys a seed record may carry; they are recomputed, not stored.
SEED_IGNORED = DERIVED_KEYS | {
    "address", "businessName", "validEmail", "phoneLabel", "birthMonth", "birthDay", "bounceEmail",
    "unsubscribeEmail", "lastSessionActivityAt", "offers", "products",
}  # fmt: skip


@dataclass
class LocationSettings:
    """Per-location switches; the defaults follow the documentation (see apis.md 2.4-2.6)."""

    allow_duplicates: bool = False
    duplicate_match_order: tuple[str, ...] = ("email", "phone")
    search_lag_seconds: float = 0.0
    not_found_status: int = 400
    send_retry_after: bool = False
    lowercase_tags: bool = True
    unknown_custom_field: str = "ignore"

    def update(self, data: dict[str, Any]) -> None:
        known = set(asdict(self))
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown LeadConnector settings: {sorted(unknown)}")
        order = tuple(data.get("duplicate_match_order", self.duplicate_match_order))
        if not order or set(order) - {"email", "phone"} or len(set(order)) != len(order):
            raise ValueError("duplicate_match_order must list 'email' and/or 'phone' once each")
        if data.get("not_found_status", self.not_found_status) not in (400, 404):
            raise ValueError("not_found_status must be 400 or 404")
        if data.get("unknown_custom_field", self.unknown_custom_field) not in ("ignore", "reject"):
            raise ValueError("unknown_custom_field must be 'ignore' or 'reject'")
        for key in ("allow_duplicates", "send_retry_after", "lowercase_tags"):
            if key in data and not isinstance(data[key], bool):
                raise ValueError(f"{key} must be true or false")
        lag = data.get("search_lag_seconds", 0)
        if isinstance(lag, bool) or not isinstance(lag, int | float) or lag < 0:
            raise ValueError("search_lag_seconds must be a number of seconds >= 0")
        for key, value in data.items():
            setattr(self, key, order if key == "duplicate_match_order" else value)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "duplicate_match_order": list(self.duplicate_match_order)}


@dataclass
class ContactStore:
    location_id: str
    clock: SimClock
    settings: LocationSettings
    seed: int = 0
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, list[tuple[float, dict[str, Any] | None]]] = field(default_factory=dict)
    ids_issued: int = 0
    searches: SearchCache = field(default_factory=SearchCache, repr=False, compare=False)
    # Counts writes, so a search reuses its result while nothing changed (``SearchCache``).
    revision: int = field(default=0, repr=False, compare=False)
    # Told of every change made through the API or the admin edits (event name, stored contact):
    # the webhooks. Seeding and loading tell nobody.
    listeners: list[Callable[[str, dict[str, Any]], None]] = field(
        default_factory=list, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._ids = IdMaker(self.seed)
        # (kind, value) -> ids of the contacts holding it, for the duplicate check every create and
        # update makes; scanning every contact for it made a write cost grow with the location.
        self._holders: dict[tuple[str, str], set[str]] = {}
        self._held: dict[str, set[tuple[str, str]]] = {}

    # ------------------------------------------------------------------ ids, time, versions

    def new_id(self) -> str:
        while True:
            self.ids_issued += 1
            candidate = self._ids.alnum20()
            if not any(candidate in ids for ids in (self.contacts, self.tags, self.custom_fields)):
                return candidate

    def now_iso(self) -> str:
        return iso_ms(self.clock.now())

    def _commit(self, record: dict[str, Any], at: float | None = None) -> None:
        """Record the contact's new state for the lagging search index and the duplicate lookup."""
        self._relookup(record["id"], None if record.get("deleted") else record)
        now = self.clock.timestamp()
        snapshot = None if record.get("deleted") else copy.deepcopy(record)
        history = self.versions.setdefault(record["id"], [])
        history.append((min(at, now) if at is not None else now, snapshot))
        history.sort(key=lambda v: v[0])
        cutoff = now - self.settings.search_lag_seconds
        while len(history) > 1 and history[1][0] <= cutoff:
            history.pop(0)  # an older version nobody can see any more

    def _relookup(self, contact_id: str, record: dict[str, Any] | None) -> None:
        self.revision += 1
        for key in self._held.pop(contact_id, ()):
            self._holders.get(key, set()).discard(contact_id)
        if record is None:
            return
        keys = {("email", e) for e in _emails(record)}
        if record.get("phone"):
            keys.add(("phone", record["phone"]))
        self._held[contact_id] = keys
        for key in keys:
            self._holders.setdefault(key, set()).add(contact_id)

    def search_revision(self) -> int | None:
        """The revision a search result holds for; None while search lags (it moves with the clock)."""
        return None if self.settings.search_lag_seconds else self.revision

    def indexed(self) -> list[dict[str, Any]]:
        """Live contacts as search sees them: the state of ``search_lag_seconds`` ago."""
        if not self.settings.search_lag_seconds:
            return [r for r in self.contacts.values() if not r.get("deleted")]
        cutoff = self.clock.timestamp() - self.settings.search_lag_seconds
        out = []
        for history in self.versions.values():
            seen = [snap for at, snap in history if at <= cutoff]
            if seen and seen[-1] is not None:
                out.append(seen[-1])
        return out

    # ------------------------------------------------------------------ lookups

    def live(self, contact_id: str) -> dict[str, Any] | None:
        record = self.contacts.get(contact_id)
        return None if record is None or record.get("deleted") else record

    def find_by(self, kind: str, value: str | None, *, exclude: str | None = None) -> dict[str, Any] | None:
        """The oldest live contact whose email (primary or additional) or phone equals ``value``."""
        if not value:
            return None
        wanted = value.lower()

        def holds(record: dict[str, Any]) -> bool:
            if kind == "phone":
                return record.get("phone") == value
            return kind == "email" and wanted in _emails(record)

        key = (kind, wanted if kind == "email" else value)
        candidates = (self.contacts[i] for i in self._holders.get(key, ()))
        found = [r for r in candidates if not r.get("deleted") and r["id"] != exclude and holds(r)]
        return min(found, key=lambda r: (r["dateAdded"], r["id"])) if found else None

    def find_duplicate(
        self, changes: dict[str, Any], *, exclude: str | None = None
    ) -> tuple[dict[str, Any], str] | None:
        """The contact a write would duplicate, and the matching field, in the configured order."""
        for kind in self.settings.duplicate_match_order:
            found = self.find_by(kind, changes.get(kind), exclude=exclude)
            if found is not None:
                return found, kind
        return None

    def validator(self, *, unknown_custom_field: str | None = None) -> WriteValidator:
        return WriteValidator(
            self.custom_fields,
            lowercase_tags=self.settings.lowercase_tags,
            unknown_custom_field=unknown_custom_field or self.settings.unknown_custom_field,
        )

    # ------------------------------------------------------------------ writes

    def create(self, changes: dict[str, Any], *, source: str | None = None) -> dict[str, Any]:
        now = self.now_iso()
        record: dict[str, Any] = {
            "id": self.new_id(),
            "locationId": self.location_id,
            "type": "lead",
            "dnd": False,
            "tags": [],
            "customFields": [],
            "additionalEmails": [],
            "dateAdded": now,
            "dateUpdated": now,
        }
        if source:
            record["source"] = source
        apply_changes(record, {k: v for k, v in changes.items() if k != "locationId"})
        self.contacts[record["id"]] = record
        self.register_tags(record["tags"])
        self._commit(record)
        self._tell("ContactCreate", record)
        return record

    def update(self, record: dict[str, Any], changes: dict[str, Any]) -> bool:
        """Apply ``changes``; ``dateUpdated`` moves only if something really changed."""
        before = copy.deepcopy(record)
        apply_changes(record, changes)
        if record == before:
            return False
        record["dateUpdated"] = self.now_iso()
        self.register_tags(record.get("tags") or [])
        self._commit(record)
        if _without(record, "tags", "dateUpdated") != _without(before, "tags", "dateUpdated"):
            self._tell("ContactUpdate", record)
        if record.get("tags") != before.get("tags"):
            self._tell("ContactTagUpdate", record)
        return True

    def delete(self, record: dict[str, Any]) -> None:
        record["deleted"] = True
        record["dateUpdated"] = self.now_iso()
        self._commit(record)
        self._tell("ContactDelete", record)

    def _tell(self, event: str, record: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(event, record)

    def register_tags(self, names: list[str]) -> None:
        """LeadConnector adds every tag a contact gets to the location's tag list."""
        known = {t["name"].lower() for t in self.tags.values()}
        for name in names:
            if name.lower() not in known:
                known.add(name.lower())
                self.add_tag(name)

    def add_tag(self, name: str, tag_id: str | None = None) -> dict[str, Any]:
        tag = {"id": tag_id or self.new_id(), "name": name, "locationId": self.location_id}
        self.tags[tag["id"]] = tag
        return tag

    def add_custom_field(self, spec: dict[str, Any]) -> dict[str, Any]:
        name = spec.get("name")
        kind = spec.get("dataType", "TEXT")
        if not isinstance(name, str) or not name:
            raise ValueError("custom field needs a name")
        if kind not in CUSTOM_FIELD_TYPES:
            raise ValueError(f"custom field {name!r}: dataType {kind!r} is not one of {CUSTOM_FIELD_TYPES}")
        model = spec.get("model", "contact")
        key = spec.get("fieldKey") or f"{model}.{'_'.join(name.lower().split())}"
        entry = {
            "id": spec.get("id") or self.new_id(),
            "name": name,
            "fieldKey": key,
            "placeholder": spec.get("placeholder", ""),
            "dataType": kind,
            "position": spec.get("position", len(self.custom_fields) * 50),
            "picklistOptions": list(spec.get("picklistOptions", [])),
            "picklistImageOptions": [],
            "isAllowedCustomOption": bool(spec.get("isAllowedCustomOption", False)),
            "isMultiFileAllowed": bool(spec.get("isMultiFileAllowed", False)),
            "maxFileLimit": spec.get("maxFileLimit", 0),
            "locationId": self.location_id,
            "model": model,
        }
        self.custom_fields[entry["id"]] = entry
        return entry

    # ------------------------------------------------------------------ seeding and UI edits

    def seed_record(self, given: dict[str, Any]) -> dict[str, Any]:
        """Store a contact given in the API's read shape; missing ids and timestamps are made."""
        raw = dict(given)
        where = f"contact {raw.get('id', '(new)')}"
        if raw.get("name") and not (raw.get("firstName") or raw.get("lastName")):
            raw["firstName"], raw["lastName"] = split_name(raw["name"])
        if "address" in raw and "address1" not in raw:
            raw["address1"] = raw["address"]
        unknown = sorted(set(raw) - SEED_KEYS - SEED_IGNORED)
        if unknown:
            raise ValueError(f"{where}: field {unknown[0]!r} is not a LeadConnector contact field")
        now = self.now_iso()
        record: dict[str, Any] = {
            "id": raw.get("id") or self.new_id(),
            "locationId": raw.get("locationId") or self.location_id,
            "type": raw.get("type") or "lead",
            "dnd": bool(raw.get("dnd", False)),
            "dateAdded": raw.get("dateAdded") or now,
        }
        record["dateUpdated"] = raw.get("dateUpdated") or record["dateAdded"]
        for key in ("dateAdded", "dateUpdated"):
            try:
                record[key] = iso_ms(parse_iso(record[key]))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {key} {record[key]!r} is not an ISO timestamp with zone") from exc
        checked = self._checked_ui_values(where, {k: v for k, v in raw.items() if k not in record})
        apply_changes(record, checked)
        record.setdefault("tags", [])
        record.setdefault("customFields", [])
        record.setdefault("additionalEmails", [])
        if raw.get("deleted"):
            record["deleted"] = True
        self.contacts[record["id"]] = record
        self.register_tags(record["tags"])
        self._commit(record, at=parse_iso(record["dateUpdated"]).timestamp())
        return record

    def ui_edit(self, contact_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        record = self.live(contact_id)
        if record is None:
            raise KeyError(contact_id)
        where = f"contact {contact_id}"
        forbidden = sorted(set(changes) - UPDATE_FIELDS - UI_ONLY_KEYS)
        if forbidden:
            raise ValueError(f"{where}: field {forbidden[0]!r} cannot be edited")
        self.update(record, self._checked_ui_values(where, changes))
        return record

    def _checked_ui_values(self, where: str, values: dict[str, Any]) -> dict[str, Any]:
        """UI values through the API's validators (UI forms normalise phones, dates ...).

        Custom fields come in the read shape ``[{id, value}]``; an unknown id is an error here.
        """
        body = {k: v for k, v in values.items() if k in UPDATE_FIELDS}
        if "customFields" in body:
            items = body["customFields"]
            if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i for i in items):
                raise ValueError(f"{where}: customFields must be a list of {{id, value}} objects")
            body["customFields"] = [{"id": i["id"], "field_value": i.get("value")} for i in items]
        try:
            checked = self.validator(unknown_custom_field="reject").check(body, UPDATE_FIELDS)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
        return {**checked, **{k: v for k, v in values.items() if k in UI_ONLY_KEYS}}

    # ------------------------------------------------------------------ snapshot

    def export(self) -> dict[str, Any]:
        return {
            "location_id": self.location_id,
            "contacts": copy.deepcopy(list(self.contacts.values())),
            "tags": list(self.tags.values()),
            "customFields": list(self.custom_fields.values()),
            "ids_issued": self.ids_issued,
        }

    def load(self, data: dict[str, Any]) -> None:
        self.contacts = {c["id"]: copy.deepcopy(c) for c in data.get("contacts", [])}
        self.tags = {t["id"]: dict(t) for t in data.get("tags", [])}
        self.custom_fields = {f["id"]: dict(f) for f in data.get("customFields", [])}
        self.versions = {}
        self._holders.clear()
        self._held.clear()
        self.revision += 1  # also when the loaded state holds no contacts
        for record in self.contacts.values():
            self._commit(record, at=parse_iso(record["dateUpdated"]).timestamp())
        self._ids.reseed(self.seed)
        self.ids_issued = 0
        for _ in range(int(data.get("ids_issued", 0))):
            self._ids.alnum20()  # fast-forward, so new ids continue the seeded sequence
            self.ids_issued += 1

    def forget(self, contact_ids: list[str]) -> None:
        """Drop contacts without a trace (undoes a seeding that failed half-way)."""
        for contact_id in contact_ids:
            self.contacts.pop(contact_id, None)
            self.versions.pop(contact_id, None)
            self._relookup(contact_id, None)

    def clear(self) -> None:
        self.contacts.clear()
        self.tags.clear()
        self.custom_fields.clear()
        self.versions.clear()
        self._holders.clear()
        self._held.clear()
        self.revision += 1
        self._ids.reseed(self.seed)
        self.ids_issued = 0

    def read(self, record: dict[str, Any]) -> dict[str, Any]:
        out = get_shape(record)
        if record.get("deleted"):
            out["deleted"] = True
        return out


def _without(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in keys}


def _emails(record: dict[str, Any]) -> set[str]:
    emails = {
        str(e.get("email", "")).lower() for e in record.get("additionalEmails") or [] if isinstance(e, dict)
    }
    if record.get("email"):
        emails.add(record["email"].lower())
    return emails


def apply_changes(record: dict[str, Any], changes: dict[str, Any]) -> None:
    """Apply validated write values to a stored contact with LeadConnector's merge rules."""
    if "name" in changes and "firstName" not in changes and "lastName" not in changes:
        record["firstName"], record["lastName"] = split_name(changes["name"] or "")
    for key, value in changes.items():
        if key == "name":
            continue
        if key == "customFields" and isinstance(value, dict):
            merged = {item["id"]: item["value"] for item in record.get("customFields") or []}
            merged.update(value)  # per-field merge: unmentioned fields keep their values
            record["customFields"] = [{"id": k, "value": v} for k, v in merged.items() if v is not None]
        elif key == "dndSettings":
            record["dndSettings"] = {**(record.get("dndSettings") or {}), **value}
        elif value == "" or value is None:
            record.pop(key, None)
        else:
            record[key] = value
