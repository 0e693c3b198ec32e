"""Contact: one person across the systems, found as ``syncengine show`` finds them (entity id
prefix, email, or first and last name): each field's agreed value beside each system's as last
pulled, the open conflicts, the history and the work owed."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from syncengine.canonical import FIELDS, is_blank, same
from syncengine.contact_view import SystemValues, read_systems
from syncengine.find_contact import find_entities
from syncengine.mirror import pages
from syncengine.plan import who
from syncengine.report_html import conflict_rows
from syncengine.web.app import int_arg, link, page
from syncengine.web.context import WebContext

HISTORY_PER_PAGE = 50
CANDIDATES_SHOWN = 50


def search(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    q = (request.query_params.get("q") or "").strip()
    found = find_entities(ctx.mirror, q) if q else []
    if len(found) == 1:
        return RedirectResponse(f"/contact/{found[0]}", status_code=303)
    bases = ctx.mirror.get_base(found[:CANDIDATES_SHOWN])
    links = ctx.mirror.links_for(found[:CANDIDATES_SHOWN])
    candidates = [(e, who(bases.get(e) or {}), sorted(links.get(e, {}))) for e in found[:CANDIDATES_SHOWN]]
    return page(request, "web/contact_search.html", q=q, candidates=candidates, total=len(found))


def _cell(name: str, base: Any, values: SystemValues) -> dict[str, Any]:
    if name in values.unread:
        return {"unread": values.unread[name]}
    value = (values.values or {}).get(name)
    if name not in values.held and is_blank(value):
        return {"not_kept": True}
    return {"value": value, "differs": not same(name, value, base)}


def contact(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    entity_id = request.path_params["entity_id"]
    base = ctx.mirror.get_base([entity_id]).get(entity_id)
    if base is None and not ctx.mirror.links_of(entity_id):
        return search(request) if request.query_params.get("q") else page(
            request, "web/failed.html", status_code=404, title="Contact", message=f"no contact {entity_id}"
        )
    base = base or {}
    if ctx.sandbox_ready:
        # As `syncengine show`: the bundled simulators answer on this machine, and their
        # catalogues name list and tag ids. A real system is never called.
        with ctx.workspace(simulate=True) as ws:
            connectors = ws.connectors()
            for connector in connectors.values():
                connector.load_catalogue()
            systems = read_systems(ws.mirror, entity_id, connectors)
    else:
        systems = read_systems(ctx.mirror, entity_id, ctx.field_maps())
    read = [s for s in systems if s.values is not None]
    shown = [
        name for name in FIELDS
        if not is_blank(base.get(name))
        or any(not is_blank((s.values or {}).get(name)) or name in s.unread for s in read)
    ]  # fmt: skip
    rows = [(name, base.get(name), [_cell(name, base.get(name), s) for s in read]) for name in shown]
    offset = int_arg(request, "offset")
    with ctx.pages.reading() as conn:
        history = pages.history_page(conn, entity_id=entity_id, limit=HISTORY_PER_PAGE, offset=offset)
        owed = pages.owed_page(conn, entity_id=entity_id, limit=100)
        errors = pages.errors_page(conn, run_id=None, entity_id=entity_id, limit=20)
    conflicts = conflict_rows(ctx.mirror.open_conflicts([entity_id]), {entity_id: who(base)})
    return page(
        request, "web/contact.html", entity_id=entity_id, who=who(base), systems=systems, read=read,
        rows=rows, conflicts=conflicts, history=history, owed=owed, errors=errors,
        page_link=lambda at: link(f"/contact/{entity_id}", offset=at),
    )  # fmt: skip


ROUTES = [Route("/contact", search), Route("/contact/{entity_id:str}", contact)]
