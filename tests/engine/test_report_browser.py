"""The HTML reports in a real headless browser (Debian's chromium through playwright): they open
from disk with nothing fetched, filter by text, system and field, sort by column, highlight what
differs, and show contact data as text, never as markup that runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_world import World

from syncengine import report as reports
from syncengine.plan import who
from syncengine.rules import load_rules

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = os.environ.get("SYNCENGINE_SCREENSHOTS")  # a directory to keep screenshots in

if CHROMIUM is None:
    if os.environ.get("SYNCENGINE_REQUIRE_BROWSER"):
        raise RuntimeError("SYNCENGINE_REQUIRE_BROWSER is set but chromium is not installed")
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.requests = requests
    yield page
    page.close()


def ada_apollo(**extra: Any) -> dict[str, Any]:
    return {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical.example", **extra}


def ada_lc(**extra: Any) -> dict[str, Any]:
    return {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@analytical.example", **extra}


def conflicts_world(world: World, tmp_path: Path) -> None:
    """Two people with open conflicts (company and city are manual), one value holding markup."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "default.toml").write_text((REPO / "rules" / "default.toml").read_text())
    manual = '[fields.company]\npolicy = "manual"\n[fields.city]\npolicy = "manual"\n'
    (rules_dir / "team.toml").write_text(manual)
    world.rules = load_rules(rules_dir)
    people = [("ada", "Analytical Engines", "London"), ("grace", "Navy", "Arlington")]
    apollo = world.sim("apollo").seed_contacts(
        [{"first_name": p.title(), "last_name": "X", "email": f"{p}@x.example", "organization_name": c,
          "city": t} for p, c, t in people]
    )  # fmt: skip
    lc = world.sim("leadconnector").seed_contacts(
        [{"firstName": p.title(), "lastName": "X", "email": f"{p}@x.example", "companyName": c, "city": t}
         for p, c, t in people]
    )  # fmt: skip
    world.sync()
    world.sim("apollo").ui_edit(apollo[0]["id"], {"organization_name": "Analytical Engines Ltd"})
    world.sim("leadconnector").ui_edit(lc[0]["id"], {"companyName": "<script>window.pwned=1</script>"})
    world.sim("apollo").ui_edit(apollo[1]["id"], {"city": "Washington"})
    world.sim("leadconnector").ui_edit(lc[1]["id"], {"city": "New York"})
    world.sync()


def visible_rows(page: Any, table: str) -> list[str]:
    return page.locator(f"#{table} tbody tr:not(.hidden)").all_inner_texts()


def shoot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


def test_the_conflict_report_filters_sorts_marks_and_escapes(world: World, tmp_path: Path, page: Any) -> None:
    conflicts_world(world, tmp_path)
    found = world.mirror.conflicts(status="open")
    assert len(found) == 2
    bases = world.mirror.get_base([c.entity_id for c in found])
    path = tmp_path / "conflicts.html"
    path.write_text(reports.conflicts_html(found, {e: who(b) for e, b in bases.items()}))

    page.goto(path.as_uri())
    shoot(page, "conflicts.png")

    assert page.evaluate("window.pwned") is None  # shown as text, not run
    assert "<script>window.pwned=1</script>" in page.locator("#conflicts").inner_text()
    assert page.locator("#conflicts td.changed").count() == 4  # every system's changed value
    assert page.locator("#conflicts ins").count() >= 1  # the changed characters are marked
    assert len(visible_rows(page, "conflicts")) == 2

    page.select_option("#field", "city")
    rows = visible_rows(page, "conflicts")
    assert len(rows) == 1 and "Washington" in rows[0] and "New York" in rows[0]
    page.select_option("#field", "")
    page.fill("#q", "analytical")
    assert len(visible_rows(page, "conflicts")) == 1
    page.fill("#q", "")

    page.click("#conflicts th:has-text('field')")
    assert [r.split("\t")[2] for r in visible_rows(page, "conflicts")] == ["city", "company"]
    page.click("#conflicts th:has-text('field')")
    assert [r.split("\t")[2] for r in visible_rows(page, "conflicts")] == ["company", "city"]
    assert "syncengine resolve" in page.locator("#conflicts").inner_text()
    assert all(url.startswith("file://") for url in page.requests), page.requests


def test_the_preview_shows_current_and_new_side_by_side_and_filters_by_system(
    world: World, tmp_path: Path, page: Any
) -> None:
    world.sim("apollo").seed_contacts([ada_apollo(title="Engineer", organization_name="Analytical Engines")])
    world.sim("leadconnector").seed_contacts(
        [ada_lc(companyName="Analytical Engines Ltd", phone="+15125550147"),
         {"firstName": "Cy", "email": "cy@x.example", "companyName": "<b>bold</b>"}]
    )  # fmt: skip
    report = world.sync(dry_run=True)
    path = tmp_path / "preview.html"
    path.write_text(reports.run_html(report))

    page.goto(path.as_uri())
    shoot(page, "preview.png")

    assert "Dry run: nothing was written" in page.inner_text("body")
    assert page.locator("#changes b").count() == 0  # "<b>bold</b>" stays text
    everything = visible_rows(page, "changes")
    assert len(everything) == sum(len(p.changes) for p in report.plan.ops)
    page.select_option("#system", "apollo")
    apollo = visible_rows(page, "changes")
    assert apollo and all("\tapollo\t" in r for r in apollo)
    assert len(apollo) == sum(len(p.changes) for p in report.plan.ops if p.op.system == "apollo")
    page.select_option("#system", "leadconnector")
    assert all("\tleadconnector\t" in r for r in visible_rows(page, "changes"))
    assert page.locator("#changes td.new").count() == len(everything)
    assert all(url.startswith("file://") for url in page.requests), page.requests
