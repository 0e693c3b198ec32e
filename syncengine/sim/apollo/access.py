"""How an Apollo request is admitted and read: API key, key scope and plan, query and JSON body.

Documented [SPEC, apis.md 1.1 and 1.10]: the key goes in ``x-api-key``; a missing or wrong key gets
a ``text/plain`` 401; an API key sent as ``Authorization: Bearer`` gets 401 ``Invalid access
credentials.`` (observed live); a key without the endpoint in its scope gets 403
``API_INACCESSIBLE``; search and the users list answer 403 on free plans.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from syncengine.sim.apollo.limits import Endpoint
from syncengine.sim.apollo.settings import ApolloSettings
from syncengine.sim.apollo.values import ApolloError, unprocessable
from syncengine.sim.jsonbody import load_json

INVALID_API_KEY = (
    "Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate."
)
INVALID_ACCESS_CREDENTIALS = "Invalid access credentials."
PAID_PLANS_ONLY = "This endpoint is only available to Apollo users on paid plans."
PAID_ENDPOINTS = frozenset({"contacts/search", "users/search"})


@dataclass(frozen=True)
class Call:
    """What a vendor handler needs of a request: path and query parameters and the JSON body."""

    method: str
    path: dict[str, str]
    query: dict[str, list[str]]
    body: Any

    @classmethod
    def of(cls, request: Request, raw: bytes) -> Call:
        params = request.query_params
        query = {key: params.getlist(key) for key in params}
        return cls(request.method, dict(request.path_params), query, _parse_json(raw))

    def object(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise unprocessable("Parameters misconfigured. The request body must be a JSON object")
        return self.body

    def first(self, key: str) -> str | None:
        values = self.query.get(key)
        return values[0] if values else None


def authenticate(request: Request, api_key: str) -> Response | None:
    """None for the team's key in ``x-api-key``, else the documented 401."""
    key = request.headers.get("x-api-key")
    if key is not None:
        if hmac.compare_digest(key.encode(), api_key.encode()):
            return None
        return PlainTextResponse(INVALID_API_KEY, status_code=401)
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return PlainTextResponse(INVALID_ACCESS_CREDENTIALS, status_code=401)
    return PlainTextResponse(INVALID_API_KEY, status_code=401)


def authorize(settings: ApolloSettings, endpoint: Endpoint) -> Response | None:
    """None when the key's scope and the plan allow ``endpoint``, else the documented 403."""
    if settings.scopes is not None and endpoint.permission not in settings.scopes:
        message = (
            f"This API key is not authorized to access {endpoint.permission}. Request an API key from your "
            "administrator that includes this endpoint in its configured scope."
        )
        return JSONResponse({"error": message, "error_code": "API_INACCESSIBLE"}, status_code=403)
    if not settings.paid_plan and endpoint.name in PAID_ENDPOINTS:
        return JSONResponse({"message": PAID_PLANS_ONLY}, status_code=403)
    return None


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return load_json(raw)
    except ValueError as exc:
        raise ApolloError(400, {"error": f"Invalid JSON in request body: {exc}"}) from exc
