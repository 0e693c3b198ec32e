"""Output a person can read: `sync` prints a summary (every change behind --detail); piped output is
one plain line per row; `show` finds a contact by email or name and shows each system's values."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_commands import CREDENTIAL_VARIABLES, cli
from typer.testing import CliRunner

from syncengine import commands
from syncengine.cli import app
from syncengine.output import Output
from syncengine.sim.runner import SimCluster

ADA = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@x.example", "organization_name": "AE"}


@pytest.fixture
def merch() -> Iterator[SimCluster]:
    """CorporateMerch refuses a contact without an address: every "merch" contact waits there."""
    with SimCluster(systems=("apollo", "corporatemerch"), contacts=0, rate_limits=False, env={}) as running:
        running["apollo"].sim.seed_contacts(
            [
                {"first_name": f"P{i}", "last_name": "M", "email": f"p{i}@x.ex", "label_names": ["merch"]}
                for i in range(6)
            ]
        )
        yield running


def test_sync_prints_a_summary_with_waiting_creates_by_reason_and_every_change_with_detail(
    merch: SimCluster, tmp_path: Path
) -> None:
    done = cli("sync", env=merch.environment(), cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr  # waiting is not failing
    assert "Changes" not in done.stdout  # no per-field table
    assert "0 errors" in done.stdout and "6 creates wait (not errors" in done.stdout
    assert "6 × corporatemerch, country: CorporateMerch requires country" in done.stdout
    assert done.stdout.count("corporatemerch | entity ") == 3 and "… and 3 more" in done.stdout
    assert "syncengine sync --detail" in done.stdout and "syncengine status" in done.stdout
    assert len(done.stdout.splitlines()) < 25

    other = tmp_path / "detail"
    other.mkdir()
    detailed = cli("sync", "--detail", env=merch.environment(), cwd=other)
    assert detailed.returncode == 0
    assert detailed.stdout.count("corporatemerch | entity ") == 6  # every record, not 3 examples
    assert detailed.stdout.count("Waiting for a change") == 1 and "Failed writes" not in detailed.stdout

    status = cli("status", env=merch.environment(), cwd=tmp_path)
    assert "waiting for a change: 6 writes a system refuses" in status.stdout
    assert status.stdout.count("CorporateMerch requires country") == 6


def _invoke(args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, cwd: Path) -> str:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code in (0, 1, 3), result.output
    return result.output


def test_piped_output_is_one_plain_line_per_row_and_a_terminal_gets_tables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    odd = {**ADA, "organization_name": "Analytical\tEngines\nLtd"}
    with SimCluster(systems=("apollo", "leadconnector"), contacts=0, rate_limits=False, env={}) as pair:
        pair["apollo"].sim.seed_contacts([odd])
        env = pair.environment()
        piped = _invoke(["plan"], env, monkeypatch, tmp_path)
        assert "┃" not in piped and "│" not in piped
        [company] = [line for line in piped.splitlines() if "| company |" in line]
        assert company.startswith("Ada Lovelace <ada@x.example> | leadconnector | create | company | — | ")
        assert "| Analytical Engines Ltd | new in leadconnector" in company

        terminal = io.StringIO()
        monkeypatch.setattr(commands, "out", Output(file=terminal, force_terminal=True, width=120))
        _invoke(["plan"], env, monkeypatch, tmp_path)
    shown = terminal.getvalue()
    assert "┃" in shown and "Changes" in shown and "| company |" not in shown


def test_show_finds_a_contact_by_email_or_name_and_shows_each_systems_values(tmp_path: Path) -> None:
    with SimCluster(systems=("apollo", "leadconnector"), contacts=0, rate_limits=False, env={}) as pair:
        adam = {**ADA, "first_name": "Adam", "email": "adam@x.example"}
        stored, _ = pair["apollo"].sim.seed_contacts([{**ADA, "title": "[bold]Countess"}, adam])
        env = pair.environment()
        assert cli("sync", env=env, cwd=tmp_path).returncode == 0
        [copied] = [c for c in pair["leadconnector"].sim.contacts() if c.get("email") == "ada@x.example"]
        # The company edit is written over LeadConnector's: a change `show` lists under "Last changes".
        pair["apollo"].sim.ui_edit(
            str(stored["id"]), {"email": "ada@apollo.example", "organization_name": "AE Ltd"}
        )
        pair["leadconnector"].sim.ui_edit(str(copied["id"]), {"email": "ada@lc.example"})
        assert cli("sync", env=env, cwd=tmp_path).returncode == 1  # an email conflict waits

        by_email = cli("show", "ADA@apollo.example", env=env, cwd=tmp_path)
        by_name = cli("show", "ada  LOVELACE", env=env, cwd=tmp_path)
        several = cli("show", "lovelace", env=env, cwd=tmp_path)

    assert by_email.returncode == 0, by_email.stdout + by_email.stderr
    assert by_name.stdout == by_email.stdout
    shown = by_email.stdout
    assert "Values: field | agreed | apollo | leadconnector" in shown
    assert "title | [bold]Countess | [bold]Countess | " in shown  # a value, not markup
    assert "email | ada@x.example | ≠ ada@apollo.example | ≠ ada@lc.example" in shown
    assert "Conflicts: id" in shown and "Last changes" in shown
    assert several.returncode == 2
    assert "2 contacts match 'lovelace'" in several.stdout and "adam@x.example" in several.stdout


def test_a_value_with_a_line_break_or_a_tab_stays_on_its_line_when_piped() -> None:
    from datetime import UTC, datetime

    from syncengine import report as reports
    from syncengine.mirror import Conflict

    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    conflict = Conflict(
        3, "e1" * 16, "title", None, {"apollo": "Head\tof\nEngines", "leadconnector": "[b]CTO"},
        {"apollo": at}, "manual", "open", 1, at, at,
    )  # fmt: skip
    piped = io.StringIO()
    reports.print_conflicts(Output(file=piped, width=40), [conflict])
    assert piped.getvalue().splitlines() == [
        "Conflicts: id | entity | field | base | values | since | rule | status",
        "3 | e1e1e1e1 | title | — | apollo: Head\\tof\\nEngines; leadconnector: [b]CTO "
        "| apollo: 2026-05-01 12:00 | manual | open",
    ]
    terminal = io.StringIO()
    reports.print_conflicts(Output(file=terminal, force_terminal=True, width=100), [conflict])
    assert "┏" in terminal.getvalue() and "[b]CTO" in terminal.getvalue()
