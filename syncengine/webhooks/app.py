"""The receiver as a Starlette app: ``POST /webhooks/leadconnector`` (the URL to give LeadConnector)
and ``GET /webhooks/leadconnector`` (how many contacts wait for their sync).

``build_app`` is what ``syncengine webhooks`` serves; a larger web app can mount the same routes
(``routes``). The handler reads the raw body (the signature covers those bytes) and does no more
than a few milliseconds of work: the sync itself runs in the worker.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.webhooks.receiver import Receiver

PATH = "/webhooks/leadconnector"
MAX_BODY = 1_000_000  # a contact payload is a few kB; anything near this is not LeadConnector's


def routes(receiver: Receiver, path: str = PATH) -> list[BaseRoute]:
    async def receive(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"queued": receiver.inbox.size()})
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            return JSONResponse({"outcome": "refused", "detail": "body too large"}, status_code=413)
        body = await request.body()
        answer = receiver.handle(body, request.headers)
        return JSONResponse(answer.body(), status_code=answer.status)

    return [Route(path, receive, methods=["GET", "POST"])]


def build_app(receiver: Receiver, path: str = PATH) -> Starlette:
    return Starlette(routes=routes(receiver, path))
