"""Files the commands write: HTML reports readable by their owner only; the default rules ship in
the package, so an installed wheel finds them."""

from __future__ import annotations

from pathlib import Path

from test_cli_commands import cli

from syncengine.rules import PACKAGED_DIR, load_rules
from syncengine.sim.runner import SimCluster


def test_html_reports_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    with SimCluster(systems=("apollo", "leadconnector"), contacts=3, rate_limits=False, env={}) as cluster:
        existing = tmp_path / "preview.html"
        existing.write_text("old")
        existing.chmod(0o644)
        done = cli("plan", "--html", str(existing), env=cluster.environment(), cwd=tmp_path)
        listed = cli("conflicts", "--html", "conflicts.html", env=cluster.environment(), cwd=tmp_path)

    assert done.returncode in (0, 1), done.stderr
    assert listed.returncode in (0, 1), listed.stderr
    for page in (existing, tmp_path / "conflicts.html"):
        assert page.read_text().startswith("<!doctype html>")
        assert page.stat().st_mode & 0o777 == 0o600


def test_the_default_rules_are_package_data() -> None:
    assert (PACKAGED_DIR / "default.toml").is_file()
    assert load_rules(PACKAGED_DIR).fields == load_rules().fields
