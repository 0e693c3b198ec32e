"""The Starlette application: routes, sign-in, CSRF, security headers and page rendering."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from syncengine.report_html import render
from syncengine.web.context import WebContext
from syncengine.web.security import CSRF_COOKIE, SESSION_COOKIE, Guard

MAX_FORM_BYTES = 256 * 1024
Handler = Callable[[Request], Awaitable[Response]]
NAV = (
    ("/", "Overview"), ("/preview", "Preview"), ("/conflicts", "Conflicts"), ("/history", "History"),
    ("/contact", "Contact"), ("/errors", "Errors"),
)  # fmt: skip


class FormError(Exception):
    """A form that is not the app's own (no valid CSRF token) or too large."""


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render one of the app's pages (autoescaped), with the CSRF token its forms carry."""
    guard: Guard = request.app.state.guard
    html = render(
        template, request=request, nav=NAV, path=request.url.path, nonce=request.state.nonce,
        csrf=guard.csrf_token(request.state.csrf_cookie), sandbox=request.app.state.ctx.sandbox,
        query=dict(request.query_params), **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status_code)


def link(path: str, **params: Any) -> str:
    """``path`` with the query ``params`` that are set."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return f"{path}?{urlencode(kept)}" if kept else path


def done(path: str, message: str, **params: Any) -> RedirectResponse:
    """After an action: back to a page (303, so a reload does not post again), with a message."""
    return RedirectResponse(link(path, done=message, **params), status_code=303)


async def form(request: Request) -> dict[str, str]:
    """The posted fields (URL-encoded), after checking the CSRF token and the Origin."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormError("form too large")
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    guard: Guard = request.app.state.guard
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise FormError("this form was sent from another site")
    if not guard.csrf_valid(request.cookies.get(CSRF_COOKIE), fields.get("csrf")):
        raise FormError("this form is stale or was not sent by this app: reload the page and try again")
    return fields


def int_arg(request: Request, name: str, default: int = 0) -> int:
    try:
        return max(int(request.query_params.get(name, default)), 0)
    except ValueError:
        return default


class Protect(BaseHTTPMiddleware):
    """Host check, sign-in, the CSRF cookie, a nonce for the page's script and security headers."""

    async def dispatch(self, request: Request, call_next: Handler) -> Response:
        guard: Guard = request.app.state.guard
        if not guard.host_allowed(request.headers.get("host", "")):
            return PlainTextResponse("unknown host", status_code=400)
        request.state.nonce = secrets.token_urlsafe(16)
        cookie = request.cookies.get(CSRF_COOKIE)
        request.state.csrf_cookie = cookie or secrets.token_urlsafe(32)
        open_paths = request.url.path in ("/login",)
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or None
        if not open_paths and not guard.signed_in(request.cookies.get(SESSION_COOKIE), bearer):
            if request.method == "GET":
                return RedirectResponse(link("/login", next=request.url.path), status_code=303)
            return PlainTextResponse("sign in first", status_code=401)
        try:
            response = await call_next(request)
        except FormError as exc:
            response = PlainTextResponse(str(exc), status_code=403)
        if not cookie:
            response.set_cookie(CSRF_COOKIE, request.state.csrf_cookie, httponly=True, samesite="strict")
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{request.state.nonce}'; style-src 'unsafe-inline'; "
            "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


async def login(request: Request) -> Response:
    guard: Guard = request.app.state.guard
    target = request.query_params.get("next", "/")
    target = target if target.startswith("/") and not target.startswith("//") else "/"
    if request.method == "POST":
        fields = await form(request)
        if guard.token_matches(fields.get("token", "")):
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(SESSION_COOKIE, guard.new_session(), httponly=True, samesite="strict")
            return response
        return page(request, "web/login.html", status_code=401, failed=True, target=target)
    return page(request, "web/login.html", failed=False, target=target)


def create_app(ctx: WebContext, guard: Guard | None = None) -> Starlette:
    """The app over the state ``ctx`` opens; ``guard``: the access rules (default: loopback only)."""
    from syncengine.web import conflicts, contact, errors, history, overview, preview

    routes = [Route("/login", login, methods=["GET", "POST"])]
    for module in (overview, preview, conflicts, history, contact, errors):
        routes += module.ROUTES
    app = Starlette(routes=routes, middleware=[Middleware(Protect)])
    app.state.ctx = ctx
    app.state.guard = guard or Guard()
    return app
