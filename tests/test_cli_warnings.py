"""Warnings are not failures: a value that could not be read is reported, but the run succeeds
unless ``--strict`` is given; failed writes are errors by system, record, entity and field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_commands import cli

from syncengine.sim.runner import SimCluster


@pytest.fixture
def cluster() -> Iterator[SimCluster]:
    with SimCluster(systems=("apollo", "leadconnector"), contacts=0, rate_limits=False, env={}) as running:
        running["apollo"].sim.seed_contacts(
            [
                {"first_name": "Bad", "last_name": "Country", "email": "bad@x.example", "country": "Narnia"},
                {"first_name": "Good", "last_name": "Value", "email": "good@x.example"},
            ]
        )
        yield running


def test_a_value_that_cannot_be_read_is_a_warning_not_a_failure(cluster: SimCluster, tmp_path: Path) -> None:
    preview = cli("plan", "--json", env=cluster.environment(), cwd=tmp_path)
    assert preview.returncode in (0, 1), preview.stdout[-2000:] + preview.stderr
    data = json.loads(preview.stdout)
    assert data["status"] == "succeeded" and data["errors"] == []
    assert [w["field"] for w in data["warnings"]] == ["country"]

    strict = cli("plan", "--json", "--strict", env=cluster.environment(), cwd=tmp_path)
    assert strict.returncode == 3 and json.loads(strict.stdout)["status"] == "partial"

    synced = cli("sync", "--json", env=cluster.environment(), cwd=tmp_path)
    assert synced.returncode in (0, 1), synced.stderr
    data = json.loads(synced.stdout)
    assert data["status"] == "succeeded" and data["errors"] == [] and data["warnings"]

    other = tmp_path / "other"  # a fresh state reads the record again
    other.mkdir()
    text = cli("sync", env=cluster.environment(), cwd=other)
    assert text.returncode in (0, 1) and "Narnia" in text.stdout and "warning" in text.stdout.lower()
    status = json.loads(cli("status", "--json", env=cluster.environment(), cwd=tmp_path).stdout)
    assert status["errors"] == [] and status["warnings"]
