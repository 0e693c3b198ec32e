"""A LeadConnector (GoHighLevel) API v2 simulator: the contact endpoints of Version 2021-07-28.

Paths sit at the root, as on ``https://services.leadconnectorhq.com``. Every vendor request needs
``Version`` and ``Authorization: Bearer <token>``; the token belongs to one location, which can
hold further tokens (Private Integrations, ``set_tokens``) sharing its daily rate limit. Behaviour
follows the vendor's spec (``apps/contacts.json``, ``apps/locations.json``) and what users
observed live (apis.md section 2); switches for the open questions live in ``LocationSettings``
and can be changed over ``PUT /__admin/settings``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from syncengine.sim.core import SimState, build_app
from syncengine.sim.jsonbody import load_json
from syncengine.sim.leadconnector.admin import admin_routes
from syncengine.sim.leadconnector.limits import RateLimits
from syncengine.sim.leadconnector.search import PagingError, parse_search, run_list, run_search
from syncengine.sim.leadconnector.shapes import create_shape, get_shape
from syncengine.sim.leadconnector.store import ContactStore, LocationSettings
from syncengine.sim.leadconnector.tags import (
    bulk_update_one,
    check_bulk_body,
    check_tags_body,
    with_tags,
    without_tags,
)
from syncengine.sim.leadconnector.values import (
    CREATE_FIELDS,
    UPDATE_FIELDS,
    UPSERT_FIELDS,
    ValidationError,
    unique_tags,
)
from syncengine.sim.leadconnector.webhooks import WebhookSender
from syncengine.sim.leadconnector.webhooks import admin_routes as webhook_routes

ACCEPTED_VERSIONS = frozenset({"2021-04-15", "2021-07-28", "2023-02-21", "v3"})
INVALID_TOKEN = "Invalid token: access token is invalid"
NO_LOCATION_ACCESS = "The token does not have access to this location."
DUPLICATE_NOT_ALLOWED = "This location does not allow duplicated contacts."


class VendorError(Exception):
    """An error answer of the API, with its status and body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def _unauthorized(message: str) -> VendorError:
    return VendorError(401, {"statusCode": 401, "message": message, "error": "Unauthorized"})


def _unprocessable(messages: list[str]) -> VendorError:
    return VendorError(422, {"statusCode": 422, "message": messages, "error": "Unprocessable Entity"})


def _bad_request(message: str) -> VendorError:
    return VendorError(400, {"statusCode": 400, "message": message})


@dataclass(frozen=True)
class Call:
    """What a vendor handler needs of a request: path and query parameters and the JSON body."""

    method: str
    base_url: str
    path: dict[str, str]
    query: dict[str, str]
    body: Any


Handler = Callable[[Call], Response]


class LeadConnectorSim:
    """The LeadConnector contact API of one location, served by ``core.build_app``."""

    name = "leadconnector"

    def __init__(
        self,
        token: str = "sim-lc-token",
        location_id: str = "SimLocation000000001",
        *,
        seed: int = 0,
        **settings: Any,
    ) -> None:
        self._token = token
        self._extra_tokens: tuple[str, ...] = ()
        self.location_id = location_id
        self.seed = seed
        self._default_settings = settings
        self.settings = LocationSettings()
        self.settings.update(settings)
        self.state = SimState()
        self.store = ContactStore(location_id, self.state.clock, self.settings, seed=seed)
        self.limits = RateLimits(self.state.clock, send_retry_after=self.settings.send_retry_after)
        self.webhooks = WebhookSender(self.state.clock, location_id, seed=seed)
        self.store.listeners.append(self.webhooks.contact_changed)
        self._trace = random.Random(seed)
        self._app: ASGIApp | None = None

    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            self._app = build_app(self)
        return self._app

    # ------------------------------------------------------------------ Python surface

    def seed_contacts(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store contacts given in the read shape; all or none (a bad record raises ValueError)."""
        with self.state.lock:
            stored: list[dict[str, Any]] = []
            try:
                for record in records:
                    stored.append(self.store.seed_record(record))
            except ValueError:
                self.store.forget([r["id"] for r in stored])
                raise
            return [self.store.read(r) for r in stored]

    def contacts(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        with self.state.lock:
            records = sorted(self.store.contacts.values(), key=lambda r: (r["dateAdded"], r["id"]))
            return [self.store.read(r) for r in records if include_deleted or not r.get("deleted")]

    def ui_edit(self, contact_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            return self.store.read(self.store.ui_edit(contact_id, changes))

    def ui_delete(self, contact_id: str) -> None:
        with self.state.lock:
            record = self.store.live(contact_id)
            if record is None:
                raise KeyError(contact_id)
            self.store.delete(record)

    def seed_tags(self, names: list[str]) -> list[dict[str, Any]]:
        """Add tags to the location's tag list (known names are kept); returns the whole list."""
        with self.state.lock:
            self.store.register_tags(unique_tags(names, self.settings.lowercase_tags))
            return self.tag_catalogue()

    def seed_custom_fields(self, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create custom fields from ``{name, dataType, fieldKey?, picklistOptions?, model?, id?}``."""
        with self.state.lock:
            return [dict(self.store.add_custom_field(f)) for f in fields]

    def tag_catalogue(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(t) for t in self.store.tags.values()]

    def custom_field_catalogue(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(f) for f in self.store.custom_fields.values()]

    def set_tokens(self, tokens: list[str]) -> int:
        """Replace the location's further tokens (the main one stays); returns how many it has."""
        if not all(isinstance(t, str) and t.strip() for t in tokens):
            raise ValueError("tokens must be non-empty strings")
        with self.state.lock:
            self._extra_tokens = tuple(t.strip() for t in tokens)
            return self.token_count()

    def token_count(self) -> int:
        return 1 + len(set(self._extra_tokens) - {self._token})

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change location switches (see ``LocationSettings``); returns them all."""
        with self.state.lock:
            self.settings.update(data)
            self.limits.send_retry_after = self.settings.send_retry_after
            return self.settings.to_json()

    # ------------------------------------------------------------------ Backend protocol

    def routes(self) -> list[BaseRoute]:
        vendor = self._vendor
        return [
            Route("/contacts/search", vendor(self._search), methods=["POST"]),
            Route("/contacts/search/duplicate", vendor(self._duplicate), methods=["GET"]),
            Route("/contacts/upsert", vendor(self._upsert), methods=["POST"]),
            Route("/contacts/bulk/tags/update/{type}", vendor(self._bulk_tags), methods=["POST"]),
            Route("/contacts/", vendor(self._create), methods=["POST"]),
            Route("/contacts/", vendor(self._list), methods=["GET"]),
            Route("/contacts", vendor(self._create), methods=["POST"]),
            Route("/contacts/{contactId}/tags", vendor(self._contact_tags), methods=["POST", "DELETE"]),
            Route("/contacts/{contactId}", vendor(self._get), methods=["GET"]),
            Route("/contacts/{contactId}", vendor(self._update), methods=["PUT"]),
            Route("/contacts/{contactId}", vendor(self._delete), methods=["DELETE"]),
            Route("/locations/{locationId}/tags", vendor(self._location_tags), methods=["GET", "POST"]),
            Route("/locations/{locationId}/customFields", vendor(self._custom_fields), methods=["GET"]),
            Route("/{rest:path}", _not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]

    def admin_routes(self) -> list[BaseRoute]:
        return [*admin_routes(self), *webhook_routes(self.webhooks)]

    def too_many_requests(self) -> Response:
        return self.limits.too_many_requests(self._token)

    def reset(self) -> None:
        self._extra_tokens = ()
        self.settings.update({**LocationSettings().to_json(), **self._default_settings})
        self.store.clear()
        self.webhooks.reset()
        self.limits.reset()
        self.limits.send_retry_after = self.settings.send_retry_after
        self._trace.seed(self.seed)

    def close(self) -> None:
        """Stop sending webhooks (the ones not sent yet are dropped)."""
        self.webhooks.close()

    def export_state(self) -> dict[str, Any]:
        return {
            **self.store.export(),
            "settings": self.settings.to_json(),
            "limits": dict(self.limits.settings),
        }

    def import_state(self, data: dict[str, Any]) -> None:
        self.store.load(data)
        if "settings" in data:
            self.configure(data["settings"])
        if "limits" in data:
            self.limits.configure(data["limits"])

    def configure_limits(self, data: dict[str, Any]) -> dict[str, Any]:
        if "send_retry_after" in data:
            self.configure({"send_retry_after": bool(data.pop("send_retry_after"))})
        return {**self.limits.configure(data), "send_retry_after": self.settings.send_retry_after}

    # ------------------------------------------------------------------ request plumbing

    def _vendor(self, handler: Handler) -> Callable[[Request], Any]:
        """Version and token checks, rate limits and error bodies around one handler."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                token = self._authenticate(request)
                call = Call(
                    method=request.method,
                    base_url=str(request.base_url).rstrip("/"),
                    path=dict(request.path_params),
                    query=dict(request.query_params),
                    body=_parse_json(raw),
                )
            except VendorError as exc:
                return JSONResponse(exc.body, status_code=exc.status)
            with self.state.lock:
                if not self.limits.take(self.state.rate_limits_enabled, token):
                    return self.limits.too_many_requests(token)
                try:
                    response = handler(call)
                except VendorError as exc:
                    response = JSONResponse(exc.body, status_code=exc.status)
                response.headers.update(self.limits.headers(token))
            return response

        return endpoint

    def _authenticate(self, request: Request) -> str:
        """The request's token, once version and token are accepted."""
        version = request.headers.get("version")
        if version is None:
            raise _unauthorized("version header was not found.")
        if version not in ACCEPTED_VERSIONS:
            raise _unauthorized("version header is invalid")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token not in (self._token, *self._extra_tokens):
            raise _unauthorized(INVALID_TOKEN)
        return token

    def _own_location(self, location_id: Any) -> None:
        if location_id != self.location_id:
            raise VendorError(403, {"statusCode": 403, "message": NO_LOCATION_ACCESS, "error": "Forbidden"})

    def _live(self, contact_id: str) -> dict[str, Any]:
        record = self.store.live(contact_id)
        if record is None:
            message = f"Contact with id {contact_id} not found"
            if self.settings.not_found_status == 404:
                raise VendorError(404, {"statusCode": 404, "message": message, "error": "Not Found"})
            raise _bad_request(message)
        return record

    def _checked(self, body: Any, allowed: frozenset[str], *, needs_location: bool) -> dict[str, Any]:
        try:
            changes = self.store.validator().check(body, allowed)
        except ValidationError as exc:
            raise _unprocessable(exc.messages) from exc
        if needs_location:
            if "locationId" not in changes:
                raise _unprocessable(["locationId should not be empty", "locationId must be a string"])
            self._own_location(changes["locationId"])
        return changes

    def _trace_id(self) -> str:
        return str(uuid.UUID(int=self._trace.getrandbits(128), version=4))

    def _refuse_duplicate(self, changes: dict[str, Any], *, exclude: str | None = None) -> None:
        if self.settings.allow_duplicates:
            return
        found = self.store.find_duplicate(changes, exclude=exclude)
        if found is not None:
            record, field = found
            meta = {
                "contactId": record["id"],
                "contactName": get_shape(record).get("name"),
                "matchingField": field,
            }
            raise VendorError(400, {"statusCode": 400, "message": DUPLICATE_NOT_ALLOWED, "meta": meta})

    # ------------------------------------------------------------------ contact endpoints

    def _get(self, call: Call) -> Response:
        return JSONResponse({"contact": get_shape(self._live(call.path["contactId"]))})

    def _create(self, call: Call) -> Response:
        changes = self._checked(call.body, CREATE_FIELDS, needs_location=True)
        self._refuse_duplicate(changes)
        record = self.store.create(changes)
        return JSONResponse({"contact": create_shape(record)}, status_code=201)

    def _update(self, call: Call) -> Response:
        changes = self._checked(call.body, UPDATE_FIELDS, needs_location=False)
        record = self._live(call.path["contactId"])
        self._refuse_duplicate(changes, exclude=record["id"])
        self.store.update(record, changes)
        return JSONResponse({"succeded": True, "contact": get_shape(record)})

    def _delete(self, call: Call) -> Response:
        self.store.delete(self._live(call.path["contactId"]))
        return JSONResponse({"succeded": True})

    def _upsert(self, call: Call) -> Response:
        changes = self._checked(call.body, UPSERT_FIELDS, needs_location=True)
        create_new = changes.pop("createNewIfDuplicateAllowed", False)
        found = None if create_new and self.settings.allow_duplicates else self.store.find_duplicate(changes)
        if found is None:
            record = self.store.create(changes)
        else:
            record, matched_by = found
            self.store.update(record, self._upsert_changes(record, matched_by, changes))
        body = {"new": found is None, "contact": get_shape(record), "traceId": self._trace_id()}
        return JSONResponse(body)

    def _upsert_changes(
        self, record: dict[str, Any], matched_by: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """The documented and the reported quirks of upserting onto an existing contact."""
        changes = {k: v for k, v in changes.items() if k not in ("locationId", "gender")}  # issue #313
        for kind in ("email", "phone"):
            if kind != matched_by and self.store.find_by(kind, changes.get(kind), exclude=record["id"]):
                changes.pop(kind)  # would duplicate another contact: silently not written (issue #37)
        email = changes.get("email")
        extra = record.get("additionalEmails") or []
        if email and any(str(e.get("email", "")).lower() == email.lower() for e in extra):
            # the matched secondary email becomes the primary one; the old primary is lost (issue #337)
            changes["additionalEmails"] = [
                e for e in extra if str(e.get("email", "")).lower() != email.lower()
            ]
        return changes

    def _contact_tags(self, call: Call) -> Response:
        try:
            given = check_tags_body(call.body)
        except ValidationError as exc:
            raise _unprocessable(exc.messages) from exc
        record = self._live(call.path["contactId"])
        wanted = unique_tags(given, self.settings.lowercase_tags)
        adding = call.method == "POST"
        old = record.get("tags") or []
        self.store.update(record, {"tags": with_tags(old, wanted) if adding else without_tags(old, wanted)})
        return JSONResponse({"tags": record.get("tags") or []}, status_code=201 if adding else 200)

    def _bulk_tags(self, call: Call) -> Response:
        kind = call.path["type"]
        try:
            body = check_bulk_body(kind, call.body)
        except ValidationError as exc:
            raise _unprocessable(exc.messages) from exc
        self._own_location(body["locationId"])
        tags = unique_tags(body["tags"], self.settings.lowercase_tags)
        remove_all = body.get("removeAllTags", False)
        responses = [
            bulk_update_one(
                self.store, cid, kind, tags, remove_all=remove_all, location_id=body["locationId"]
            )
            for cid in body["contacts"]
        ]
        error_count = sum(1 for r in responses if r["type"] == "error")
        answer = {"succeded": True, "errorCount": error_count, "responses": responses}
        return JSONResponse(answer, status_code=201)

    def _search(self, call: Call) -> Response:
        try:
            request = parse_search(call.body)
        except ValidationError as exc:
            raise _unprocessable(exc.messages) from exc
        except PagingError as exc:
            raise VendorError(400, {"statusCode": 400, "message": str(exc), "error": "Bad Request"}) from exc
        self._own_location(request.location_id)
        result = run_search(request, self.store)
        return JSONResponse({"contacts": result.contacts, "total": result.total, "traceId": self._trace_id()})

    def _list(self, call: Call) -> Response:
        location_id = call.query.get("locationId")
        if not location_id:
            raise _unprocessable(["locationId should not be empty"])
        self._own_location(location_id)
        try:
            return JSONResponse(run_list(call.query, self.store.indexed(), call.base_url))
        except ValidationError as exc:
            raise _unprocessable(exc.messages) from exc

    def _duplicate(self, call: Call) -> Response:
        location_id = call.query.get("locationId")
        if not location_id:
            raise _unprocessable(["locationId should not be empty"])
        self._own_location(location_id)
        email, number = call.query.get("email"), call.query.get("number")
        if not email and not number:
            raise _bad_request("Pass at least one of number, email query parameter")
        found = self.store.find_duplicate({"email": email, "phone": number})
        return JSONResponse({"contact": get_shape(found[0]) if found else None})

    # ------------------------------------------------------------------ location catalogues

    def _location_tags(self, call: Call) -> Response:
        self._own_location(call.path["locationId"])
        if call.method == "GET":
            return JSONResponse({"tags": list(self.store.tags.values())})
        body = call.body
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
            raise _unprocessable(["name should not be empty", "name must be a string"])
        if set(body) - {"name"}:
            raise _unprocessable([f"property {k} should not exist" for k in sorted(set(body) - {"name"})])
        name = unique_tags([body["name"]], self.settings.lowercase_tags)[0]
        if any(t["name"].lower() == name.lower() for t in self.store.tags.values()):
            raise _bad_request(f"Tag with name {name} already exists")
        return JSONResponse({"tag": self.store.add_tag(name)})

    def _custom_fields(self, call: Call) -> Response:
        self._own_location(call.path["locationId"])
        model = call.query.get("model", "all")
        if model not in ("contact", "opportunity", "all"):
            raise _unprocessable(["model must be one of the following values: contact, opportunity, all"])
        fields = [f for f in self.store.custom_fields.values() if model in ("all", f["model"])]
        return JSONResponse({"customFields": fields})


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return load_json(raw)  # JSON.parse: no NaN or Infinity; a lone surrogate is kept as U+FFFD
    except ValueError as exc:
        position = getattr(exc, "pos", 0)
        message = f"Unexpected token in JSON at position {position}"
        raise VendorError(400, {"statusCode": 400, "message": message, "error": "Bad Request"}) from exc


async def _not_found(request: Request) -> Response:
    message = f"Cannot {request.method} {request.url.path}"
    return JSONResponse({"statusCode": 404, "message": message, "error": "Not Found"}, status_code=404)
