"""Conflicts: each system's value beside the agreed one; settle one by taking a system's value or
typing one, or all open conflicts on a field at once; then the preview shows what the next sync
writes. Settling goes through ``actions.settle_conflicts``, as ``syncengine resolve`` does, under
the state lock, which checks that each conflict is still open."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncengine import actions
from syncengine.find_contact import find_entities
from syncengine.mirror import pages
from syncengine.plan import who
from syncengine.report_html import conflict_rows
from syncengine.web.app import done, form, int_arg, link, page
from syncengine.web.context import WebContext
from syncengine.web.failures import failing

PER_PAGE = 50


def conflicts(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    status = request.query_params.get("status", "open")
    field = request.query_params.get("field") or None
    q = (request.query_params.get("q") or "").strip()
    contact = request.query_params.get("contact") or None
    entity_ids = [contact] if contact else (find_entities(ctx.mirror, q) if q else None)
    offset = int_arg(request, "offset")
    with ctx.pages.reading() as conn:
        found = pages.conflicts_page(
            conn, status=None if status == "all" else status, field=field, entity_ids=entity_ids,
            limit=PER_PAGE, offset=offset,
        )  # fmt: skip
        by_field = pages.open_conflict_fields(conn)
    bases = ctx.mirror.get_base(sorted({c.entity_id for c in found.items}))
    rows = conflict_rows(found.items, {e: who(b) for e, b in bases.items() if b})
    params = {"status": status, "field": field, "q": q, "contact": contact}
    return page(
        request, "web/conflicts.html", rows=rows, found=found, by_field=by_field, params=params,
        systems=sorted({s for c in found.items for s in c.values}),
        page_link=lambda at: link("/conflicts", offset=at, **params),
    )  # fmt: skip


async def settle(request: Request) -> Response:
    """One conflict (``/conflicts/{id}/settle``) or every open one on a field (``field`` posted)."""
    ctx: WebContext = request.app.state.ctx
    fields = await form(request)
    conflict_id = request.path_params.get("conflict_id")
    take = fields.get("take") or None
    typed = fields.get("value")
    value = actions.parse_value(typed) if take is None and typed is not None else None
    if take is None and typed is None:
        return page(request, "web/failed.html", status_code=400, title="Conflicts",
                    message="choose a system's value or type one")  # fmt: skip

    def act() -> list[actions.Settled]:
        with ctx.workspace(lock=True, simulate=False, command="serve: resolve") as ws:
            return actions.settle_conflicts(
                ws.mirror, conflict_id=conflict_id, field=None if conflict_id else fields.get("field"),
                take=take, value=value,
            )  # fmt: skip

    try:
        settled = await run_in_threadpool(act)
    except Exception as exc:
        if (message := failing(exc)) is None:
            raise
        return page(request, "web/failed.html", status_code=409, title="Conflicts", message=message)
    entities = sorted({ctx.mirror.get_conflict(s.conflict_id).entity_id for s in settled})
    what = "; ".join(f"conflict {s.conflict_id} ({s.field}) settled: {s.value!r}" for s in settled[:5])
    more = f" and {len(settled) - 5} more" if len(settled) > 5 else ""
    return done(
        "/preview", f"{what}{more}. Below: what the next sync writes.",
        contact=",".join(entities[:200]),
    )  # fmt: skip


ROUTES = [
    Route("/conflicts", conflicts),
    Route("/conflicts/{conflict_id:int}/settle", settle, methods=["POST"]),
    Route("/conflicts/settle-field", settle, methods=["POST"]),
]
