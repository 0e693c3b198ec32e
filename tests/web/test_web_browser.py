"""The web app in a real browser, walked as a person would: approve a preview and see the writes
in the simulators, settle a conflict and see the next sync write it, undo a run, retry a failed
record after fixing it in the simulator. CRM values stay text; no page runs a script of theirs."""

from __future__ import annotations

from typing import Any

import httpx
from browser import require_browser
from web_world import WebWorld, ada_and_grace, with_conflicts

require_browser()


def test_approving_the_preview_writes_what_it_showed(web: WebWorld, page: Any) -> None:
    ada_and_grace(web)
    page.goto(f"{web.url}/preview")
    body = page.inner_text("body")
    assert "A preview: nothing has been written" in body
    assert "Grace Hopper" in body and "London" in body
    assert page.locator("section.contact b").count() == 0  # "<b>bold</b>" from a CRM stays text
    assert "<b>bold</b>" in body
    page.click("section.contact:has-text('Grace Hopper') summary")  # the exact calls, on demand
    assert "POST" in page.inner_text("section.contact:has-text('Grace Hopper') details")
    assert "grace@x.example" not in web.by_email("leadconnector")  # a preview writes nothing

    page.click("#run-sync")
    page.wait_for_url("**/history/run/*")
    assert "writes confirmed" in page.inner_text(".banner.done")
    lc = web.by_email("leadconnector")
    assert lc["grace@x.example"]["companyName"] == "Navy"
    assert lc["ada@x.example"]["city"] == "London"
    assert web.by_email("apollo")["cy@x.example"]["organization_name"] == "<b>bold</b>"
    assert page.script_errors == []


def test_a_plan_that_changed_since_it_was_shown_is_shown_again_not_run(web: WebWorld, page: Any) -> None:
    apollo, _ = ada_and_grace(web)
    page.goto(f"{web.url}/preview")
    web.sim("apollo").ui_edit(apollo[1]["id"], {"organization_name": "US Navy"})  # after the page showed it

    page.click("#run-sync")
    page.wait_for_url("**/preview?*")
    assert "The plan changed since it was shown, so nothing was written" in page.inner_text(".banner.done")
    assert "grace@x.example" not in web.by_email("leadconnector")
    assert web.ctx.mirror.last_run() is None  # no run was started
    assert "US Navy" in page.inner_text("body")

    page.click("#run-sync")  # the new plan, approved
    page.wait_for_url("**/history/run/*")
    assert web.by_email("leadconnector")["grace@x.example"]["companyName"] == "US Navy"


def test_settling_a_conflict_shows_what_the_next_sync_writes_and_it_does(web: WebWorld, page: Any) -> None:
    with_conflicts(web)
    page.goto(f"{web.url}/conflicts")
    assert page.evaluate("window.pwned") is None
    assert "<script>window.pwned=1</script>" in page.inner_text("#conflicts")
    [ada_company] = [c for c in web.ctx.mirror.open_conflicts() if c.field == "company"]

    page.click(f"#conflict-{ada_company.id} button:has-text('take apollo')")
    page.wait_for_url("**/preview?*")
    settled = f"conflict {ada_company.id} (company) settled: 'Analytical Engines Ltd'"
    assert settled in page.inner_text(".banner.done")
    change = page.locator("section.contact tr:has-text('company')")
    assert "leadconnector" in change.inner_text() and "Analytical Engines Ltd" in change.inner_text()
    assert web.ctx.mirror.get_conflict(ada_company.id).resolved_by == "person: took apollo"

    page.click("#run-sync")
    page.wait_for_url("**/history/run/*")
    assert web.by_email("leadconnector")["ada@x.example"]["companyName"] == "Analytical Engines Ltd"
    assert web.ctx.mirror.get_conflict(ada_company.id).resolved_run_id is not None


def test_one_value_settles_every_open_conflict_on_a_field(web: WebWorld, page: Any) -> None:
    with_conflicts(web)
    page.goto(f"{web.url}/conflicts?field=city")
    assert page.locator("#conflicts tbody tr").count() == 2
    page.fill("#settle-field input[name=value]", "Lisbon")
    page.click("#settle-field button:has-text('set for all')")
    page.wait_for_url("**/preview?*")
    settled = [c for c in web.ctx.mirror.conflicts(status="resolved") if c.field == "city"]
    assert [c.resolution_value for c in settled] == ["Lisbon", "Lisbon"]
    page.click("#run-sync")
    page.wait_for_url("**/history/run/*")
    assert {c["city"] for c in web.sim("leadconnector").contacts()} == {"Lisbon"}
    assert {c["city"] for c in web.sim("apollo").contacts()} == {"Lisbon"}


def test_two_tabs_cannot_settle_the_same_conflict_twice(web: WebWorld, browser: Any) -> None:
    with_conflicts(web)
    [ada_city] = [c for c in web.ctx.mirror.open_conflicts() if c.values.get("apollo") == "Paris"]
    tabs = [browser.new_page(viewport={"width": 1400, "height": 900}) for _ in range(2)]
    for tab in tabs:
        tab.goto(f"{web.url}/conflicts")
    tabs[0].click(f"#conflict-{ada_city.id} button:has-text('take apollo')")
    tabs[0].wait_for_url("**/preview?*")
    tabs[1].click(f"#conflict-{ada_city.id} button:has-text('take leadconnector')")
    assert f"conflict {ada_city.id} is already resolved" in tabs[1].inner_text(".banner.error")
    assert web.ctx.mirror.get_conflict(ada_city.id).resolution_value == "Paris"
    for tab in tabs:
        tab.close()


def test_undoing_a_run_writes_back_what_it_overwrote_once(web: WebWorld, page: Any, browser: Any) -> None:
    apollo, _ = ada_and_grace(web)
    web.sync()
    web.sim("apollo").ui_edit(apollo[0]["id"], {"organization_name": "Babbage & Co"})
    run = web.sync().report.run_id
    assert web.by_email("leadconnector")["ada@x.example"]["companyName"] == "Babbage & Co"

    page.goto(f"{web.url}/history")
    page.click(f"#run-{run} a:has-text('preview undo')")
    plan = page.inner_text("#undo-plan")
    assert "Babbage & Co" in plan and "Analytical Engines" in plan
    assert web.by_email("leadconnector")["ada@x.example"]["companyName"] == "Babbage & Co"  # a preview
    second = browser.new_page()
    second.goto(page.url)  # the same undo, open in another tab

    page.click("#confirm-undo")
    page.wait_for_url("**/history/run/*")
    assert f"undid run {run}: 1 records written back" in page.inner_text(".banner.done")
    assert web.by_email("leadconnector")["ada@x.example"]["companyName"] == "Analytical Engines"

    second.click("#confirm-undo")
    assert f"run {run} was already undone" in second.inner_text(".banner.error")
    runs = [r for r in web.ctx.mirror.recent_runs(20) if r.counts.get("undo_of") == run]
    assert len(runs) == 1
    second.close()


def test_a_failed_record_is_retried_from_the_inbox_once_fixed_in_the_simulator(
    web: WebWorld, page: Any
) -> None:
    ada_and_grace(web)
    admin = web.cluster["leadconnector"].admin_url
    faults = {"error_rate": 1.0, "error_status": 422, "methods": ["PUT"], "paths": ["/contacts/"]}
    assert httpx.put(f"{admin}/faults", json=faults).status_code == 200
    web.sync()  # Ada's update in LeadConnector (her city, from Apollo) is refused
    assert not web.by_email("leadconnector")["ada@x.example"].get("city")

    page.goto(f"{web.url}/errors?reason=failed")
    row = page.locator("#owed tr:has-text('Ada Lovelace')")
    assert "leadconnector" in row.inner_text() and "422" in row.inner_text()
    assert page.locator("#failed tr:has-text('Ada Lovelace')").count() == 1
    httpx.put(f"{admin}/faults", json={})  # fixed in the simulator

    row.locator("button:has-text('retry')").click()
    page.wait_for_url("**/preview?*")
    assert "retry asked" in page.inner_text(".banner.done")
    assert "London" in page.inner_text("section.contact:has-text('Ada Lovelace')")
    page.click("#run-sync")
    page.wait_for_url("**/history/run/*")
    assert web.by_email("leadconnector")["ada@x.example"]["city"] == "London"
    page.goto(f"{web.url}/errors")
    assert "retry asked" in page.inner_text("#traces")
    assert page.locator("#owed tr:has-text('Ada Lovelace')").count() == 0
