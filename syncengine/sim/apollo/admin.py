"""Apollo-specific admin paths, mounted under ``/__admin`` next to the shared ones.

``POST|GET /contacts``, ``PATCH|DELETE /contacts/{id}`` (edits "as a person in the UI"), catalogue
seeding with ``POST|GET`` on ``/labels``, ``/contact_stages``, ``/typed_custom_fields``, ``/users``
and ``/accounts`` (body ``{"<name>": [...]}``), ``GET|PUT /settings`` and ``GET /jobs``. They need
no vendor auth and are not rate-limited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sim.admin import admin_error, contact_routes, json_object, list_of

if TYPE_CHECKING:
    from syncengine.sim.apollo.simulator import ApolloSim


def admin_routes(sim: ApolloSim) -> list[BaseRoute]:
    def catalogue(
        key: str,
        seed: Callable[[list[Any]], list[dict[str, Any]]],
        listing: Callable[[], list[dict[str, Any]]],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if request.method == "GET":
                return JSONResponse({key: listing()})
            try:
                return JSONResponse({key: seed(list_of(await json_object(request), key))})
            except ValueError as exc:
                return admin_error(400, str(exc))

        return endpoint

    async def settings(request: Request) -> Response:
        try:
            data = await json_object(request) if request.method == "PUT" else {}
            return JSONResponse(sim.configure(data))
        except ValueError as exc:
            return admin_error(400, str(exc))

    async def jobs(request: Request) -> Response:
        return JSONResponse({"jobs": sim.job_list()})

    catalogues = sim.catalogue_listings()
    seeders = {
        "labels": sim.seed_labels,
        "contact_stages": sim.seed_stages,
        "typed_custom_fields": sim.seed_custom_fields,
        "users": sim.seed_users,
        "accounts": sim.seed_accounts,
    }
    return [
        *contact_routes(sim),
        *(
            Route(f"/{key}", catalogue(key, seed, catalogues[key]), methods=["GET", "POST"])
            for key, seed in seeders.items()
        ),
        Route("/settings", settings, methods=["GET", "PUT"]),
        Route("/jobs", jobs, methods=["GET"]),
    ]
