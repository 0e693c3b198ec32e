"""Reports: the documented JSON shapes, CSV rows per system value, HTML that escapes contact data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from syncengine import report as reports
from syncengine.connectors.base import HttpCall, WriteOp
from syncengine.merge import FieldConflict
from syncengine.mirror import Conflict
from syncengine.plan import FieldChange, Plan, PlannedConflict, PlannedOp
from syncengine.sync import RunReport

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def a_report() -> RunReport:
    op = WriteOp("op1", "leadconnector", "update", remote_id="L1", values={"title": "CTO"}, entity_id="e1")
    plan = Plan(
        ops=[PlannedOp(op, "Ada <ada@x.io>", (FieldChange("title", "CEO", "CTO", "apollo changed"),))],
        conflicts=[
            PlannedConflict(
                "e1",
                "Ada <ada@x.io>",
                FieldConflict(
                    "company",
                    "A",
                    {"apollo": "B", "leadconnector": "<script>"},
                    {"apollo": AT, "leadconnector": None},
                    "newest",
                    open=False,
                    winner="apollo",
                ),
            )
        ],
    )
    return RunReport(run_id=7, dry_run=True, plan=plan, pulled={"apollo": 3}, changed={"apollo": 1})


def test_run_json_has_the_documented_keys_and_the_http_calls() -> None:
    calls = {"op1": [HttpCall("PUT", "/contacts/L1", {"title": "CTO"}, op_ids=("op1",))]}
    data = json.loads(reports.dumps(reports.run_dict(a_report(), calls)))
    assert {
        "schema",
        "run_id",
        "dry_run",
        "status",
        "pulled",
        "changed",
        "counts",
        "match",
        "ops",
        "conflicts",
        "notes",
        "errors",
        "api_calls",
        "timings",
    } <= set(data)
    assert data["counts"] == {"leadconnector": {"update": 1}}
    [op] = data["ops"]
    assert op["fields"] == [{"field": "title", "old": "CEO", "new": "CTO", "reason": "apollo changed"}]
    assert op["calls"] == [{"method": "PUT", "path": "/contacts/L1", "params": {}, "body": {"title": "CTO"}}]
    assert data["conflicts"][0]["values"] == {"apollo": "B", "leadconnector": "<script>"}


def test_conflicts_csv_has_one_row_per_system_value() -> None:
    conflict = Conflict(
        1,
        "e1",
        "title",
        "A",
        {"apollo": "B", "leadconnector": "C"},
        {"apollo": AT},
        "manual",
        "open",
        3,
        AT,
        AT,
    )
    rows = list(csv.reader(io.StringIO(reports.conflicts_csv([conflict]))))
    assert rows[0][:6] == ["id", "entity_id", "field", "base", "system", "value"]
    assert [r[4:6] for r in rows[1:]] == [["apollo", "B"], ["leadconnector", "C"]]


def test_html_escapes_what_contacts_hold() -> None:
    page = reports.run_html(a_report())
    assert page.count("<script>") == 1 and "&lt;script&gt;" in page  # only the report's own script
    assert "Ada &lt;ada@x.io&gt;" in page


def test_failed_writes_are_errors_by_record_and_field_and_warnings_are_apart() -> None:
    from syncengine.mirror import RecordProblem
    from syncengine.push import PushOutcome

    report = a_report()
    report.dry_run = False
    report.push = PushOutcome(failed={"op1": "leadconnector PUT /contacts/L1: refused"})
    kept = "country: unknown country (value kept as 'Narnia')"
    warning = RecordProblem("apollo", kept, "A1", "e1", "country")
    report.plan.problems.append(warning)
    stored = [RecordProblem("leadconnector", "update of Ada: refused", "L1", "e1", "title")]

    data = reports.run_dict(report, stored=stored)

    assert data["errors"] == [
        {"system": "leadconnector", "remote_id": "L1", "entity_id": "e1", "field": "title",
         "message": "leadconnector PUT /contacts/L1: refused"}
    ]  # fmt: skip
    assert [w["field"] for w in data["warnings"]] == ["country"]
    assert report.errors == 1 and report.warnings == [warning]


def test_the_preview_html_marks_a_write_that_will_be_refused_in_place() -> None:
    from syncengine.mirror import RecordProblem

    report = a_report()
    report.plan.problems.append(
        RecordProblem("leadconnector", "update of Ada would be refused: no title", "L1", "e1", "title")
    )
    page = reports.run_html(report)
    assert 'class="refused"' in page and "will be refused</b> (title)" in page
    assert 'class="new"' not in page
