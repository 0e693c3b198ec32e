"""Tag writes of the LeadConnector simulator: per-contact add/remove and the bulk endpoint.

Tags are compared without case (an open question in apis.md; the location lower-cases them by
default). The bulk endpoint answers per contact, with the error messages the spec lists.
"""

from __future__ import annotations

from typing import Any

from syncengine.sim.leadconnector.store import ContactStore
from syncengine.sim.leadconnector.values import ValidationError

_FIREBASE_ID_LENGTH = 20
_BULK_KEYS = ("contacts", "tags", "locationId", "removeAllTags")


def with_tags(tags: list[str], adding: list[str]) -> list[str]:
    have = {t.lower() for t in tags}
    return tags + [t for t in adding if t.lower() not in have]


def without_tags(tags: list[str], removing: list[str]) -> list[str]:
    gone = {t.lower() for t in removing}
    return [t for t in tags if t.lower() not in gone]


def check_tags_body(body: Any) -> list[str]:
    """The ``{"tags": [...]}`` body of the per-contact endpoints; raises ``ValidationError``."""
    if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
        raise ValidationError(["tags must be an array"])
    errors = [f"property {k} should not exist" for k in sorted(set(body) - {"tags"})]
    if not all(isinstance(t, str) for t in body["tags"]):
        errors.append("each value in tags must be a string")
    if errors:
        raise ValidationError(errors)
    return body["tags"]


def check_bulk_body(kind: str, body: Any) -> dict[str, Any]:
    """The body of ``POST /contacts/bulk/tags/update/{type}``; raises ``ValidationError``."""
    if kind not in ("add", "remove"):
        raise ValidationError(["type must be one of the following values: add, remove"])
    if not isinstance(body, dict):
        raise ValidationError(["request body must be a JSON object"])
    errors = [f"property {k} should not exist" for k in body if k not in _BULK_KEYS]
    for key in ("contacts", "tags"):
        if not isinstance(body.get(key), list) or not all(isinstance(v, str) for v in body[key]):
            errors.append(f"{key} must be an array of strings")
    if not isinstance(body.get("locationId"), str):
        errors.append("locationId must be a string")
    remove_all = body.get("removeAllTags", False)
    if not isinstance(remove_all, bool) or (remove_all and kind == "add"):
        errors.append("removeAllTags must be a boolean and can only be used with remove")
    if errors:
        raise ValidationError(errors)
    return body


def bulk_update_one(
    store: ContactStore, contact_id: str, kind: str, tags: list[str], *, remove_all: bool, location_id: str
) -> dict[str, Any]:
    """Apply a bulk tag change to one contact; the per-contact item of the bulk answer."""

    def error(message: str) -> dict[str, Any]:
        return {"contactId": contact_id, "message": message, "type": "error"}

    if len(contact_id) != _FIREBASE_ID_LENGTH or not contact_id.isalnum():
        return error("contact id is not a valid firebase id")
    record = store.contacts.get(contact_id)
    if record is None:
        return error("contact not found")
    if record.get("deleted"):
        return error("contact is deleted")
    if record["locationId"] != location_id:
        return error("contact does not belong to location")
    old = list(record.get("tags") or [])
    if kind == "add":
        new = with_tags(old, tags)
    else:
        new = [] if remove_all else without_tags(old, tags)
    store.update(record, {"tags": new})
    olds = {t.lower() for t in old}
    news = {t.lower() for t in new}
    return {
        "contactId": contact_id,
        "message": "Tags updated",
        "type": "success",
        "oldTags": old,
        "tagsAdded": [t for t in new if t.lower() not in olds],
        "tagsRemoved": [t for t in old if t.lower() not in news],
    }
