"""A screenshot of each page at 1,400 px width, for a person to look at (paths printed; the
folder is the session's pytest tmp dir, or ``SYNCENGINE_SCREENSHOTS``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from browser import WIDTH, require_browser
from web_world import WebWorld, with_conflicts

require_browser()


def test_every_page_renders_at_1400_px(web: WebWorld, page: Any, screenshots: Path) -> None:
    with_conflicts(web)  # runs 1 and 2: three conflicts left open
    apollo = {c["email"]: c["id"] for c in web.sim("apollo").contacts()}
    lc = {c["email"]: c["id"] for c in web.sim("leadconnector").contacts()}
    web.sim("leadconnector").ui_edit(lc["ada@x.example"], {"lastName": "Lovelace"})
    web.sim("apollo").ui_edit(apollo["grace@x.example"], {"organization_name": "US Navy"})
    web.sim("apollo").seed_contacts([{"first_name": "Max", "last_name": "Born", "email": "max@x.example",
                                      "organization_name": "Göttingen", "city": "Berlin"}])  # fmt: skip
    admin = web.cluster["leadconnector"].admin_url
    httpx.put(f"{admin}/faults", json={"error_rate": 1.0, "error_status": 422, "methods": ["PUT"]})
    run = web.sync().report.run_id  # run 3: Ada's name to Apollo, Max to LeadConnector; Grace's refused
    httpx.put(f"{admin}/faults", json={})
    web.sim("leadconnector").seed_contacts(
        [{"firstName": "Lin", "lastName": "New", "email": "lin@x.example", "companyName": "Lin & Co"}]
    )
    [ada] = [c.entity_id for c in web.ctx.mirror.open_conflicts() if c.values.get("apollo") == "Paris"]
    pages = {
        "overview": "/", "preview": "/preview", "conflicts": "/conflicts", "history": "/history",
        "run": f"/history/run/{run}", "undo": f"/history/run/{run}/undo", "contact": f"/contact/{ada}",
        "errors": "/errors",
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
