"""CorporateMerch-specific admin paths, mounted under ``/__admin`` next to the shared ones.

``POST|GET /contacts``, ``PATCH|DELETE /contacts/{id}`` (edits "as a person in the UI"),
``POST|GET /lists`` and ``/labels`` (catalogue seeding with ``{"lists": [{"id"?, "name"}]}``),
``GET|PUT /settings`` (the account switches). They need no vendor auth and are not rate-limited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sim.admin import admin_error, contact_routes, json_object, list_of

if TYPE_CHECKING:
    from syncengine.sim.corporatemerch.simulator import CorporateMerchSim


def admin_routes(sim: CorporateMerchSim) -> list[BaseRoute]:
    def catalogue(kind: str) -> Route:
        seed = sim.seed_lists if kind == "lists" else sim.seed_labels

        async def endpoint(request: Request) -> Response:
            if request.method == "GET":
                return JSONResponse({kind: sim.catalogue(kind)})
            try:
                return JSONResponse({kind: seed(list_of(await json_object(request), kind))})
            except ValueError as exc:
                return admin_error(400, str(exc))

        return Route(f"/{kind}", endpoint, methods=["GET", "POST"])

    async def settings(request: Request) -> Response:
        try:
            data = await json_object(request) if request.method == "PUT" else {}
            return JSONResponse(sim.configure(data))
        except ValueError as exc:
            return admin_error(400, str(exc))

    return [
        *contact_routes(sim),
        catalogue("lists"),
        catalogue("labels"),
        Route("/settings", settings, methods=["GET", "PUT"]),
    ]
