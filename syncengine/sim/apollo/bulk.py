"""Apollo's many-record endpoints: bulk create and update, stage and owner changes, list membership.

Documented [SPEC, apis.md 1.7-1.8]: ``bulk_create`` takes up to 100 contacts, never overwrites a
match (with ``run_dedupe`` matches come back unmodified in ``existing_contacts``; "email_import"
placeholders are merged); ``bulk_update`` takes up to 1000, synchronously up to 100 and as an
``entity_progress_job`` above that or with ``async: true``; ``update_stages``/``update_owners``
read their parameters from the query string or the JSON body; list membership changes by name.
An asynchronous job is applied once the simulated clock passes its due time (immediately with the
default delay of 0), answering with the job shape either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from syncengine.sim.apollo.catalogues import DEFAULT_USER_ID, LABEL_MODALITIES
from syncengine.sim.apollo.shapes import (
    BULK_CREATE_FIELDS,
    BULK_UPDATE_FIELDS,
    SOURCE_NAMES,
    bulk_created_item,
    bulk_existing_item,
    bulk_updated_item,
)
from syncengine.sim.apollo.store import ContactStore, WriteOptions
from syncengine.sim.apollo.values import not_a_valid_id, unprocessable, valid_email
from syncengine.sim.core import iso_ms, parse_iso

MAX_BULK_CREATE = 100
MAX_BULK_UPDATE = 1000
MAX_SYNC_BULK_UPDATE = 100
NO_CONTACT_ATTRIBUTES = 'Please provide an array of contact attributes in the "contact_attributes" parameter.'
TOO_MANY_TO_CREATE = "Please limit your array to 100 contacts or fewer."
NO_IDS_OR_ATTRIBUTES = "Please provide either contact_ids or contact_attributes"
TOO_MANY_TO_UPDATE = "Please limit your array to fewer than 1000."
NOTHING_TO_LABEL = "No Models or Lists provided"
BULK_OPTIONS = WriteOptions()


class Jobs:
    """Asynchronous work: the job shape answered at once, the payload applied when due."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, job: dict[str, Any], kind: str, payload: Any, due_at: str) -> dict[str, Any]:
        self.items.append({"job": job, "kind": kind, "payload": payload, "due_at": due_at, "done": False})
        return job

    def due(self, now_at: str) -> list[dict[str, Any]]:
        now = parse_iso(now_at)
        return [j for j in self.items if not j["done"] and parse_iso(j["due_at"]) <= now]


def bulk_create(
    store: ContactStore, body: dict[str, Any], *, placeholders_in: str = "existing_contacts"
) -> dict[str, Any]:
    """Create the sent contacts; matches (``run_dedupe``) come back unmodified in
    ``existing_contacts``, merged "email_import" placeholders in the array ``placeholders_in``."""
    items = body.get("contacts")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise unprocessable(NO_CONTACT_ATTRIBUTES)
    if len(items) > MAX_BULK_CREATE:
        raise unprocessable(TOO_MANY_TO_CREATE)
    owner_id = body.get("owner_id")
    if owner_id is not None and (not isinstance(owner_id, str) or owner_id not in store.catalogues.users):
        raise not_a_valid_id(owner_id)
    append = store.check_write(
        {"append_label_names": body.get("append_label_names")}, frozenset({"append_label_names"})
    )
    checked = [store.check_write(item, BULK_CREATE_FIELDS) for item in items]  # all or nothing
    run_dedupe = body.get("run_dedupe") is True
    created: list[dict[str, Any]] = []
    existing: list[dict[str, Any]] = []
    for item, changes in zip(items, checked, strict=True):
        changes = {**changes, **append}
        found = store.find_match(item) if run_dedupe else None
        if found is None:
            placeholder = store.email_placeholder(item.get("email"))
        else:
            placeholder = found[0] if found[0]["original_source"] == "email_import" else None
        if placeholder is not None:
            # placeholders from email imports are merged, with or without run_dedupe
            store.update(
                placeholder, {**changes, "owner_id": owner_id} if owner_id else changes, BULK_OPTIONS
            )
            store.touch(placeholder, "source", "api")
            placeholder["source_display_name"] = SOURCE_NAMES["api"]
            if placeholders_in == "created_contacts":
                created.append(bulk_created_item(placeholder))
            else:
                existing.append(bulk_existing_item(placeholder))
        elif found is not None:
            existing.append(bulk_existing_item(found[0]))
        else:
            record = store.create(changes, BULK_OPTIONS, owner_id=owner_id)
            created.append(bulk_created_item(record))
    return {"created_contacts": created, "existing_contacts": existing}


def bulk_update(store: ContactStore, body: dict[str, Any], jobs: Jobs, due_at: str) -> dict[str, Any]:
    writes = _bulk_writes(store, body)
    if body.get("async") is True or len(writes) > MAX_SYNC_BULK_UPDATE:
        at = store.now()
        job = {
            "id": store.ids.hex24(),
            "job_type": "contact_bulk_update",
            "status": "pending",
            "entity_ids": [cid for cid, _ in writes],
            "created_at": at,
            "updated_at": at,
        }
        return {"entity_progress_job": jobs.add(job, "bulk_update", writes, due_at)}
    updated = apply_bulk_update(store, writes)
    visible = body.get("visible_entity_ids")
    if isinstance(visible, list):
        updated = [r for r in updated if r["id"] in visible]
    return {"contacts": [bulk_updated_item(r) for r in updated]}


def _bulk_writes(store: ContactStore, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    ids, attributes = body.get("contact_ids"), body.get("contact_attributes")
    if isinstance(attributes, list) and attributes:
        items = attributes
    elif isinstance(ids, list) and ids:
        shared = {k: v for k, v in body.items() if k in BULK_UPDATE_FIELDS}
        items = [{**shared, "id": cid} for cid in ids]
    else:
        raise unprocessable(NO_IDS_OR_ATTRIBUTES)
    if len(items) > MAX_BULK_UPDATE:
        raise unprocessable(TOO_MANY_TO_UPDATE)
    writes = []
    for item in items:
        contact_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(contact_id, str) or not contact_id:
            raise unprocessable(
                "Validation failed",
                error_details={"contact_id": None, "field": "id", "message": "can't be blank"},
            )
        changes = store.check_write(item, BULK_UPDATE_FIELDS)
        if changes.get("email") and valid_email(changes["email"]) is None:
            details = {"contact_id": contact_id, "field": "email", "message": "Invalid email format"}
            raise unprocessable("Validation failed", error_details=details)
        writes.append((contact_id, changes))
    return writes


def apply_bulk_update(store: ContactStore, writes: list[Any]) -> list[dict[str, Any]]:
    """Apply ``[(contact_id, changes)]``; ids of missing or deleted contacts are skipped."""
    updated = []
    for contact_id, changes in writes:
        record = store.live(contact_id)
        if record is not None:
            store.update(record, changes, BULK_OPTIONS)
            updated.append(record)
    return updated


# --------------------------------------------------------------------------- stages and owners


def ids_and_value(query: dict[str, list[str]], body: Any, value_key: str) -> tuple[list[str], str]:
    """``contact_ids[]`` and the value, from the query string (current spec) or the body (legacy)."""
    body = body if isinstance(body, dict) else {}
    ids = query.get("contact_ids[]") or query.get("contact_ids") or body.get("contact_ids") or []
    if isinstance(ids, str):
        ids = [ids]
    ids = [i for i in ids if isinstance(i, str) and i]
    if not ids:
        raise unprocessable("Required parameter 'contact_ids' missing")
    value = (query.get(value_key) or [None])[0] or body.get(value_key)
    if not isinstance(value, str) or not value:
        raise unprocessable(f"Required parameter '{value_key}' missing")
    return ids, value


def set_on_many(store: ContactStore, ids: list[str], key: str, value: str) -> list[dict[str, Any]]:
    known = store.catalogues.stages if key == "contact_stage_id" else store.catalogues.users
    if value not in known:
        raise not_a_valid_id(value)
    records = [r for r in (store.live(i) for i in ids) if r is not None]
    for record in records:
        store.touch(record, key, value)
    return records


# --------------------------------------------------------------------------- list membership


def change_membership(
    store: ContactStore, body: Any, *, adding: bool, jobs: Jobs, due_at: str
) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    modality = body.get("modality")
    if modality not in LABEL_MODALITIES:
        raise unprocessable(f"Invalid modality: {modality if modality is not None else ''}.")
    entity_ids = [i for i in _strings(body.get("entity_ids")) if _entity(store, modality, i) is not None]
    names = [n for n in _strings(body.get("label_names")) if n.strip()]
    if not entity_ids or not names:
        return {"message": NOTHING_TO_LABEL}
    if body.get("async") is True:
        job = {
            "id": store.ids.hex24(),
            "user_id": DEFAULT_USER_ID,
            "job_type": "add_entities_to_labels" if adding else "remove_entities_from_labels",
            "entity_ids": entity_ids,
            "params": {"modality": modality, "label_names": names},
            "progress": -1,
            "batch_size": None,
        }
        payload = {"modality": modality, "entity_ids": entity_ids, "label_names": names, "adding": adding}
        return {"entity_progress_job": jobs.add(job, "membership", payload, due_at)}
    labels = apply_membership(store, modality, entity_ids, names, adding)
    return {"labels": [store.label_short(label, book_of_business=True) for label in labels]}


def apply_membership(
    store: ContactStore, modality: str, entity_ids: list[str], names: list[str], adding: bool
) -> list[dict[str, Any]]:
    at = store.now()
    label_ids = store.catalogues.label_ids_for(names, modality, at, create=adding)
    change: Callable[[list[str]], list[str]] = (
        (lambda held: held + [i for i in label_ids if i not in held])
        if adding
        else (lambda held: [i for i in held if i not in label_ids])
    )
    for entity_id in entity_ids:
        entity = _entity(store, modality, entity_id)
        if entity is None:
            continue
        if modality == "contacts":
            store.touch(entity, "label_ids", change(entity["label_ids"]))
        else:
            entity["label_ids"] = change(entity["label_ids"])
    labels = [store.catalogues.labels[i] for i in label_ids]
    for label in labels:
        label["updated_at"] = at
    return labels


def run_due_jobs(store: ContactStore, jobs: Jobs) -> None:
    for item in jobs.due(store.now()):
        payload = item["payload"]
        if item["kind"] == "bulk_update":
            apply_bulk_update(store, payload)
        else:
            apply_membership(
                store, payload["modality"], payload["entity_ids"], payload["label_names"], payload["adding"]
            )
        item["done"] = True
        item["job"]["status"] = "completed"
        if "progress" in item["job"]:
            item["job"]["progress"] = 100


def _entity(store: ContactStore, modality: str, entity_id: str) -> dict[str, Any] | None:
    if modality == "contacts":
        return store.live(entity_id)
    return store.catalogues.accounts.get(entity_id)


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def due_after(now_at: str, seconds: float) -> str:
    return iso_ms(parse_iso(now_at) + timedelta(seconds=seconds))
