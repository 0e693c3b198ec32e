"""Apollo's catalogue endpoints: contact stages, lists, fields, users and the usage statistics.

Bodies and error texts follow the spec's examples: ``GET /labels`` is a bare array, list names are
unique per modality (422 "<name> already exists"), ``GET /users/search`` returns ``page`` and
``per_page`` as strings, ``POST /fields`` answers ``{"typed_custom_fields": [...]}``.
"""

from __future__ import annotations

import math
from typing import Any

from syncengine.sim.apollo.catalogues import LABEL_MODALITIES, TEAM_ID, CatalogueError, needs_count_update_at
from syncengine.sim.apollo.store import ContactStore
from syncengine.sim.apollo.values import ApolloError, unprocessable

CREATABLE_FIELD_TYPES = ("string", "textarea", "number", "date", "datetime", "boolean")
CREATABLE_FIELD_MODALITIES = ("contact", "account", "opportunity")


def contact_stages(store: ContactStore) -> dict[str, Any]:
    stages = sorted(store.catalogues.stages.values(), key=lambda s: s["display_order"])
    return {"contact_stages": [dict(s) for s in stages]}


def label_listing(store: ContactStore, label: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": label["id"],
        "cached_count": store.label_short(label)["cached_count"],
        "concurrency_locks": {},
        "created_at": label["created_at"],
        "modality": label["modality"],
        "name": label["name"],
        "need_cached_count_update": False,
        "needs_count_update_at": needs_count_update_at(label["updated_at"]),
        "rule_config_template_id": None,
        "team_id": TEAM_ID,
        "updated_at": label["updated_at"],
        "user_id": label["user_id"],
        "id": label["id"],
        "key": label["id"],
    }


def list_labels(store: ContactStore) -> list[dict[str, Any]]:
    return [label_listing(store, label) for label in store.catalogues.labels.values()]


def create_label(store: ContactStore, body: dict[str, Any]) -> dict[str, Any]:
    name, modality = body.get("name"), body.get("modality")
    if not isinstance(name, str) or not name.strip():
        raise unprocessable("Please enter a non-empty name!")
    if not modality:
        raise unprocessable("Please enter a non-empty modality!")
    if modality not in LABEL_MODALITIES:
        raise unprocessable("Please enter a valid modality!")
    if store.catalogues.label_by_name(name, modality) is not None:
        raise unprocessable(f"{name.strip()} already exists", skip_alert_dialog=True)
    label = store.catalogues.create_label(name, modality, store.now())
    if isinstance(body.get("book_of_business"), bool):
        label["book_of_business"] = body["book_of_business"]
    return {"label": store.label_short(label, book_of_business=True)}


def update_label(store: ContactStore, label_id: str, body: dict[str, Any]) -> dict[str, Any]:
    label = store.catalogues.labels.get(label_id)
    if label is None:
        raise ApolloError(
            404, {"message": f"Could not find label with id {label_id}", "error": "Record not found."}
        )
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise unprocessable("Please enter a non-empty name!")
    other = store.catalogues.label_by_name(name, label["modality"])
    if other is not None and other["id"] != label_id:
        raise unprocessable(f"{name.strip()} already exists", skip_alert_dialog=True)
    label["name"] = name.strip()
    if isinstance(body.get("book_of_business"), bool):
        label["book_of_business"] = body["book_of_business"]
    label["updated_at"] = store.now()
    return {"label": store.label_short(label, book_of_business=True)}


def list_fields(store: ContactStore, source: str | None) -> dict[str, Any]:
    return {"fields": store.catalogues.fields_listing(source)}


def typed_custom_fields(store: ContactStore) -> dict[str, Any]:
    fields = [dict(f) for f in store.catalogues.custom_fields.values()]
    for field in fields:
        field.pop("created_at", None)
    return {"typed_custom_fields": fields}


def create_field(store: ContactStore, body: dict[str, Any]) -> dict[str, Any]:
    label, modality, field_type = body.get("label"), body.get("modality"), body.get("type")
    if not isinstance(label, str) or not label.strip():
        raise unprocessable("Please enter a non-empty label!")
    if modality not in CREATABLE_FIELD_MODALITIES:
        raise unprocessable(f"Invalid modality: {modality}.")
    if field_type not in CREATABLE_FIELD_TYPES:
        raise unprocessable(f"Invalid type: {field_type}.")
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    try:
        field = store.catalogues.add_custom_field(
            {"name": label, "modality": modality, "type": field_type, "meta": meta}, store.now()
        )
    except CatalogueError as exc:
        raise unprocessable(str(exc)) from exc
    shape = {k: field[k] for k in ("id", "name", "modality", "text_field_max_length")}
    return {"typed_custom_fields": [shape]}


def search_users(store: ContactStore, query: dict[str, str]) -> dict[str, Any]:
    page = max(_int(query.get("page"), 1), 1)
    per_page = min(max(_int(query.get("per_page"), 25), 1), 100)
    users = sorted(store.catalogues.users.values(), key=lambda u: u["created_at"])
    start = (page - 1) * per_page
    return {
        "pagination": {
            "page": str(page),
            "per_page": str(per_page),
            "total_entries": len(users),
            "total_pages": math.ceil(len(users) / per_page),
        },
        "users": [dict(u) for u in users[start : start + per_page]],
    }


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.strip().lstrip("-").isdigit() else default
