"""Text that is not ours (CRM values, error messages, help) is printed as it is, never as rich markup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_commands import cli

from syncengine.sim.runner import SimCluster


@pytest.fixture
def pair() -> Iterator[SimCluster]:
    with SimCluster(systems=("apollo", "leadconnector"), contacts=0, rate_limits=False, env={}) as running:
        yield running


def test_an_error_holding_markup_is_one_plain_line(tmp_path: Path) -> None:
    done = cli("plan", "--config", "[/x].toml", env={}, cwd=tmp_path)

    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "[/x].toml" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_crm_values_that_look_like_markup_are_shown_as_they_are(pair: SimCluster, tmp_path: Path) -> None:
    pair["apollo"].sim.seed_contacts(
        [{"first_name": "[email]", "last_name": "[bold]Smith", "email": "s@x.example"}]
    )

    done = cli("plan", env={**pair.environment(), "COLUMNS": "300"}, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "[email] [bold]Smith <s@x.example>" in done.stdout and "[/x]" not in done.stderr


def test_help_text_is_not_read_as_markup(tmp_path: Path) -> None:
    done = cli("sync", "--help", env={"COLUMNS": "200"}, cwd=tmp_path)
    assert "(rules: [guard])" in done.stdout


def test_sim_errors_go_through_the_same_boundary(tmp_path: Path) -> None:
    done = cli("sim", "--systems", "[nope]", env={}, cwd=tmp_path)
    assert done.returncode == 2 and "[nope]" in done.stderr and "Traceback" not in done.stderr
