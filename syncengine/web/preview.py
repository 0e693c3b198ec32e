"""Preview: the next sync's plan grouped by contact (each field's current and new value and why,
the exact calls on demand), and the button that runs it.

What is written is what was shown: the run re-plans inside the state lock and compares the
plan's fingerprint with the one the page showed (``actions.approve_sync``); when they differ it
shows the new plan instead and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncengine import actions
from syncengine.report_html import run_tables
from syncengine.web.app import done, form, int_arg, link, page
from syncengine.web.context import WebContext
from syncengine.web.failures import failing

CONTACTS_PER_PAGE = 25


def _fresh_preview(ctx: WebContext) -> actions.SyncOutcome:
    with ctx.workspace() as ws:
        connectors = ws.connectors()
        outcome = actions.run_sync(ws, dry_run=True, connectors=connectors)
        ctx.note_budgets(connectors)
    ctx.keep_preview(outcome)
    return outcome


def _calls(outcome: actions.SyncOutcome, op_id: str) -> list[dict[str, Any]]:
    return [
        {"method": c.method, "path": c.path,
         "params": json.dumps(dict(c.params), ensure_ascii=False) if c.params else "",
         "body": json.dumps(c.body, indent=2, ensure_ascii=False, default=str) if c.body is not None else ""}
        for c in outcome.calls.get(op_id, [])
    ]  # fmt: skip


def grouped(outcome: actions.SyncOutcome) -> list[dict[str, Any]]:
    """The plan per contact, sorted by name: each contact's ops (their field changes) and the
    disagreements the merge settled or left open."""
    tables = run_tables(outcome.report)
    groups: dict[str, dict[str, Any]] = {}

    def group(entity_id: str | None, who: str) -> dict[str, Any]:
        key = entity_id or who
        return groups.setdefault(
            key, {"entity_id": entity_id, "who": who, "ops": {}, "disagreements": []}
        )

    for row in tables["changes"]:
        ops = group(row["entity_id"], row["who"])["ops"]
        op = ops.setdefault(row["op_id"], {
            "system": row["system"], "kind": row["kind"], "refused": row["refused"], "changes": [],
        })  # fmt: skip
        op["changes"].append(row)
    for row in tables["disagreements"]:
        group(row["entity_id"], row["who"])["disagreements"].append(row)
    return sorted(groups.values(), key=lambda g: g["who"].casefold())


def contacts(groups: list[dict[str, Any]], params: Mapping[str, str]) -> list[dict[str, Any]]:
    """``groups`` filtered by ``system``, ``field``, ``q`` (name or email) and ``contact``
    (entity ids, comma-separated)."""
    system, field = params.get("system") or "", params.get("field") or ""
    text = (params.get("q") or "").casefold()
    wanted = {e for e in (params.get("contact") or "").split(",") if e}
    found = []
    for g in groups:
        if (text and text not in g["who"].casefold()) or (wanted and g["entity_id"] not in wanted):
            continue
        if system or field:
            ops = {}
            for op_id, op in g["ops"].items():
                changes = [r for r in op["changes"] if (not system or r["system"] == system)
                           and (not field or r["field"] == field)]  # fmt: skip
                if changes:
                    ops[op_id] = {**op, "changes": changes}
            disagreements = [d for d in g["disagreements"] if (not system or system in d["systems"])
                             and (not field or d["field"] == field)]  # fmt: skip
            if not ops and not disagreements:
                continue
            g = {**g, "ops": ops, "disagreements": disagreements}
        found.append(g)
    return found


def preview(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    shown = request.query_params.get("fp")
    outcome = ctx.previews.get(shown) if shown else None
    if outcome is None:
        try:
            outcome = _fresh_preview(ctx)
        except Exception as exc:
            if (message := failing(exc)) is None:
                raise
            return page(request, "web/failed.html", status_code=502, title="Preview", message=message)
    return _render(request, outcome)


def _render(request: Request, outcome: actions.SyncOutcome) -> Response:
    report = outcome.report
    ctx: WebContext = request.app.state.ctx
    params = {k: v for k, v in request.query_params.items() if k in ("system", "field", "q", "contact")}
    everyone = contacts(ctx.grouped(outcome, grouped), params)
    offset = int_arg(request, "offset")
    shown = [
        {**g, "ops": {op_id: {**op, "calls": _calls(outcome, op_id)} for op_id, op in g["ops"].items()}}
        for g in everyone[offset : offset + CONTACTS_PER_PAGE]
    ]
    plan = report.plan
    counts = plan.counts()
    writes = sum(len(p.changes) for p in plan.ops)
    return page(
        request, "web/preview.html", outcome=outcome, report=report, fp=outcome.fingerprint,
        contacts=shown, total=len(everyone), offset=offset, per_page=CONTACTS_PER_PAGE, params=params,
        counts=counts, writes=writes, problems=plan.problems, notes=plan.notes,
        systems=sorted({p.op.system for p in plan.ops} | set(report.pulled)),
        fields=sorted(
            {c.field for p in plan.ops for c in p.changes} | {c.conflict.field for c in plan.conflicts}
        ),
        page_link=lambda at: link("/preview", fp=outcome.fingerprint, offset=at, **params),
    )  # fmt: skip


async def run(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    fields = await form(request)
    shown = fields.get("fp", "")

    def approve() -> actions.Approval:
        with ctx.workspace(lock=True, command="serve: sync") as ws:
            connectors = ws.connectors()
            approval = actions.approve_sync(
                ws, shown, allow_mass_change=fields.get("allow_mass_change") == "1", connectors=connectors
            )
            ctx.note_budgets(connectors)
            return approval

    try:
        approval = await run_in_threadpool(approve)
    except Exception as exc:
        if (message := failing(exc)) is None:
            raise
        return page(request, "web/failed.html", status_code=409, title="Sync", message=message)
    report = approval.outcome.report
    if not approval.ran:
        ctx.keep_preview(approval.outcome)
        return done(
            "/preview", "The plan changed since it was shown, so nothing was written. This is the new plan: "
            "run it if it is what you want.", fp=approval.outcome.fingerprint,
        )  # fmt: skip
    confirmed = report.push.confirmed_count if report.push else 0
    return done(
        f"/history/run/{report.run_id}",
        f"Run {report.run_id} {report.status}: {confirmed} writes confirmed, {report.errors} errors, "
        f"{report.open_conflicts} conflicts wait for a person.",
    )


ROUTES = [Route("/preview", preview), Route("/preview/run", run, methods=["POST"])]
