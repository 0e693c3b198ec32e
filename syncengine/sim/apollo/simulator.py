"""An Apollo.io REST API simulator: the contact endpoints and the catalogues a sync needs.

Every vendor path is served under the current ``/api/v1`` prefix and the legacy ``/v1`` one.
Requests authenticate with ``x-api-key``; anything else gets the documented ``text/plain`` 401
(``Invalid access credentials.`` for an ``Authorization: Bearer`` header). Behaviour follows the
vendor's OpenAPI document and docs as summarised in apis.md section 1; the switches for what they
leave open live in ``ApolloSettings`` (constructor keywords or ``PUT /__admin/settings``).
There is no delete endpoint, as in the real API: ``ui_delete`` marks a contact deleted, after
which it answers 422.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from syncengine.sim.apollo import catalogue_api
from syncengine.sim.apollo.access import Call, authenticate, authorize
from syncengine.sim.apollo.admin import admin_routes
from syncengine.sim.apollo.bulk import (
    Jobs,
    bulk_create,
    bulk_update,
    change_membership,
    due_after,
    ids_and_value,
    run_due_jobs,
    set_on_many,
)
from syncengine.sim.apollo.catalogues import CatalogueError, Catalogues
from syncengine.sim.apollo.limits import ENDPOINTS, RateLimits, burst_response
from syncengine.sim.apollo.search import parse_search, run_search
from syncengine.sim.apollo.seed import edit_record, seed_record
from syncengine.sim.apollo.settings import ApolloSettings
from syncengine.sim.apollo.shapes import CREATE_FIELDS, UPDATE_FIELDS
from syncengine.sim.apollo.store import ContactStore, WriteOptions
from syncengine.sim.apollo.values import ApolloError, IdSource, unprocessable
from syncengine.sim.core import SimState, build_app, iso_ms

PREFIXES = ("/api/v1", "/v1")
CONTACT_MISSING = "Oops! This contact does not exist in Apollo."
CONTACT_DELETED = "This contact has been deleted."
UPDATE_DELETED = "Cannot update contact as it is deleted."

Handler = Callable[[Call], Any]


class ApolloSim:
    """One Apollo team: contacts, lists, stages, custom fields, users, rate limits."""

    name = "apollo"

    def __init__(self, api_key: str = "sim-apollo-key", *, seed: int = 0, **settings: Any) -> None:
        self._api_key = api_key
        self.seed = seed
        self._default_settings = settings
        self.settings = ApolloSettings()
        self.settings.update(settings)
        self.state = SimState()
        self.ids = IdSource(seed)
        self.catalogues = Catalogues(self.ids)
        self.store = ContactStore(self.catalogues, self.ids, self._now)
        self.jobs = Jobs()
        self.limits = RateLimits(self.state.clock)
        self._app: ASGIApp | None = None
        self.reset()

    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            self._app = build_app(self)
        return self._app

    def _now(self) -> str:
        return iso_ms(self.state.clock.now())

    # ------------------------------------------------------------------ Python surface

    def seed_contacts(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store contacts given in the read shape; all or none (a bad record raises ValueError)."""
        with self.state.lock:
            saved = self.export_state()
            try:
                stored = [seed_record(self.store, record) for record in records]
            except ValueError:
                self.import_state(saved)
                raise
            return copy.deepcopy(stored)

    def contacts(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        with self.state.lock:
            run_due_jobs(self.store, self.jobs)
            records = sorted(self.store.contacts.values(), key=lambda r: (r["created_at"], r["id"]))
            return [copy.deepcopy(r) for r in records if include_deleted or r["id"] not in self.store.deleted]

    def ui_edit(self, contact_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            record = self.store.live(contact_id)
            if record is None:
                raise KeyError(contact_id)
            try:
                edit_record(self.store, record, changes)
            finally:
                self.store.changed(record)  # a refused edit may have written some fields
            return copy.deepcopy(record)

    def ui_delete(self, contact_id: str) -> None:
        with self.state.lock:
            if self.store.live(contact_id) is None:
                raise KeyError(contact_id)
            self.store.delete(contact_id, self._now())

    def seed_labels(self, labels: list[Any]) -> list[dict[str, Any]]:
        """Create lists from names or ``{name, modality?, id?}``; existing names are kept."""
        with self.state.lock:
            created = []
            for item in labels:
                item = {"name": item} if isinstance(item, str) else item
                if (
                    not isinstance(item, dict)
                    or not isinstance(item.get("name"), str)
                    or not item["name"].strip()
                ):
                    raise ValueError(f"label {item!r} needs a non-empty name")
                modality = item.get("modality", "contacts")
                if modality not in ("contacts", "accounts"):
                    raise ValueError(f"label {item['name']!r}: modality must be contacts or accounts")
                label = self.catalogues.label_by_name(item["name"], modality) or self.catalogues.create_label(
                    item["name"], modality, self._now(), label_id=item.get("id")
                )
                created.append(catalogue_api.label_listing(self.store, label))
            return created

    def seed_stages(self, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.state.lock:
            return [self.catalogues.add_stage(_mapping(s, "contact stage")) for s in stages]

    def seed_custom_fields(self, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create typed custom fields from ``{name, type, modality?, picklist_values?, id?}``."""
        with self.state.lock:
            return [
                self.catalogues.add_custom_field(_mapping(f, "custom field"), self._now()) for f in fields
            ]

    def seed_users(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.state.lock:
            return [self.catalogues.add_user(_mapping(u, "user"), self._now()) for u in users]

    def seed_accounts(self, accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(self.catalogues.add_account(_mapping(a, "account"), self._now())) for a in accounts]

    def catalogue_listings(self) -> dict[str, Callable[[], list[dict[str, Any]]]]:
        def locked(read: Callable[[], Any]) -> Callable[[], Any]:
            def run() -> Any:
                with self.state.lock:
                    return copy.deepcopy(read())

            return run

        return {
            "labels": locked(lambda: catalogue_api.list_labels(self.store)),
            "contact_stages": locked(lambda: catalogue_api.contact_stages(self.store)["contact_stages"]),
            "typed_custom_fields": locked(lambda: list(self.catalogues.custom_fields.values())),
            "users": locked(lambda: list(self.catalogues.users.values())),
            "accounts": locked(lambda: list(self.catalogues.accounts.values())),
        }

    def job_list(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [{**copy.deepcopy(j["job"]), "due_at": j["due_at"]} for j in self.jobs.items]

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change team switches (see ``ApolloSettings``); returns them all."""
        with self.state.lock:
            self.settings.update(data)
            return self.settings.to_json()

    # ------------------------------------------------------------------ Backend protocol

    def routes(self) -> list[BaseRoute]:
        table = [  # path, methods, endpoint action (scope and rate-limit key), handler
            ("/contacts/search", "POST", "contacts/search", self._search),
            ("/contacts/bulk_create", "POST", "contacts/bulk_create", self._bulk_create),
            ("/contacts/bulk_update", "POST", "contacts/bulk_update", self._bulk_update),
            ("/contacts/update_stages", "POST", "contacts/update_stages", self._update_stages),
            ("/contacts/update_owners", "POST", "contacts/update_owners", self._update_owners),
            ("/contacts", "POST", "contacts/create", self._create),
            ("/contacts", "PUT", "contacts/update", self._update),  # legacy: id in the body
            ("/contacts/{contact_id}", "GET", "contacts/show", self._show),
            ("/contacts/{contact_id}", "PATCH PUT", "contacts/update", self._update),
            ("/contact_stages", "GET", "contact_stages/index", self._stages),
            ("/labels", "GET", "labels/index", self._labels),
            ("/labels", "POST", "labels/create", self._create_label),
            ("/labels/add_entity_ids_to_label_names", "POST",
             "labels/add_entity_ids_to_label_names", self._add_to_lists),
            ("/labels/remove_entity_ids_from_label_names", "POST",
             "labels/remove_entity_ids_from_label_names", self._remove_from_lists),
            ("/labels/{label_id}", "PATCH", "labels/update", self._update_label),
            ("/fields", "GET", "fields/index", self._fields),
            ("/fields", "POST", "fields/create", self._create_field),
            ("/typed_custom_fields", "GET", "typed_custom_fields/index", self._typed_custom_fields),
            ("/users/search", "GET", "users/search", self._users),
            ("/usage_stats/api_usage_stats", "POST", "usage_stats/api_usage_stats", self._usage),
        ]  # fmt: skip
        api = [Route(path, self._vendor(name, handler), methods=methods.split())
               for path, methods, name, handler in table]  # fmt: skip
        return [
            *(Mount(prefix, routes=api) for prefix in PREFIXES),
            Route("/{rest:path}", _not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]

    def admin_routes(self) -> list[BaseRoute]:
        return admin_routes(self)

    def too_many_requests(self) -> Response:
        return burst_response(self.limits.limits["minute"])

    def reset(self) -> None:
        self.settings = ApolloSettings()
        self.settings.update(self._default_settings)
        self.ids.counter = 0
        self.catalogues.reset(self._now())
        self.store.clear()
        self.jobs.items.clear()
        self.limits.reset()

    def export_state(self) -> dict[str, Any]:
        with self.state.lock:
            return copy.deepcopy(
                {
                    "contacts": list(self.store.contacts.values()),
                    "deleted": dict(self.store.deleted),
                    **self.catalogues.export(),
                    "jobs": self.jobs.items,
                    "id_counter": self.ids.counter,
                    "settings": self.settings.to_json(),
                    "limits": self.limits.settings(),
                }
            )

    def import_state(self, data: dict[str, Any]) -> None:
        with self.state.lock:
            data = copy.deepcopy(data)
            self.store.contacts = {r["id"]: r for r in data.get("contacts", [])}
            self.store.deleted = dict(data.get("deleted", {}))
            self.store.reindex()
            self.catalogues.load(data)
            self.jobs.items = list(data.get("jobs", []))
            self.ids.counter = int(data.get("id_counter", self.ids.counter))
            if "settings" in data:
                self.settings = ApolloSettings()
                self.settings.update(data["settings"])
            if "limits" in data and data["limits"] != self.limits.settings():
                self.limits.reset()
                self.limits.configure(data["limits"])

    def configure_limits(self, data: dict[str, Any]) -> dict[str, Any]:
        if "day_headers" in data:
            self.settings.update({"day_headers": data.pop("day_headers")})
        return {**self.limits.configure(data), "day_headers": self.settings.day_headers}

    # ------------------------------------------------------------------ request plumbing

    def _vendor(self, endpoint_name: str, handler: Handler) -> Callable[[Request], Any]:
        """Authentication, key scope, rate limits and error bodies around one handler."""
        endpoint = ENDPOINTS[endpoint_name]

        async def route(request: Request) -> Response:
            raw = await request.body()
            denied = authenticate(request, self._api_key)
            if denied is not None:
                return denied
            with self.state.lock:
                forbidden = authorize(self.settings, endpoint)
                if forbidden is not None:
                    return forbidden
                limited = self.state.rate_limits_enabled
                if limited:
                    window = self.limits.take(endpoint)
                    if window is not None:
                        return self.limits.too_many_requests(endpoint, window, self.settings.day_headers)
                run_due_jobs(self.store, self.jobs)
                try:
                    call = Call.of(request, raw)
                    answer = handler(call)
                    response = answer if isinstance(answer, Response) else JSONResponse(answer)
                except ApolloError as exc:
                    response = JSONResponse(exc.body, status_code=exc.status)
                if limited:
                    response.headers.update(self.limits.headers(endpoint, self.settings.day_headers))
            return response

        return route

    def _existing(self, contact_id: str) -> dict[str, Any]:
        if contact_id in self.store.deleted:
            raise unprocessable(CONTACT_DELETED)
        record = self.store.contacts.get(contact_id)
        if record is None:
            raise unprocessable(CONTACT_MISSING)
        return record

    def _answer(self, record: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"contact": copy.deepcopy(record), "labels": self.store.labels_of(record), **extra}

    def _due_at(self) -> str:
        return due_after(self._now(), self.settings.async_delay_seconds)

    # ------------------------------------------------------------------ contact endpoints

    def _show(self, call: Call) -> Any:
        return self._answer(self._existing(call.path["contact_id"]))

    def _create(self, call: Call) -> Any:
        body = call.object()
        changes = self.store.check_write(body, CREATE_FIELDS)
        if body.get("run_dedupe") is True:
            found = self.store.find_match(body)
            if found is not None:
                record, reason = found
                options = WriteOptions(
                    merge_custom_fields=self.settings.custom_fields_merge, verify_email=False
                )
                self.store.update(record, changes, options)
                result = {"found_existing": True, "match_reason": reason, "existing_contact_id": record["id"]}
                return self._answer(record, dedupe_result=result)
        return self._answer(self.store.create(changes, WriteOptions()))

    def _update(self, call: Call) -> Any:
        body = call.object()
        contact_id = call.path.get("contact_id") or body.get("id")
        if not isinstance(contact_id, str) or not contact_id:
            raise unprocessable(CONTACT_MISSING)
        if contact_id in self.store.deleted:
            raise unprocessable(UPDATE_DELETED, deleted_contact_ids=[contact_id])
        record = self._existing(contact_id)
        changes = self.store.check_write(body, UPDATE_FIELDS)
        options = WriteOptions(
            create_labels=self.settings.label_names_autocreate,
            merge_custom_fields=self.settings.custom_fields_merge,
        )
        self.store.update(record, changes, options)
        return self._answer(record)

    def _search(self, call: Call) -> Any:
        return run_search(parse_search(call.object()), self.store, page_cap=self.settings.page_cap)

    def _bulk_create(self, call: Call) -> Any:
        return bulk_create(self.store, call.object(), placeholders_in=self.settings.bulk_create_placeholders)

    def _bulk_update(self, call: Call) -> Any:
        return bulk_update(self.store, call.object(), self.jobs, self._due_at())

    def _update_stages(self, call: Call) -> Any:
        ids, stage_id = ids_and_value(call.query, call.body, "contact_stage_id")
        records = set_on_many(self.store, ids, "contact_stage_id", stage_id)
        return {"contacts": [copy.deepcopy(r) for r in records]}

    def _update_owners(self, call: Call) -> Any:
        ids, owner_id = ids_and_value(call.query, call.body, "owner_id")
        records = set_on_many(self.store, ids, "owner_id", owner_id)
        return {"contacts": [{k: r[k] for k in ("id", "owner_id", "crm_owner_id")} for r in records]}

    # ------------------------------------------------------------------ catalogue endpoints

    def _stages(self, call: Call) -> Any:
        return catalogue_api.contact_stages(self.store)

    def _labels(self, call: Call) -> Any:
        return catalogue_api.list_labels(self.store)

    def _create_label(self, call: Call) -> Any:
        return catalogue_api.create_label(self.store, call.object())

    def _update_label(self, call: Call) -> Any:
        return catalogue_api.update_label(self.store, call.path["label_id"], call.object())

    def _add_to_lists(self, call: Call) -> Any:
        return change_membership(
            self.store, call.object(), adding=True, jobs=self.jobs, due_at=self._due_at()
        )

    def _remove_from_lists(self, call: Call) -> Any:
        return change_membership(
            self.store, call.object(), adding=False, jobs=self.jobs, due_at=self._due_at()
        )

    def _fields(self, call: Call) -> Any:
        return catalogue_api.list_fields(self.store, call.first("source"))

    def _create_field(self, call: Call) -> Any:
        return catalogue_api.create_field(self.store, call.object())

    def _typed_custom_fields(self, call: Call) -> Any:
        return catalogue_api.typed_custom_fields(self.store)

    def _users(self, call: Call) -> Any:
        return catalogue_api.search_users(self.store, {k: v[0] for k, v in call.query.items() if v})

    def _usage(self, call: Call) -> Any:
        return self.limits.usage()


def _mapping(item: Any, what: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise CatalogueError(f"every {what} must be a JSON object, got {item!r}")
    return item


async def _not_found(request: Request) -> Response:
    return JSONResponse({"error": "Not Found"}, status_code=404)
