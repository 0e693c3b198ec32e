"""How a stored LeadConnector contact looks in each of the API's answers.

The simulator stores one dict per contact holding the writable fields plus ids, timestamps and
read-only extras (``additionalEmails`` ...). Derived values (``name``, the ``*LowerCase`` copies)
are computed here, per answer:

* GET, PUT and upsert answer with the spec's ``GetContectByIdSchema`` keys; unset fields are left
  out, as the spec declares no field nullable;
* create adds the ``CreateContactSchema`` extras (``deleted``, ``birthMonth`` ...);
* search items are index documents: a fixed key set (unset values are ``null``), ``address``
  instead of ``address1``, ``dateOfBirth`` as epoch ms, and the hit's ``searchAfter`` cursor.
"""

from __future__ import annotations

import functools
from typing import Any

from syncengine.sim.core import parse_iso

# Spec order of GetContectByIdSchema, then the extras seen live (issue #289).
GET_KEYS = (
    "id", "name", "locationId", "firstName", "lastName", "email", "emailLowerCase", "timezone",
    "companyName", "phone", "dnd", "dndSettings", "inboundDndSettings", "type", "source", "assignedTo",
    "address1", "city", "state", "country", "postalCode", "website", "tags", "dateOfBirth",
    "dateAdded", "dateUpdated", "attachments", "ssn", "keyword", "firstNameLowerCase",
    "fullNameLowerCase", "lastNameLowerCase", "lastActivity", "customFields", "businessId",
    "attributionSource", "lastAttributionSource", "visitorId", "additionalEmails", "additionalPhones",
)  # fmt: skip

# Keys of a search hit (issue #314 and the search document mirror).
SEARCH_KEYS = (
    "id", "locationId", "contactName", "firstName", "lastName", "firstNameLowerCase",
    "lastNameLowerCase", "companyName", "businessName", "email", "phone", "phoneLabel", "validEmail",
    "additionalEmails", "additionalPhones", "address", "city", "state", "postalCode", "country",
    "website", "timezone", "source", "type", "dnd", "dndSettings", "tags", "customFields",
    "assignedTo", "followers", "opportunities", "dateOfBirth", "dateAdded", "dateUpdated",
    "attributionSource", "lastAttributionSource", "businessId",
)  # fmt: skip

# Stored keys that a caller may never set: they are computed from other fields on every answer.
DERIVED_KEYS = frozenset(
    {"name", "emailLowerCase", "firstNameLowerCase", "lastNameLowerCase", "fullNameLowerCase",
     "contactName", "searchAfter", "address"}
)  # fmt: skip


def full_name(record: dict[str, Any]) -> str | None:
    name = " ".join(p for p in (record.get("firstName"), record.get("lastName")) if p)
    return name or None


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def derived(record: dict[str, Any]) -> dict[str, Any]:
    name = full_name(record)
    return {
        "name": name,
        "emailLowerCase": _lower(record.get("email")),
        "firstNameLowerCase": _lower(record.get("firstName")),
        "lastNameLowerCase": _lower(record.get("lastName")),
        "fullNameLowerCase": _lower(name),
    }


def get_shape(record: dict[str, Any]) -> dict[str, Any]:
    """``{"contact": ...}`` content of GET / PUT / upsert answers."""
    merged = {**record, **derived(record)}
    out = {key: merged[key] for key in GET_KEYS if merged.get(key) is not None}
    out.setdefault("tags", [])
    out.setdefault("customFields", [])
    out.setdefault("additionalEmails", [])
    return out


def create_shape(record: dict[str, Any]) -> dict[str, Any]:
    """``{"contact": ...}`` content of the create answer (``CreateContactSchema`` extras)."""
    out = get_shape(record)
    out["deleted"] = bool(record.get("deleted"))
    if record.get("dateOfBirth"):
        born = parse_iso(record["dateOfBirth"])
        out["birthMonth"] = born.month - 1  # zero-based, as the spec example (1990-09-25 -> 8) shows
        out["birthDay"] = born.day
    return out


def epoch_ms(iso: str | None) -> int | None:
    return None if iso is None else _iso_to_ms(iso)


@functools.lru_cache(maxsize=262_144)
def _iso_to_ms(iso: str) -> int:
    # Searches sort every indexed contact by a date; parsing the same strings again dominated paging.
    return int(parse_iso(iso).timestamp() * 1000)


def search_shape(record: dict[str, Any], search_after: list[Any]) -> dict[str, Any]:
    """One hit of ``POST /contacts/search``."""
    values = {
        **record,
        "contactName": _lower(full_name(record)),
        "firstNameLowerCase": _lower(record.get("firstName")),
        "lastNameLowerCase": _lower(record.get("lastName")),
        "address": record.get("address1"),
        "businessName": record.get("companyName"),
        "dateOfBirth": epoch_ms(record.get("dateOfBirth")),
        "dnd": bool(record.get("dnd")),
        "tags": record.get("tags") or [],
        "customFields": record.get("customFields") or [],
        "additionalEmails": record.get("additionalEmails") or [],
        "additionalPhones": record.get("additionalPhones") or [],
        "followers": record.get("followers") or [],
        "opportunities": record.get("opportunities") or [],
    }
    out = {key: values.get(key) for key in SEARCH_KEYS}
    out["searchAfter"] = search_after
    return out


def sort_value(record: dict[str, Any], field: str) -> int:
    """The epoch-ms sort key of a date field (what ``searchAfter`` carries)."""
    value = record.get(field)
    return _iso_to_ms(value) if value else 0
