"""LeadConnector-specific admin paths, mounted under ``/__admin`` next to the shared ones.

``POST|GET /contacts``, ``PATCH|DELETE /contacts/{id}`` (edits "as a person in the CRM's UI"),
``POST|GET /tags`` and ``/customFields`` (catalogue seeding), ``GET|PUT /settings`` (the
location switches). They need no vendor auth and are not rate-limited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from syncengine.sim.leadconnector import LeadConnectorSim


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise ValueError(f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


def _list_of(data: dict[str, Any], key: str) -> list[Any]:
    items = data.get(key)
    if not isinstance(items, list):
        raise ValueError(f'body must be {{"{key}": [...]}}')
    return items


def admin_routes(sim: LeadConnectorSim) -> list[BaseRoute]:
    async def contacts(request: Request) -> Response:
        if request.method == "GET":
            include_deleted = request.query_params.get("include_deleted", "").lower() in ("1", "true", "yes")
            return JSONResponse({"contacts": sim.contacts(include_deleted=include_deleted)})
        try:
            records = _list_of(await _json_object(request), "contacts")
            if not all(isinstance(r, dict) for r in records):
                raise ValueError("every contact must be a JSON object")
            return JSONResponse({"contacts": sim.seed_contacts(records)})
        except ValueError as exc:
            return _error(400, str(exc))

    async def contact(request: Request) -> Response:
        contact_id = request.path_params["contact_id"]
        try:
            if request.method == "DELETE":
                sim.ui_delete(contact_id)
                return JSONResponse({"deleted": True})
            return JSONResponse({"contact": sim.ui_edit(contact_id, await _json_object(request))})
        except KeyError:
            return _error(404, f"contact {contact_id} not found")
        except ValueError as exc:
            return _error(400, str(exc))

    async def tags(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"tags": sim.tag_catalogue()})
        try:
            names = _list_of(await _json_object(request), "tags")
            if not all(isinstance(n, str) for n in names):
                raise ValueError("tags must be strings")
            return JSONResponse({"tags": sim.seed_tags(names)})
        except ValueError as exc:
            return _error(400, str(exc))

    async def custom_fields(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"customFields": sim.custom_field_catalogue()})
        try:
            fields = _list_of(await _json_object(request), "customFields")
            if not all(isinstance(f, dict) for f in fields):
                raise ValueError("every custom field must be a JSON object")
            return JSONResponse({"customFields": sim.seed_custom_fields(fields)})
        except ValueError as exc:
            return _error(400, str(exc))

    async def settings(request: Request) -> Response:
        try:
            data = await _json_object(request) if request.method == "PUT" else {}
            return JSONResponse(sim.configure(data))
        except ValueError as exc:
            return _error(400, str(exc))

    return [
        Route("/contacts", contacts, methods=["GET", "POST"]),
        Route("/contacts/{contact_id}", contact, methods=["PATCH", "DELETE"]),
        Route("/tags", tags, methods=["GET", "POST"]),
        Route("/customFields", custom_fields, methods=["GET", "POST"]),
        Route("/settings", settings, methods=["GET", "PUT"]),
    ]
