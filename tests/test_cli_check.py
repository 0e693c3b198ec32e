"""``check`` in sandbox mode: with no credentials it checks the bundled simulators, as sync uses them."""

from __future__ import annotations

from pathlib import Path

from test_cli_commands import cli


def test_check_without_credentials_checks_the_bundled_simulators(tmp_path: Path) -> None:
    done = cli("check", env={"SYNCENGINE_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "bundled simulators" in done.stdout
    for system in ("apollo", "leadconnector", "corporatemerch"):
        assert f"ok      {system}" in done.stdout
