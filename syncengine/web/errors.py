"""Errors inbox: the work runs owe contacts (failed writes, refused creates, deferrals...) and the
records that failed in the last run, with their reasons. Retry one, retry all of a kind, or
dismiss; each leaves a trace (``actions.retry_owed``, ``dismiss_owed``, ``dismiss_error``)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncengine import actions
from syncengine.mirror import Owed, RecordProblem, pages
from syncengine.plan import who
from syncengine.web.app import done, form, int_arg, link, page
from syncengine.web.context import WebContext
from syncengine.web.failures import failing

PER_PAGE = 50
TRACES_SHOWN = 15


def inbox(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    reason = request.query_params.get("reason") or None
    system = request.query_params.get("system") or None
    offset, error_offset = int_arg(request, "offset"), int_arg(request, "eoffset")
    with ctx.pages.reading() as conn:
        owed = pages.owed_page(conn, reason=reason, system=system, limit=PER_PAGE, offset=offset)
        last = next(iter(pages.runs_page(conn, limit=1).items), None)
        failed = pages.errors_page(
            conn, run_id=last.id if last else -1, system=system, limit=PER_PAGE, offset=error_offset
        )
        traces = pages.traces(conn, limit=TRACES_SHOWN)
    ids = sorted({o.entity_id for o in owed.items} | {p.entity_id for p in failed.items if p.entity_id})
    names = {e: who(b) for e, b in ctx.mirror.get_base(ids).items() if b}
    params = {"reason": reason, "system": system}
    return page(
        request, "web/errors.html", owed=owed, failed=failed, last=last, traces=traces, names=names,
        kinds=ctx.mirror.owed_counts(), params=params,
        owed_link=lambda at: link("/errors", offset=at, eoffset=error_offset, **params),
        errors_link=lambda at: link("/errors", offset=offset, eoffset=at, **params),
    )  # fmt: skip


async def _act(request: Request, act: Callable[[WebContext], actions.Traced], *, preview: bool) -> Response:
    ctx: WebContext = request.app.state.ctx

    def locked() -> actions.Traced:
        with ctx.workspace(lock=True, simulate=False, command="serve: errors"):
            return act(ctx)

    try:
        traced = await run_in_threadpool(locked)
    except Exception as exc:
        if (message := failing(exc)) is None:
            raise
        return page(request, "web/failed.html", status_code=409, title="Errors", message=message)
    if preview and traced.entity_ids:
        return done(
            "/preview", f"{traced.trace}. The next sync takes it up; this is what it writes:",
            contact=",".join(traced.entity_ids[:200]),
        )  # fmt: skip
    return done("/errors", traced.trace)


def _owed(ctx: WebContext, entity_id: str, system: str, reason: str) -> Owed:
    with ctx.pages.reading() as conn:
        rows = [o for o in pages.owed_rows(conn, reason=reason, entity_id=entity_id) if o.system == system]
    if not rows:
        raise actions.ActionError("that work is no longer owed: a sync did it, or someone dismissed it")
    return rows[0]


async def retry(request: Request) -> Response:
    fields = await form(request)

    def act(ctx: WebContext) -> actions.Traced:
        entry = _owed(ctx, fields.get("entity_id", ""), fields.get("system", ""), fields.get("reason", ""))
        why = f"{entry.reason} of {entry.system or 'every system'}"
        return actions.retry_owed(ctx.mirror, [entry], why=why)

    return await _act(request, act, preview=True)


async def retry_kind(request: Request) -> Response:
    fields = await form(request)
    reason = fields.get("reason", "")

    def act(ctx: WebContext) -> actions.Traced:
        with ctx.pages.reading() as conn:
            entries = pages.owed_rows(conn, reason=reason)
        return actions.retry_owed(ctx.mirror, entries, why=f"every contact owed {reason!r} ({len(entries)})")

    return await _act(request, act, preview=True)


async def dismiss(request: Request) -> Response:
    fields = await form(request)

    def act(ctx: WebContext) -> actions.Traced:
        entry = _owed(ctx, fields.get("entity_id", ""), fields.get("system", ""), fields.get("reason", ""))
        return actions.dismiss_owed(ctx.mirror, entry)

    return await _act(request, act, preview=False)


def _error(ctx: WebContext, error_id: str) -> RecordProblem:
    with ctx.pages.reading() as conn:
        problem = pages.get_error(conn, int(error_id)) if error_id.isdigit() else None
    if problem is None:
        raise actions.ActionError(f"no record error {error_id}")
    return problem


async def retry_error(request: Request) -> Response:
    fields = await form(request)

    def act(ctx: WebContext) -> actions.Traced:
        problem = _error(ctx, fields.get("id", ""))
        if not problem.entity_id:
            raise actions.ActionError("this record is not linked to a contact: the next sync reads it again")
        entry = Owed(problem.entity_id, problem.system, "failed", problem.message, problem.run_id)
        return actions.retry_owed(ctx.mirror, [entry], why=f"{problem.system}: {problem.message}")

    return await _act(request, act, preview=True)


async def dismiss_error(request: Request) -> Response:
    fields = await form(request)

    def act(ctx: WebContext) -> actions.Traced:
        return actions.dismiss_error(ctx.mirror, _error(ctx, fields.get("id", "")))

    return await _act(request, act, preview=False)


ROUTES = [
    Route("/errors", inbox),
    Route("/errors/retry", retry, methods=["POST"]),
    Route("/errors/retry-kind", retry_kind, methods=["POST"]),
    Route("/errors/dismiss", dismiss, methods=["POST"]),
    Route("/errors/retry-error", retry_error, methods=["POST"]),
    Route("/errors/dismiss-error", dismiss_error, methods=["POST"]),
]
