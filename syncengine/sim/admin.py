"""Admin paths every simulator shares: contact seeding, listing and UI-style edits and deletes.

Mounted under ``/__admin`` (no vendor auth, not rate-limited) by each vendor's admin module, which
adds its own catalogue and settings paths with the body helpers below.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route


class ContactAdmin(Protocol):
    def contacts(self, include_deleted: bool = False) -> list[dict[str, Any]]: ...

    def seed_contacts(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def ui_edit(self, contact_id: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    def ui_delete(self, contact_id: str) -> None: ...


def admin_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def json_object(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise ValueError(f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


def list_of(data: dict[str, Any], key: str) -> list[Any]:
    items = data.get(key)
    if not isinstance(items, list):
        raise ValueError(f'body must be {{"{key}": [...]}}')
    return items


def contact_routes(sim: ContactAdmin) -> list[BaseRoute]:
    """``POST|GET /contacts`` and ``PATCH|DELETE /contacts/{contact_id}``."""

    async def contacts(request: Request) -> Response:
        if request.method == "GET":
            include_deleted = request.query_params.get("include_deleted", "").lower() in ("1", "true", "yes")
            return JSONResponse({"contacts": sim.contacts(include_deleted=include_deleted)})
        try:
            records = list_of(await json_object(request), "contacts")
            if not all(isinstance(r, dict) for r in records):
                raise ValueError("every contact must be a JSON object")
            return JSONResponse({"contacts": sim.seed_contacts(records)})
        except ValueError as exc:
            return admin_error(400, str(exc))

    async def contact(request: Request) -> Response:
        contact_id = request.path_params["contact_id"]
        try:
            if request.method == "DELETE":
                sim.ui_delete(contact_id)
                return JSONResponse({"deleted": True})
            return JSONResponse({"contact": sim.ui_edit(contact_id, await json_object(request))})
        except KeyError:
            return admin_error(404, f"contact {contact_id} not found")
        except ValueError as exc:
            return admin_error(400, str(exc))

    return [
        Route("/contacts", contacts, methods=["GET", "POST"]),
        Route("/contacts/{contact_id}", contact, methods=["PATCH", "DELETE"]),
    ]
