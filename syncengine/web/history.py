"""History: the runs and the values each overwrote; undo a run after a preview of what the undo
writes back. The undo goes through ``actions.approve_undo`` under the state lock: it refuses a run
already undone and, when the write-back differs from the preview shown, shows the new one."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncengine import actions
from syncengine.mirror import NotFoundError, pages
from syncengine.plan import who
from syncengine.undo import UndoPlan
from syncengine.undo_report import action, plan_counts
from syncengine.web.app import done, form, int_arg, link, page
from syncengine.web.context import WebContext
from syncengine.web.failures import failing

RUNS_PER_PAGE = 25
ENTRIES_PER_PAGE = 100
UNDO_ROWS = 500  # field rows the undo preview shows; `syncengine undo RUN --dry-run --json` lists all


def runs(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    offset = int_arg(request, "offset")
    with ctx.pages.reading() as conn:
        found = pages.runs_page(conn, limit=RUNS_PER_PAGE, offset=offset)
        written = pages.written_counts(conn, [r.id for r in found.items])
    undone = {int(r.counts["undo_of"]): r.id for r in found.items if r.counts.get("undo_of")}
    return page(
        request, "web/history.html", found=found, written=written, undone=undone,
        page_link=lambda at: link("/history", offset=at),
    )  # fmt: skip


def run_detail(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    run_id = request.path_params["run_id"]
    try:
        run = ctx.mirror.get_run(run_id)
    except NotFoundError:
        message = f"unknown run {run_id}"
        return page(request, "web/failed.html", status_code=404, title="History", message=message)
    field = request.query_params.get("field") or None
    system = request.query_params.get("system") or None
    offset = int_arg(request, "offset")
    with ctx.pages.reading() as conn:
        entries = pages.history_page(
            conn, run_id=run_id, field=field, system=system, limit=ENTRIES_PER_PAGE, offset=offset
        )
        errors = pages.errors_page(conn, run_id=run_id, limit=50)
    bases = ctx.mirror.get_base(sorted({e.entity_id for e in entries.items}))
    params = {"field": field, "system": system}
    return page(
        request, "web/run.html", run=run, entries=entries, errors=errors, params=params,
        names={e: who(b) for e, b in bases.items() if b}, undone_by=actions.undone_by(ctx.mirror, run_id),
        page_link=lambda at: link(f"/history/run/{run_id}", offset=at, **params),
    )  # fmt: skip


def _undo_page(
    request: Request, plan: UndoPlan, fingerprint: str, *, status_code: int = 200, notice: str = ""
) -> Response:
    ctx: WebContext = request.app.state.ctx
    rows = [(r, f, action(r, f.skipped)) for r in plan.records for f in r.fields]
    return page(
        request, "web/undo.html", status_code=status_code, plan=plan, fp=fingerprint, rows=rows[:UNDO_ROWS],
        more=max(len(rows) - UNDO_ROWS, 0), counts=plan_counts(plan),
        undone_by=actions.undone_by(ctx.mirror, plan.run_id), notice=notice,
    )  # fmt: skip


def undo_preview(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    try:
        with ctx.workspace() as ws:
            plan = actions.preview_undo(ws, request.path_params["run_id"])
    except Exception as exc:
        if (message := failing(exc)) is None:
            raise
        return page(request, "web/failed.html", status_code=404, title="Undo", message=message)
    fingerprint = ctx.keep_undo(actions.undo_fingerprint(plan), plan)
    return _undo_page(request, plan, fingerprint)


async def undo(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    fields = await form(request)
    run_id = request.path_params["run_id"]

    def act() -> actions.UndoApproval:
        with ctx.workspace(lock=True, command="serve: undo") as ws:
            return actions.approve_undo(ws, run_id, fields.get("fp", ""))

    try:
        approval = await run_in_threadpool(act)
    except Exception as exc:
        if (message := failing(exc)) is None:
            raise
        return page(request, "web/failed.html", status_code=409, title="Undo", message=message)
    if not approval.ran:
        fingerprint = ctx.keep_undo(actions.undo_fingerprint(approval.plan), approval.plan)
        notice = "What undo would write changed since it was shown, so nothing was written: here it is now."
        return _undo_page(request, approval.plan, fingerprint, status_code=409, notice=notice)
    result = approval.result
    if result is None or result.undo_run_id is None:
        return done(f"/history/run/{run_id}", f"Nothing to write back for run {run_id}.")
    return done(
        f"/history/run/{result.undo_run_id}",
        f"Run {result.undo_run_id} undid run {run_id}: {result.confirmed} records written back, "
        f"{result.failed} failed; {len(result.base)} agreed values moved.",
    )


ROUTES = [
    Route("/history", runs),
    Route("/history/run/{run_id:int}", run_detail),
    Route("/history/run/{run_id:int}/undo", undo_preview),
    Route("/history/run/{run_id:int}/undo", undo, methods=["POST"]),
]
