"""The contacts of the Apollo simulator and the write semantics every endpoint shares.

A write is a dict of API input fields (``first_name``, ``label_names``, ``mobile_phone``...).
Semantics [SPEC/SEED, apis.md 1.5-1.7]: only sent keys change; an empty value clears; ``label_names``
replaces the whole list membership; each typed phone overwrites the number of its type or adds
one; ``present_raw_address`` is kept as given and read into ``city``/``state``/``country``; invalid
emails are ignored. ``updated_at`` moves only when something really changed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from syncengine.sim.apollo.catalogues import Catalogues
from syncengine.sim.apollo.index import ContactIndex, emails_of
from syncengine.sim.apollo.location import infer_location
from syncengine.sim.apollo.shapes import (
    CONTACT_KEYS,
    DEFAULTS,
    PLAIN_FIELDS,
    PROTECTED_FIELDS,
    SOURCE_NAMES,
    STRING_LIST_FIELDS,
    TEXT_FIELDS,
)
from syncengine.sim.apollo.values import (
    FREE_EMAIL_DOMAINS,
    PHONE_TYPES,
    IdSource,
    email_domain,
    first_sanitized,
    is_hex24,
    not_a_valid_id,
    phone_entry,
    sanitize_phone,
    unprocessable,
    valid_email,
)
from syncengine.sim.core import SearchCache


@dataclass(frozen=True)
class WriteOptions:
    """How one endpoint writes: list auto-creation, custom-field merging, email verification."""

    create_labels: bool = True
    merge_custom_fields: bool = True
    verify_email: bool = True  # a run_dedupe overwrite keeps the old email_status


class ContactStore:
    def __init__(self, catalogues: Catalogues, ids: IdSource, now: Any) -> None:
        self.catalogues = catalogues
        self.ids = ids
        self.now = now  # () -> ISO timestamp with ms and Z
        self.contacts: dict[str, dict[str, Any]] = {}
        self.deleted: dict[str, str] = {}
        self.index = ContactIndex()
        self.searches = SearchCache()

    def clear(self) -> None:
        self.contacts.clear()
        self.deleted.clear()
        self.index.clear()

    def changed(self, record: dict[str, Any]) -> None:
        """Every write to a stored contact ends here, so lookups and searches see it."""
        contact_id = record["id"]
        self.index.put(record, live=contact_id in self.contacts and contact_id not in self.deleted)

    def reindex(self) -> None:
        """After the contacts were replaced wholesale (a state file loaded)."""
        self.index.clear()
        for record in self.contacts.values():
            self.changed(record)

    def delete(self, contact_id: str, at: str) -> None:
        self.deleted[contact_id] = at
        if contact_id in self.contacts:
            self.changed(self.contacts[contact_id])

    def live(self, contact_id: str) -> dict[str, Any] | None:
        if contact_id in self.deleted:
            return None
        return self.contacts.get(contact_id)

    def live_records(self) -> list[dict[str, Any]]:
        return [r for cid, r in self.contacts.items() if cid not in self.deleted]

    # ------------------------------------------------------------------ validation

    def check_write(self, body: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
        """The known fields of ``body`` with their types and referenced ids checked (422 otherwise)."""
        changes = {k: v for k, v in body.items() if k in allowed}
        for key, value in changes.items():
            if value is None:
                continue
            if key in TEXT_FIELDS and not isinstance(value, str):
                raise unprocessable(f"Parameters misconfigured. {key} must be a string")
            if key in STRING_LIST_FIELDS and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise unprocessable(f"Parameters misconfigured. {key} must be an array of strings")
            if key == "typed_custom_fields" and not isinstance(value, dict):
                raise unprocessable("Parameters misconfigured. typed_custom_fields must be an object")
            if key in ("phone_numbers", "contact_emails") and not (
                isinstance(value, list) and all(isinstance(v, dict) for v in value)
            ):
                raise unprocessable(f"Parameters misconfigured. {key} must be an array of objects")
        catalogue_of = {
            "account_id": self.catalogues.accounts,
            "contact_stage_id": self.catalogues.stages,
            "owner_id": self.catalogues.users,
        }
        for key, known in catalogue_of.items():
            value = changes.get(key)
            if value and value not in known:
                raise not_a_valid_id(value)
        if changes.get("organization_id") and not is_hex24(changes["organization_id"]):
            raise not_a_valid_id(changes["organization_id"])
        return changes

    # ------------------------------------------------------------------ writes

    def create(
        self,
        changes: dict[str, Any],
        options: WriteOptions,
        *,
        source: str = "api",
        owner_id: str | None = None,
    ) -> dict[str, Any]:
        at = self.now()
        record = self.blank(self.ids.hex24(), at, source)
        if owner_id:
            record["owner_id"] = owner_id
        self._apply(record, changes, options, at)
        self.contacts[record["id"]] = record
        self.changed(record)
        return record

    def update(self, record: dict[str, Any], changes: dict[str, Any], options: WriteOptions) -> bool:
        """Apply a write; True (and a new ``updated_at``) when the record really changed."""
        before = copy.deepcopy(record)
        at = self.now()
        self._apply(record, changes, options, at)
        if record != before:
            record["updated_at"] = at
            self.changed(record)
            return True
        return False

    def touch(self, record: dict[str, Any], key: str, value: Any) -> bool:
        if record.get(key) == value:
            return False
        record[key] = value
        record["updated_at"] = self.now()
        self.changed(record)
        return True

    def blank(self, contact_id: str, at: str, source: str) -> dict[str, Any]:
        record: dict[str, Any] = {key: copy.deepcopy(DEFAULTS.get(key)) for key in CONTACT_KEYS}
        record.update(
            id=contact_id,
            created_at=at,
            updated_at=at,
            source=source,
            original_source=source,
            source_display_name=SOURCE_NAMES.get(source, source),
            owner_id=self._default_owner(),
            creator_id=self._default_owner(),
            contact_stage_id=self.catalogues.default_stage_id,
        )
        return record

    def _default_owner(self) -> str | None:
        return next(iter(self.catalogues.users), None)

    def _apply(self, record: dict[str, Any], changes: dict[str, Any], options: WriteOptions, at: str) -> None:
        has_valid_email = self._apply_email(record, changes, options)
        for key in PLAIN_FIELDS:
            if key in changes:
                record[key] = changes[key] or None
        if changes.get("primary_title"):
            record["title"] = changes["primary_title"]
        record["name"] = " ".join(p for p in (record["first_name"], record["last_name"]) if p) or None
        self._apply_company(
            record, changes, at, website=None if has_valid_email else changes.get("website_url")
        )
        if "present_raw_address" in changes:
            raw = changes["present_raw_address"] or None
            location = infer_location(raw)
            record.update(
                present_raw_address=raw, city=location.city, state=location.state, country=location.country
            )
            if raw is None:
                record["time_zone"] = None
        for key in ("contact_stage_id", "owner_id"):
            if key in changes:
                record[key] = changes[key] or None
        if "label_names" in changes:
            record["label_ids"] = self.catalogues.label_ids_for(
                changes["label_names"] or [], "contacts", at, create=options.create_labels
            )
        if changes.get("append_label_names"):
            extra = self.catalogues.label_ids_for(changes["append_label_names"], "contacts", at, create=True)
            record["label_ids"] = record["label_ids"] + [i for i in extra if i not in record["label_ids"]]
        self._apply_phones(record, changes)
        if changes.get("contact_emails"):
            self._apply_contact_emails(record, changes["contact_emails"])
        if "typed_custom_fields" in changes:
            self._apply_custom_fields(record, changes["typed_custom_fields"] or {}, options)
        for key in PROTECTED_FIELDS:
            if changes.get(key) and not record[key]:
                record[key] = changes[key]
        hubspot = changes.get("hubspot_vid", changes.get("hubspot_id"))
        if hubspot is not None or "hubspot_vid" in changes:
            record["hubspot_vid"] = hubspot or None

    def _apply_email(self, record: dict[str, Any], changes: dict[str, Any], options: WriteOptions) -> bool:
        if "email" not in changes:
            return False
        raw = changes["email"]
        if not raw:
            record.update(
                email=None,
                email_status=None,
                email_true_status=None,
                email_from_customer=None,
                updated_email_true_status=None,
                free_domain=False,
            )
            return False
        if valid_email(raw) is None:
            return False  # "Invalid emails will be ignored" (seed 001)
        record["email"] = raw.strip()
        record["free_domain"] = email_domain(raw) in FREE_EMAIL_DOMAINS
        if options.verify_email:
            record.update(
                email_status="verified",
                email_true_status="User Managed",
                email_from_customer=True,
                updated_email_true_status=True,
            )
        return True

    def _apply_company(
        self, record: dict[str, Any], changes: dict[str, Any], at: str, website: str | None
    ) -> None:
        account_id = changes.get("account_id")
        if account_id:
            account = self.catalogues.accounts[account_id]
            record.update(account_id=account_id, organization_id=account["organization_id"])
            if "organization_name" not in changes:
                record["organization_name"] = account["name"]
        elif "account_id" in changes:
            record.update(account_id=None, organization_id=None)
        if "organization_name" in changes:
            name = changes["organization_name"] or None
            record["organization_name"] = name
            if not account_id:
                account = self.catalogues.account_for_name(name, at, website) if name else None
                record["account_id"] = account["id"] if account else None
                record["organization_id"] = account["organization_id"] if account else None
        if changes.get("organization_id"):
            record["organization_id"] = changes["organization_id"]

    def _apply_phones(self, record: dict[str, Any], changes: dict[str, Any]) -> None:
        typed = [(PHONE_TYPES[k], changes[k]) for k in PHONE_TYPES if k in changes]
        if "phone" in changes:
            typed.append(("other", changes["phone"]))
        for phone_type, raw in typed:
            set_typed_phone(record["phone_numbers"], phone_type, raw)
        for item in changes.get("phone_numbers") or []:
            raw = item.get("raw_number")
            if isinstance(raw, str) and raw.strip():
                numbers = record["phone_numbers"]
                position = item.get("position") if isinstance(item.get("position"), int) else len(numbers)
                numbers.append(phone_entry(raw, "other", position))
        if changes.get("phone_status_cd"):
            for number in record["phone_numbers"]:
                number["status"] = changes["phone_status_cd"]
        record["sanitized_phone"] = first_sanitized(record["phone_numbers"])

    def _apply_contact_emails(self, record: dict[str, Any], items: list[dict[str, Any]]) -> None:
        ordered = sorted(items, key=lambda i: i.get("position") if isinstance(i.get("position"), int) else 0)
        emails = [
            i["email"].strip() for i in ordered if isinstance(i.get("email"), str) and valid_email(i["email"])
        ]
        if emails and not record["email"]:
            record["email"] = emails.pop(0)
            record["free_domain"] = email_domain(record["email"]) in FREE_EMAIL_DOMAINS
        known = {e["email"].lower() for e in record["contact_emails"]} | {(record["email"] or "").lower()}
        for email in emails:
            if email.lower() not in known:
                record["contact_emails"].append(
                    {"email": email, "position": len(record["contact_emails"]) + 1}
                )
                known.add(email.lower())

    def _apply_custom_fields(
        self, record: dict[str, Any], values: dict[str, Any], options: WriteOptions
    ) -> None:
        current = dict(record["typed_custom_fields"]) if options.merge_custom_fields else {}
        errors: dict[str, str] = {}
        for field_id, value in values.items():
            problem = None if value in ("", None) else self.catalogues.custom_value_error(field_id, value)
            if problem:
                errors[field_id] = problem
            elif value in ("", None):
                current.pop(field_id, None)
            else:
                current[field_id] = value
        record["typed_custom_fields"] = current
        record["custom_field_errors"] = errors

    # ------------------------------------------------------------------ dedupe

    def find_match(self, body: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
        """The first contact matching ``body`` in Apollo's documented order, with the reason."""
        if isinstance(body.get("id"), str) and self.live(body["id"]):
            return self.contacts[body["id"]], "id_match"
        crm = {k: body.get(k) for k in ("salesforce_lead_id", "salesforce_contact_id", "salesforce_id")}
        crm["hubspot_vid"] = body.get("hubspot_vid") or body.get("hubspot_id")
        records = self.live_records() if any(isinstance(v, str) and v for v in crm.values()) else []
        for key, value in crm.items():
            if isinstance(value, str) and value:
                for record in records:
                    if record.get(key) == value or value in (record.get("merged_crm_ids") or []):
                        return record, "crm_id_match"
        if isinstance(body.get("person_id"), str) and body["person_id"]:
            for record in self.live_records():
                if record["person_id"] == body["person_id"]:
                    return record, "person_id_match"
        email = body.get("email")
        if isinstance(email, str) and valid_email(email):
            for record in self._with_email(email):
                return record, "email_match"
        return self._name_and_company_match(body)

    def email_placeholder(self, email: Any) -> dict[str, Any] | None:
        """The live "email_import" placeholder contact with this email, if any."""
        if not isinstance(email, str) or not email.strip():
            return None
        for record in self._with_email(email):
            if record["original_source"] == "email_import":
                return record
        return None

    def _with_email(self, email: str) -> list[dict[str, Any]]:
        """Live contacts holding ``email`` (primary or additional), in the store's order."""
        key = email.strip().lower()
        found = (self.contacts[i] for i in self.index.with_email(key))
        return [r for r in found if key in emails_of(r) and r["id"] not in self.deleted]

    def _name_and_company_match(self, body: dict[str, Any]) -> Any:
        full = " ".join(
            p for p in (body.get("first_name"), body.get("last_name")) if isinstance(p, str) and p
        )
        name = body.get("name")
        full = (full or (name if isinstance(name, str) else "")).strip().lower()
        if not full:
            return None
        company = dict(body)
        if email_domain(body.get("email")) in FREE_EMAIL_DOMAINS:
            company.pop("email")  # a free-mail domain says nothing about the employer
        for record in (self.contacts[i] for i in self.index.with_name(full)):
            if (record["name"] or "").lower() != full or record["id"] in self.deleted:
                continue
            same_name = (record["organization_name"] or "").lower() == str(
                body.get("organization_name") or ""
            ).lower()
            if (same_name and body.get("organization_name")) or self.catalogues.account_matches(
                record["account_id"], record["email"], company
            ):
                return record, "name_company_match"
        return None

    # ------------------------------------------------------------------ lists

    def label_count(self, label_id: str) -> int:
        return self.index.label_count(label_id)

    def label_short(self, label: dict[str, Any], *, book_of_business: bool = False) -> dict[str, Any]:
        shape = {
            "id": label["id"],
            "modality": label["modality"],
            "cached_count": self._count(label),
            "name": label["name"],
            "created_at": label["created_at"],
            "updated_at": label["updated_at"],
            "user_id": label["user_id"],
        }
        if book_of_business:
            shape["book_of_business"] = label.get("book_of_business")
        return shape

    def _count(self, label: dict[str, Any]) -> int:
        if label["modality"] == "accounts":
            return sum(1 for a in self.catalogues.accounts.values() if label["id"] in a["label_ids"])
        return self.label_count(label["id"])

    def labels_of(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        labels = self.catalogues.labels
        return [self.label_short(labels[i]) for i in record["label_ids"] if i in labels]


def set_typed_phone(numbers: list[dict[str, Any]], phone_type: str, raw: str | None) -> None:
    """Overwrite the number of ``phone_type``, add one if there is none, or remove it when empty."""
    existing = next((n for n in numbers if n["type"] == phone_type), None)
    if not raw:
        if existing is not None:
            numbers.remove(existing)
            for position, number in enumerate(sorted(numbers, key=lambda n: n["position"])):
                number["position"] = position
    elif existing is not None:
        existing.update(raw_number=raw, sanitized_number=sanitize_phone(raw))
    else:
        numbers.append(phone_entry(raw, phone_type, len(numbers)))
