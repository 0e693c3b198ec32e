"""Reading an Apollo team's catalogues: lists (labels), stages, typed custom fields and users.

``GET /labels`` answers a bare array (apis.md 1.8); ``GET /users/search`` needs a master key, so a
key without it leaves owners named by their ids instead of stopping the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncengine.connectors.errors import AuthError, ConfigError
from syncengine.connectors.http import HttpClient
from syncengine.fieldmaps.apollo import ApolloCatalogue, CustomField


def read_catalogue(client: HttpClient) -> ApolloCatalogue:
    stages = client.request_json("GET", "/contact_stages")
    fields = client.request_json("GET", "/typed_custom_fields")
    return ApolloCatalogue(
        labels=read_labels(client),
        stages=named(listed(stages, "contact_stages"), "name"),
        users=read_users(client),
        custom_fields=tuple(
            CustomField(
                id=f["id"],
                name=f["name"],
                type=str(f.get("type") or "string"),
                options=named(f.get("picklist_values") or [], "name"),
                max_length=_length(f.get("text_field_max_length")),
            )
            for f in listed(fields, "typed_custom_fields")
            if f.get("modality", "contact") == "contact" and isinstance(f.get("name"), str)
        ),
    )


def read_labels(client: HttpClient) -> dict[str, str]:
    """The contact lists: id -> name."""
    answer = client.request_json("GET", "/labels")
    labels = answer if isinstance(answer, list) else []
    return named([x for x in labels if isinstance(x, Mapping) and x.get("modality") == "contacts"], "name")


def read_users(client: HttpClient) -> dict[str, str]:
    """Owners by email (else name); empty when the key may not list users."""
    users: dict[str, str] = {}
    page = 1
    try:
        while True:
            answer = client.request_json("GET", "/users/search", params={"page": page, "per_page": 100})
            for user in listed(answer, "users"):
                label = user.get("email") or user.get("name")
                if isinstance(label, str) and label and not user.get("deleted"):
                    users[str(user["id"])] = label
            pagination = answer.get("pagination") if isinstance(answer, Mapping) else None
            total = pagination.get("total_pages") if isinstance(pagination, Mapping) else 0
            if page >= int(total or 0):
                return users
            page += 1
    except AuthError:
        return {}


def listed(answer: Any, key: str) -> list[Mapping[str, Any]]:
    items = answer.get(key) if isinstance(answer, Mapping) else None
    if not isinstance(items, list):
        raise ConfigError(f"the answer has no '{key}' list; check the base URL", system="apollo")
    return [item for item in items if isinstance(item, Mapping) and item.get("id")]


def named(items: Sequence[Mapping[str, Any]], key: str) -> dict[str, str]:
    return {str(i["id"]): str(i[key]) for i in items if i.get("id") and isinstance(i.get(key), str)}


def _length(value: Any) -> int | None:
    """A documented maximum length; None for none (absent, null, zero or not a number)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
