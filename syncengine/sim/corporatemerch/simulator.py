"""A CorporateMerch API simulator: contacts and their list and label catalogues.

Paths sit under ``/v2`` as on ``https://api.corporatemerch.com/v2`` (``/v1``, the version the
pagination page shows, answers the same). Every vendor request needs ``Authorization: Bearer
<token>``. Behaviour follows the vendor's pages (apis.md section 3); where they are silent the
simulator answers as the Laravel backend the ``pagination`` envelope suggests, and switches for the
open questions live in ``CorporateMerchSettings`` (``PUT /__admin/settings``).

Routes are matched before authentication, as in Laravel: an unknown path answers 404 and a known
path with another method 405, neither counted against the rate limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from syncengine.sim.core import SimState, build_app
from syncengine.sim.corporatemerch.admin import admin_routes
from syncengine.sim.corporatemerch.limits import RateLimits
from syncengine.sim.corporatemerch.settings import CorporateMerchSettings
from syncengine.sim.corporatemerch.store import ContactStore, read_shape
from syncengine.sim.corporatemerch.values import Rules, ValidationError
from syncengine.sim.jsonbody import load_json

DEFAULT_LIMIT = 15
MAX_LIMIT = 50
UNAUTHENTICATED = {"message": "Unauthenticated."}
CONTACT_NOT_FOUND = {"message": "Contact not found."}
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class VendorError(Exception):
    """An error answer of the API, with its status and body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Call:
    """What a vendor handler needs of a request."""

    method: str
    url: str  # without the query string
    path: dict[str, str]
    query: dict[str, str]
    body: Any


Handler = Callable[[Call], Response]


class CorporateMerchSim:
    """The CorporateMerch contact API of one account, served by ``core.build_app``.

    ``seed`` is accepted like the other simulators' and kept; nothing here is random, since
    contact ids are numbered in creation order.
    """

    name = "corporatemerch"

    def __init__(self, token: str = "sim-cm-token", *, seed: int = 0, **settings: Any) -> None:
        self._token = token
        self.seed = seed
        self._default_settings = settings
        self.settings = CorporateMerchSettings()
        self.settings.update(settings)
        self.state = SimState()
        self.store = ContactStore(self.state.clock)
        self.limits = RateLimits(self.state.clock)
        self._app: ASGIApp | None = None

    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            self._app = build_app(self)
        return self._app

    # ------------------------------------------------------------------ Python surface

    def seed_contacts(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store contacts given in the read shape; all or none (a bad record raises ValueError).

        ``"id": None`` (or no id) gets the next number; ``created_at``/``updated_at`` are kept.
        """
        with self.state.lock:
            rules = self.rules()
            taken: set[int] = set()
            stored = [self.store.seed_record(dict(record), rules, taken) for record in records]
            self.store.add_seeded(stored)
            return [self._shape(r) for r in stored]

    def contacts(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every contact in id order, in the read shape; deleted ones carry ``"deleted": True``."""
        with self.state.lock:
            out = []
            for record in sorted(self.store.contacts.values(), key=lambda r: r["id"]):
                if record.get("deleted") and not include_deleted:
                    continue
                shape = self._shape(record)
                if record.get("deleted"):
                    shape["deleted"] = True
                out.append(shape)
            return out

    def ui_edit(self, contact_id: int | str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change fields as a person in the UI would (same rules as the API); moves ``updated_at``."""
        with self.state.lock:
            return self._shape(self.store.ui_edit(contact_id, changes, self.rules()))

    def ui_delete(self, contact_id: int | str) -> None:
        with self.state.lock:
            record = self.store.live(contact_id)
            if record is None:
                raise KeyError(contact_id)
            self.store.delete(record)

    def seed_lists(self, items: list[Any]) -> list[dict[str, Any]]:
        """Add lists ``{"id"?: int, "name": str}``; returns the whole catalogue."""
        with self.state.lock:
            return self.store.add_catalogue_items("lists", items)

    def seed_labels(self, items: list[Any]) -> list[dict[str, Any]]:
        """Add contact labels ``{"id"?: int, "name": str}``; returns the whole catalogue."""
        with self.state.lock:
            return self.store.add_catalogue_items("labels", items)

    def catalogue(self, kind: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return self.store.catalogue(kind)

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change account switches (see ``CorporateMerchSettings``); returns them all."""
        with self.state.lock:
            self.settings.update(data)
            return self.settings.to_json()

    def rules(self) -> Rules:
        """The validation of writes under the current catalogues and switches."""
        return Rules(
            lists=frozenset(self.store.catalogues["lists"]),
            labels=frozenset(self.store.catalogues["labels"]),
            secondary=self.settings.secondary_line,
            us_territories=self.settings.us_territories,
            foreign_state_required=self.settings.foreign_state_required,
            reject_unknown=self.settings.reject_unknown,
        )

    # ------------------------------------------------------------------ Backend protocol

    def routes(self) -> list[BaseRoute]:
        vendor = self._vendor
        contacts = vendor({"GET": self._list, "POST": self._create})
        contact = vendor({"GET": self._get, "PUT": self._update, "DELETE": self._delete})
        return [
            Route("/{version}/contacts", contacts, methods=ALL_METHODS),
            Route("/{version}/contacts/{id}", contact, methods=ALL_METHODS),
            Route("/{version}/lists", vendor({"GET": self._catalogue("lists")}), methods=ALL_METHODS),
            Route("/{version}/labels", vendor({"GET": self._catalogue("labels")}), methods=ALL_METHODS),
            Route("/{rest:path}", _route_not_found, methods=ALL_METHODS),
        ]

    def admin_routes(self) -> list[BaseRoute]:
        return admin_routes(self)

    def too_many_requests(self) -> Response:
        return self.limits.too_many_requests(self._token)

    def reset(self) -> None:
        self.settings = CorporateMerchSettings()
        self.settings.update(self._default_settings)
        self.store.clear()
        self.limits.reset()

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
        return self.limits.configure(data)

    # ------------------------------------------------------------------ request plumbing

    def _vendor(self, handlers: dict[str, Handler]) -> Callable[[Request], Any]:
        """Route matching, the token check, the rate limit and error bodies around the handlers."""

        async def endpoint(request: Request) -> Response:
            if request.path_params["version"] not in self.settings.versions:
                return await _route_not_found(request)
            allowed = [m for m in handlers if m != "DELETE" or self.settings.delete_enabled]
            if request.method not in allowed:
                return _method_not_allowed(request, allowed)
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token.strip() != self._token:
                return JSONResponse(UNAUTHENTICATED, status_code=401)
            call = Call(
                method=request.method,
                url=str(request.url.replace(query="")),
                path=dict(request.path_params),
                query=dict(request.query_params),
                body=_parse_json(await request.body()),
            )
            with self.state.lock:
                if not self.limits.take(self._token, self.state.rate_limits_enabled):
                    return self.limits.too_many_requests(self._token)
                try:
                    response = handlers[request.method](call)
                except VendorError as exc:
                    response = JSONResponse(exc.body, status_code=exc.status)
                except ValidationError as exc:
                    response = JSONResponse(exc.body(), status_code=422)
                response.headers.update(self.limits.headers(self._token))
            return response

        return endpoint

    def _shape(self, record: dict[str, Any], *, memberships: bool = True) -> dict[str, Any]:
        return read_shape(
            record,
            secondary=self.settings.secondary_line,
            string_ids=self.settings.string_ids,
            memberships=memberships,
        )

    def _live(self, contact_id: str) -> dict[str, Any]:
        record = self.store.live(contact_id)
        if record is None:
            raise VendorError(404, CONTACT_NOT_FOUND)
        return record

    # ------------------------------------------------------------------ endpoints

    def _list(self, call: Call) -> Response:
        page, limit = _page_params(call.query)
        records = self.store.newest_first()
        last_page = max(1, math.ceil(len(records) / limit))
        chunk = records[(page - 1) * limit : page * limit]
        memberships = self.settings.list_memberships
        return JSONResponse(
            {
                "data": [self._shape(r, memberships=memberships) for r in chunk],
                "pagination": {
                    "path": call.url,
                    "total": len(records),
                    "limit": limit,
                    "current_page": page,
                    "last_page": last_page,
                    "has_more": page < last_page,
                },
            }
        )

    def _get(self, call: Call) -> Response:
        return JSONResponse({"data": self._shape(self._live(call.path["id"]))})

    def _create(self, call: Call) -> Response:
        values = self.rules().check(call.body, address_required=True)
        record = self.store.create(values)
        return JSONResponse({"data": self._shape(record)}, status_code=201)

    def _update(self, call: Call) -> Response:
        record = self._live(call.path["id"])
        values = self.rules().check(call.body, address_required=False)
        self.store.replace(record, values, clear_omitted=self.settings.clear_omitted)
        return JSONResponse({"data": self._shape(record)})

    def _delete(self, call: Call) -> Response:
        self.store.delete(self._live(call.path["id"]))
        return Response(status_code=204)

    def _catalogue(self, kind: str) -> Handler:
        def handler(call: Call) -> Response:
            return JSONResponse({"data": self.store.catalogue(kind)})

        return handler


def _page_params(query: dict[str, str]) -> tuple[int, int]:
    """``page`` (from 1) and ``limit`` (1 to 50, default 15); Laravel-style 422 otherwise."""
    errors: dict[str, list[str]] = {}
    values = {"page": 1, "limit": DEFAULT_LIMIT}
    for name, ceiling in (("page", None), ("limit", MAX_LIMIT)):
        raw = query.get(name)
        if raw is None or raw == "":
            continue
        text = raw.strip()
        if not (text.lstrip("-").isdigit() and text.isascii()):
            errors[name] = [f"The {name} field must be an integer."]
        elif int(text) < 1:
            errors[name] = [f"The {name} field must be at least 1."]
        elif ceiling is not None and int(text) > ceiling:
            errors[name] = [f"The {name} field must not be greater than {ceiling}."]
        else:
            values[name] = int(text)
    if errors:
        raise ValidationError(errors)
    return values["page"], values["limit"]


def _parse_json(raw: bytes) -> Any:
    """The JSON body; malformed JSON reads as no input, as Laravel's request does (PHP's
    ``json_decode`` also fails on NaN, Infinity and a lone UTF-16 surrogate)."""
    if not raw.strip():
        return None
    try:
        return load_json(raw, lone_surrogates="refuse")
    except ValueError:
        return None


def _method_not_allowed(request: Request, allowed: list[str]) -> Response:
    route = request.url.path.lstrip("/")
    message = (
        f"The {request.method} method is not supported for route {route}. "
        f"Supported methods: {', '.join(allowed)}."
    )
    return JSONResponse({"message": message}, status_code=405, headers={"Allow": ", ".join(allowed)})


async def _route_not_found(request: Request) -> Response:
    message = f"The route {request.url.path.lstrip('/')} could not be found."
    return JSONResponse({"message": message}, status_code=404)
