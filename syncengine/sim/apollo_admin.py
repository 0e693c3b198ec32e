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

if TYPE_CHECKING:
    from syncengine.sim.apollo import ApolloSim


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


def admin_routes(sim: ApolloSim) -> list[BaseRoute]:
    async def contacts(request: Request) -> Response:
        if request.method == "GET":
            include_deleted = request.query_params.get("include_deleted", "").lower() in ("1", "true", "yes")
            return JSONResponse({"contacts": sim.contacts(include_deleted=include_deleted)})
        try:
            return JSONResponse(
                {"contacts": sim.seed_contacts(_list_of(await _json_object(request), "contacts"))}
            )
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

    def catalogue(
        key: str,
        seed: Callable[[list[Any]], list[dict[str, Any]]],
        listing: Callable[[], list[dict[str, Any]]],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if request.method == "GET":
                return JSONResponse({key: listing()})
            try:
                return JSONResponse({key: seed(_list_of(await _json_object(request), key))})
            except ValueError as exc:
                return _error(400, str(exc))

        return endpoint

    async def settings(request: Request) -> Response:
        try:
            data = await _json_object(request) if request.method == "PUT" else {}
            return JSONResponse(sim.configure(data))
        except ValueError as exc:
            return _error(400, str(exc))

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
        Route("/contacts", contacts, methods=["GET", "POST"]),
        Route("/contacts/{contact_id}", contact, methods=["PATCH", "DELETE"]),
        *(
            Route(f"/{key}", catalogue(key, seed, catalogues[key]), methods=["GET", "POST"])
            for key, seed in seeders.items()
        ),
        Route("/settings", settings, methods=["GET", "PUT"]),
        Route("/jobs", jobs, methods=["GET"]),
    ]
