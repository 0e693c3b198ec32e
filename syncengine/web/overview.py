"""Overview: the systems and their health, the last runs, the next scheduled run, the rate budget
left, and the records that wait or failed."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncengine.connectors.errors import ConnectorError
from syncengine.mirror import pages
from syncengine.sim.sampledata import SYSTEMS
from syncengine.web.app import page
from syncengine.web.context import WebContext

RUNS_SHOWN = 8


def overview(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    with ctx.pages.reading() as conn:
        totals = pages.totals(conn)
        runs = pages.runs_page(conn, limit=RUNS_SHOWN)
        written = pages.written_counts(conn, [r.id for r in runs.items])
        last = runs.items[0] if runs.items else None
        errors = pages.error_counts(conn, last.id) if last else {}
        owed_systems = pages.owed_by_system(conn)
        scheduled = pages.next_scheduled_run(conn)
    settings = ctx.settings
    checked = _check(ctx) if request.query_params.get("check") else {}
    systems = []
    for name in SYSTEMS:
        cursor = ctx.mirror.get_cursor(name)
        failures = [str(e) for e in (last.errors if last else ()) if str(e).startswith(f"{name}: ")]
        pull_error = failures[0] if failures else None
        if name in checked:
            health = ("ok", "answered") if checked[name] is None else ("bad", checked[name])
        elif pull_error:
            health = ("bad", pull_error)
        elif cursor is None:
            health = ("muted", "never synced")
        elif errors.get(name):
            health = ("warn", f"{errors[name]} record errors in the last run")
        else:
            health = ("ok", "synced without errors")
        systems.append({
            "name": name,
            "mode": "configured" if name in settings.systems else
                    ("bundled simulator" if ctx.sandbox else "not configured"),
            "cursor": cursor.cursor_at if cursor else None,
            "records": totals.records.get(name, 0), "linked": totals.linked.get(name, 0),
            "health": health, "owed": owed_systems.get(name, 0), "budget": ctx.budgets.get(name),
        })  # fmt: skip
    return page(
        request, "web/overview.html", systems=systems, totals=totals, runs=runs.items, written=written,
        scheduled=scheduled, owed=ctx.mirror.owed_counts(), checked=bool(checked),
        state=ctx.mirror.info(),
    )  # fmt: skip


def _check(ctx: WebContext) -> dict[str, str | None]:
    """One cheap call per system, as ``syncengine check`` makes: None when it answered."""
    answers: dict[str, Any] = {}
    with ctx.workspace() as ws:
        connectors = ws.connectors()
        for system in [s for s in ws.settings.configured if s in connectors]:
            try:
                connectors[system].check()
                answers[system] = None
            except ConnectorError as exc:
                answers[system] = str(exc)
        ctx.note_budgets(connectors)
    return answers


ROUTES = [Route("/", overview)]
