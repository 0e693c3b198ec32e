"""Lists are cut into pages and filtered by the database; the errors inbox's actions each leave a
trace; the overview shows the schedule and the rate budget; a contact is found as `show` finds it."""

from __future__ import annotations

import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from web_world import WebClient, WebWorld, ada_and_grace, with_conflicts

from syncengine.mirror import Owed, RecordProblem


def seeded(web: WebWorld, people: int) -> list[str]:
    """``people`` entities with open conflicts on city, owed work and a failed record each."""
    mirror = web.ctx.mirror
    run = mirror.start_run().id
    entities = mirror.new_entities(people)
    mirror.set_base_many({e: {"first_name": f"P{i:03d}", "city": "Rome"} for i, e in enumerate(entities)},
                         run_id=run)  # fmt: skip
    for e in entities:
        mirror.open_conflict(e, "city", base_value="Rome", values={"apollo": "Oslo", "leadconnector": "Bern"},
                             policy="manual", run_id=run)  # fmt: skip
    mirror.owe(Owed(e, "leadconnector", "failed" if i % 2 else "deferred", f"why {i}", run)
               for i, e in enumerate(entities))  # fmt: skip
    mirror.add_record_errors(RecordProblem("leadconnector", f"refused {i}", f"L{i}", e, "city", run)
                             for i, e in enumerate(entities))  # fmt: skip
    mirror.finish_run(run, "partial", counts={"failed": people})
    return entities


def shown_ids(html: str) -> list[str]:
    return re.findall(r'id="conflict-(\d+)"', html)


def test_conflicts_come_fifty_a_page_and_filtered_by_field(web: WebWorld) -> None:
    seeded(web, 120)
    client = WebClient(web.url)
    first = client.http.get("/conflicts").text
    third = client.http.get("/conflicts?offset=100").text
    assert len(shown_ids(first)) == 50 and len(shown_ids(third)) == 20
    assert not set(shown_ids(first)) & set(shown_ids(third))
    assert "1–50 of 120" in first and "next →" in first and "101–120 of 120" in third
    assert shown_ids(client.http.get("/conflicts?field=company").text) == []
    assert len(shown_ids(client.http.get("/conflicts?field=city&offset=50").text)) == 50


def test_dismissing_and_retrying_from_the_inbox_leave_a_trace(web: WebWorld) -> None:
    entities = seeded(web, 6)
    client = WebClient(web.url)
    inbox = client.http.get("/errors?reason=failed").text
    assert "1–3 of 3" in inbox

    dismissed = client.post("/errors/dismiss", entity_id=entities[1], system="leadconnector", reason="failed")
    assert dismissed.status_code == 200 and "dismissed owed work (failed): why 1" in dismissed.text
    assert {o.entity_id for o in web.ctx.mirror.owed(reason="failed")} == {entities[3], entities[5]}
    again = client.post("/errors/dismiss", entity_id=entities[1], system="leadconnector", reason="failed")
    assert again.status_code == 409 and "no longer owed" in again.text

    [error] = [p for p in web.ctx.mirror.record_errors() if p.message == "refused 2"]
    assert client.post("/errors/dismiss-error", id=str(error.id)).status_code == 200
    inbox = client.http.get("/errors").text
    assert "refused 2" not in inbox.split("What people did here")[0] and "refused 3" in inbox
    assert f"dismissed error #{error.id}" in inbox.split("What people did here")[1]

    retried = client.http.post("/errors/retry-kind", data={"csrf": client.csrf(), "reason": "deferred"},
                               follow_redirects=False)  # fmt: skip
    assert retried.status_code == 303 and retried.headers["location"].startswith("/preview?")
    retry = {o.entity_id for o in web.ctx.mirror.owed(reason="retry")}
    assert retry == {entities[0], entities[2], entities[4]}
    assert any("retry asked: every contact owed 'deferred' (3)" in p.message
               for p in web.ctx.mirror.record_errors())  # fmt: skip


def test_two_tabs_approving_the_same_preview_at_once_run_it_once(web: WebWorld) -> None:
    ada_and_grace(web)
    tabs = [WebClient(web.url), WebClient(web.url)]
    shown = tabs[0].preview_fingerprint()
    assert tabs[1].preview_fingerprint() == shown
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda tab: tab.post("/preview/run", fp=shown), tabs))
    paths = sorted(a.url.path for a in answers)
    assert paths[0].startswith("/history/run/") and paths[1] == "/preview"  # the second saw a new plan
    assert len([r for r in web.ctx.mirror.recent_runs(10) if not r.dry_run]) == 1
    graces = [c for c in web.sim("leadconnector").contacts() if c.get("email") == "grace@x.example"]
    assert len(graces) == 1  # created once


def test_the_overview_shows_the_rate_budget_left_once_the_app_has_called_a_system(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCENGINE_CLIENT_BUDGET", "on")  # the documented limits, counted by the client
    ada_and_grace(web)
    client = WebClient(web.url)
    before = client.http.get("/").text
    assert before.count("not known yet") == 3
    client.http.get("/preview")
    after = client.http.get("/").text
    apollo = re.search(r'id="system-apollo".*?rate budget left: (.*?)</div>', after, re.S)
    assert apollo, after
    left = re.search(r"minute (\d+)", apollo.group(1))
    assert left and 0 < int(left.group(1)) < 200, apollo.group(1)  # the professional plan: 200 a minute
    assert after.count("not known yet") == 1  # CorporateMerch is not configured here


def test_the_overview_shows_the_next_scheduled_run(web: WebWorld) -> None:
    client = WebClient(web.url)
    assert "none scheduled" in client.http.get("/").text
    at = datetime(2031, 5, 4, 3, 2, tzinfo=UTC)
    with sqlite3.connect(web.home / "state" / "syncengine.db") as db:  # as APScheduler's job store keeps it
        db.execute("CREATE TABLE apscheduler_jobs (id TEXT PRIMARY KEY, next_run_time REAL, job_state BLOB)")
        db.execute("INSERT INTO apscheduler_jobs VALUES ('syncengine-sync', ?, x'00')", (at.timestamp(),))
    assert "2031-05-04 03:02" in client.http.get("/").text


def test_a_contact_is_found_by_email_and_shown_across_the_systems(web: WebWorld) -> None:
    with_conflicts(web)
    client = WebClient(web.url)
    shown = client.http.get("/contact", params={"q": "ADA@x.example"})
    assert shown.url.path.startswith("/contact/") and "Ada X &lt;ada@x.example&gt;" in shown.text
    values = shown.text.split('id="values"')[1].split("</table>")[0]
    assert "Paris" in values and "Rome" in values and "London" in values  # each system's, and the agreed
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in values
    conflicts = shown.text.split('id="contact-conflicts"')[1].split("</table>")[0]
    assert "city" in conflicts and "company" in conflicts
    several = client.http.get("/contact", params={"q": "X"})  # a last name both hold
    assert several.url.path == "/contact" and "2 contacts match" in several.text
