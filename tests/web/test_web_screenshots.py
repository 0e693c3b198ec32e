"""A screenshot of each page at 1,400 px width, for a person to look at (paths printed; the
folder is the session's pytest tmp dir, or ``SYNCENGINE_SCREENSHOTS``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browser import WIDTH, require_browser
from web_world import WebWorld, with_conflicts

require_browser()


def test_every_page_renders_at_1400_px(web: WebWorld, page: Any, screenshots: Path) -> None:
    with_conflicts(web)
    web.sim("leadconnector").seed_contacts(
        [{"firstName": "Lin", "lastName": "New", "email": "lin@x.example", "companyName": "Lin & Co"}]
    )
    [ada] = [c.entity_id for c in web.ctx.mirror.open_conflicts() if c.values.get("apollo") == "Paris"]
    last = web.ctx.mirror.last_run()
    assert last is not None
    pages = {
        "overview": "/", "preview": "/preview", "conflicts": "/conflicts", "history": "/history",
        "run": f"/history/run/{last.id - 1}", "undo": f"/history/run/{last.id - 1}/undo",
        "contact": f"/contact/{ada}", "errors": "/errors",
    }  # fmt: skip
    shot = {}
    for name, path in pages.items():
        response = page.goto(f"{web.url}{path}")
        assert response.status == 200, (name, page.inner_text("body")[:500])
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name  # no sideways scroll
        assert page.evaluate("window.pwned") is None
        shot[name] = screenshots / f"web-{name}.png"
        page.screenshot(path=str(shot[name]), full_page=True)
        print(f"screenshot: {shot[name]}")
    assert page.script_errors == []
    assert all(p.stat().st_size > 10_000 for p in shot.values())
