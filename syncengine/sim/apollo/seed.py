"""Contacts written in Apollo's read shape: seeding, and edits "as a person in the UI would".

Both take the vendor's own field names (``label_ids``, ``phone_numbers``, ``city``...) and derive
what Apollo would derive (``name``, ``sanitized_phone``, the location read from
``present_raw_address``, the account of ``organization_name``) unless the caller gives it too.
Bad input raises ``ValueError`` naming the record and the field.
"""

from __future__ import annotations

import copy
from typing import Any

from syncengine.sim.apollo.location import infer_location
from syncengine.sim.apollo.shapes import CONTACT_KEYS
from syncengine.sim.apollo.store import ContactStore
from syncengine.sim.apollo.values import (
    FREE_EMAIL_DOMAINS,
    email_domain,
    first_sanitized,
    is_hex24,
    sanitize_phone,
)
from syncengine.sim.core import iso_ms, parse_iso

READ_ONLY_ON_EDIT = frozenset({"id", "created_at", "updated_at", "name", "sanitized_phone"})
SEARCH_ONLY_KEYS = frozenset({"account", "organization", "contact_job_change_event"})
_ID_KEYS = ("owner_id", "creator_id", "account_id", "organization_id")
_TIMESTAMPS = ("created_at", "updated_at")


def seed_record(store: ContactStore, data: Any) -> dict[str, Any]:
    """Store one contact given in the read shape; id and timestamps are kept when given."""
    if not isinstance(data, dict):
        raise ValueError(f"contact must be a JSON object, got {type(data).__name__}")
    contact_id = data.get("id") or store.ids.hex24()
    where = f"contact {contact_id}"
    if not is_hex24(contact_id):
        raise ValueError(f"{where}: id must be 24 lowercase hex characters")
    if contact_id in store.contacts:
        raise ValueError(f"{where}: id already exists")
    stamps = {key: _timestamp(data[key], where, key) for key in _TIMESTAMPS if data.get(key)}
    created_at = stamps.get("created_at") or stamps.get("updated_at") or store.now()
    record = store.blank(contact_id, created_at, data.get("source") or "api")
    record["updated_at"] = stamps.get("updated_at") or created_at
    fields = {k: v for k, v in data.items() if k not in ("id", *_TIMESTAMPS)}
    if "name" in fields and not (fields.get("first_name") or fields.get("last_name")):
        first, _, last = str(fields["name"] or "").partition(" ")
        fields.update(first_name=first or None, last_name=last or None)
    fields.pop("name", None)
    _write_read_fields(store, record, fields, where)
    store.contacts[contact_id] = record
    store.changed(record)
    return record


def edit_record(store: ContactStore, record: dict[str, Any], changes: dict[str, Any]) -> None:
    """Change fields as a UI save does; ``updated_at`` moves to now."""
    where = f"contact {record['id']}"
    locked = sorted(set(changes) & READ_ONLY_ON_EDIT)
    if locked:
        raise ValueError(f"{where}: {', '.join(locked)} cannot be edited")
    _write_read_fields(store, record, changes, where)
    record["updated_at"] = store.now()


def _write_read_fields(store: ContactStore, record: dict[str, Any], data: dict[str, Any], where: str) -> None:
    catalogues = store.catalogues
    at = store.now()
    for key, value in data.items():
        if key in SEARCH_ONLY_KEYS:
            continue
        if key == "label_names":
            names = _string_list(value, where, key)
            record["label_ids"] = catalogues.label_ids_for(names, "contacts", at, create=True)
            continue
        if key not in CONTACT_KEYS:
            raise ValueError(f"{where}: unknown field {key!r}")
        record[key] = _checked(store, key, value, where)
    record["name"] = " ".join(p for p in (record["first_name"], record["last_name"]) if p) or None
    if "present_raw_address" in data and not {"city", "state", "country"} & set(data):
        location = infer_location(record["present_raw_address"])
        record.update(city=location.city, state=location.state, country=location.country)
    if "phone_numbers" in data and "sanitized_phone" not in data:
        record["sanitized_phone"] = first_sanitized(record["phone_numbers"])
    if "email" in data:
        verified = bool(record["email"])
        record["free_domain"] = email_domain(record["email"]) in FREE_EMAIL_DOMAINS
        if "email_status" not in data:
            record.update(
                email_status="verified" if verified else None,
                email_true_status="User Managed" if verified else None,
                email_from_customer=True if verified else None,
            )
    _link_account(store, record, data, at)


def _link_account(store: ContactStore, record: dict[str, Any], data: dict[str, Any], at: str) -> None:
    catalogues = store.catalogues
    account_id = record.get("account_id")
    if "account_id" in data and account_id and account_id not in catalogues.accounts:
        account = catalogues.add_account(
            {
                "id": account_id,
                "name": record["organization_name"] or "Unknown company",
                "organization_id": record["organization_id"],
            },
            at,
        )
        record["organization_id"] = account["organization_id"]
    elif "organization_name" in data and "account_id" not in data:
        name = record["organization_name"]
        account = catalogues.account_for_name(name, at) if name else None
        record["account_id"] = account["id"] if account else None
        if "organization_id" not in data:
            record["organization_id"] = account["organization_id"] if account else None


def _checked(store: ContactStore, key: str, value: Any, where: str) -> Any:
    catalogues = store.catalogues
    if key == "label_ids":
        ids = _string_list(value, where, key)
        unknown = [i for i in ids if i not in catalogues.labels]
        if unknown:
            raise ValueError(f"{where}: label_ids {unknown} are not lists of this team")
        return list(dict.fromkeys(ids))
    if key == "contact_stage_id" and value is not None and value not in catalogues.stages:
        raise ValueError(f"{where}: contact_stage_id {value!r} is not a stage of this team")
    if key in _ID_KEYS and value is not None and not is_hex24(value):
        raise ValueError(f"{where}: {key} {value!r} is not a 24-hex id")
    if key == "phone_numbers":
        return _phone_numbers(value, where)
    if key == "typed_custom_fields":
        if not isinstance(value, dict):
            raise ValueError(f"{where}: typed_custom_fields must be an object")
        return dict(value)
    if key == "last_activity_date" and value is not None:
        _timestamp(value, where, key)  # Apollo writes this one with "+00:00"; kept as given
    return copy.deepcopy(value)


def _phone_numbers(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: phone_numbers must be an array")
    numbers = []
    for position, item in enumerate(value):
        raw = item.get("raw_number") if isinstance(item, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"{where}: phone_numbers[{position}] needs a raw_number")
        numbers.append(
            {
                "raw_number": raw,
                "sanitized_number": item.get("sanitized_number") or sanitize_phone(raw),
                "type": item.get("type"),
                "position": item.get("position", position),
                "status": item.get("status", "no_status"),
                "dnc_status": item.get("dnc_status"),
                "dnc_other_info": item.get("dnc_other_info"),
                "dialer_flags": item.get("dialer_flags"),
            }
        )
    return numbers


def _string_list(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: {key} must be an array of strings")
    return value


def _timestamp(value: Any, where: str, key: str) -> str:
    try:
        return iso_ms(parse_iso(str(value)))
    except ValueError as exc:
        raise ValueError(f"{where}: {key} {value!r} is not an ISO timestamp with zone ({exc})") from exc
