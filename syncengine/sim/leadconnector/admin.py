"""LeadConnector-specific admin paths, mounted under ``/__admin`` next to the shared ones.

``POST|GET /contacts``, ``PATCH|DELETE /contacts/{id}`` (edits "as a person in the CRM's UI"),
``POST|GET /tags`` and ``/customFields`` (catalogue seeding), ``GET|PUT /settings`` (the
location switches), ``GET|PUT /tokens`` (body ``{"tokens": [...]}``: further tokens of the
location, which share its daily limit; answers only how many there are). They need no vendor
auth and are not rate-limited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sim.admin import admin_error, contact_routes, json_object, list_of

if TYPE_CHECKING:
    from syncengine.sim.leadconnector.simulator import LeadConnectorSim


def admin_routes(sim: LeadConnectorSim) -> list[BaseRoute]:
    async def tags(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"tags": sim.tag_catalogue()})
        try:
            names = list_of(await json_object(request), "tags")
            if not all(isinstance(n, str) for n in names):
                raise ValueError("tags must be strings")
            return JSONResponse({"tags": sim.seed_tags(names)})
        except ValueError as exc:
            return admin_error(400, str(exc))

    async def custom_fields(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"customFields": sim.custom_field_catalogue()})
        try:
            fields = list_of(await json_object(request), "customFields")
            if not all(isinstance(f, dict) for f in fields):
                raise ValueError("every custom field must be a JSON object")
            return JSONResponse({"customFields": sim.seed_custom_fields(fields)})
        except ValueError as exc:
            return admin_error(400, str(exc))

    async def settings(request: Request) -> Response:
        try:
            data = await json_object(request) if request.method == "PUT" else {}
            return JSONResponse(sim.configure(data))
        except ValueError as exc:
            return admin_error(400, str(exc))

    async def tokens(request: Request) -> Response:
        try:
            if request.method == "PUT":
                return JSONResponse({"tokens": sim.set_tokens(list_of(await json_object(request), "tokens"))})
            return JSONResponse({"tokens": sim.token_count()})
        except ValueError as exc:
            return admin_error(400, str(exc))

    return [
        *contact_routes(sim),
        Route("/tokens", tokens, methods=["GET", "PUT"]),
        Route("/tags", tags, methods=["GET", "POST"]),
        Route("/customFields", custom_fields, methods=["GET", "POST"]),
        Route("/settings", settings, methods=["GET", "PUT"]),
    ]
