"""Every row of the README's exit-code table, as a script sees it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_cli_commands import ROOT, cli

from syncengine.mirror.db import resolve as resolve_location
from syncengine.sim.runner import SimCluster
from syncengine.state_lock import hold_state

ADA = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@x.example", "organization_name": "AE"}
ADDRESS = {"present_raw_address": "12 Main St, , Austin, TX 78701, United States"}


@pytest.fixture
def pair() -> Iterator[SimCluster]:
    """Apollo and LeadConnector, empty: CorporateMerch would refuse creates without an address."""
    with SimCluster(systems=("apollo", "leadconnector"), contacts=0, rate_limits=False, env={}) as running:
        yield running


def test_the_readme_table_lists_exactly_the_codes_tested_here() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("Exit codes") : readme.index("## Configuration")]
    assert re.findall(r"^\| `(\d)` \|", table, re.M) == ["0", "1", "2", "3", "4", "5"]


def test_0_every_system_agrees(pair: SimCluster, tmp_path: Path) -> None:
    pair["apollo"].sim.seed_contacts([ADA])
    assert cli("sync", env=pair.environment(), cwd=tmp_path).returncode == 0
    assert cli("plan", env=pair.environment(), cwd=tmp_path).returncode == 0


def test_1_conflicts_wait_for_a_person(pair: SimCluster, tmp_path: Path) -> None:
    [stored] = pair["apollo"].sim.seed_contacts([ADA])
    assert cli("sync", env=pair.environment(), cwd=tmp_path).returncode == 0
    [copied] = pair["leadconnector"].sim.contacts()
    pair["apollo"].sim.ui_edit(str(stored["id"]), {"email": "ada@apollo.example"})
    pair["leadconnector"].sim.ui_edit(str(copied["id"]), {"email": "ada@lc.example"})

    done = cli("sync", env=pair.environment(), cwd=tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    assert cli("conflicts", env=pair.environment(), cwd=tmp_path).returncode == 1


def test_1_while_a_conflict_of_an_earlier_run_still_waits(pair: SimCluster, tmp_path: Path) -> None:
    """A run that meets the contact no more (nothing of it changed) still says the conflict waits,
    and exits 1, until a person settles it: the systems do not agree meanwhile."""
    [stored] = pair["apollo"].sim.seed_contacts([ADA])
    assert cli("sync", env=pair.environment(), cwd=tmp_path).returncode == 0
    [copied] = pair["leadconnector"].sim.contacts()
    pair["apollo"].sim.ui_edit(str(stored["id"]), {"email": "ada@apollo.example"})
    pair["leadconnector"].sim.ui_edit(str(copied["id"]), {"email": "ada@lc.example"})
    assert cli("sync", env=pair.environment(), cwd=tmp_path).returncode == 1

    for args in (("sync",), ("sync", "--dry-run"), ("plan",)):
        done = cli(*args, env=pair.environment(), cwd=tmp_path)
        assert done.returncode == 1, (args, done.stdout + done.stderr)
        if args[0] == "sync":  # `plan` shows each change, not the summary
            assert "1 conflict waits for a person (syncengine conflicts, 0 met in this run)" in done.stdout

    assert cli("resolve", "1", "--take", "apollo", env=pair.environment(), cwd=tmp_path).returncode == 0
    assert cli("sync", env=pair.environment(), cwd=tmp_path).returncode == 0
    assert cli("sync", env=pair.environment(), cwd=tmp_path).returncode == 0
    assert [c["email"] for c in pair["leadconnector"].sim.contacts()] == ["ada@apollo.example"]


@pytest.mark.parametrize(
    ("files", "args", "named"),
    [
        ({}, ("sync", "--no-such-option"), "--no-such-option"),
        ({}, ("resolve", "7"), "--take"),
        ({}, ("resolve", "999", "--take", "apollo"), "999"),
        ({}, ("run", "--every", "soon"), "soon"),
        ({"syncengine.toml": 'default_region = "Narnia"\n'}, ("plan",), "default_region"),
        ({"syncengine.toml": b'rules = "r\xff"\n'}, ("plan",), "syncengine.toml"),
        ({".env": b"APOLLO_BASE_URL=\xfe\n"}, ("plan",), ".env"),
        (
            {"rules/default.toml": b"# caf\xe9\n", "syncengine.toml": 'rules = "rules"\n'},
            ("plan",),
            "default.toml",
        ),
    ],
    ids=[
        "option", "resolve-usage", "unknown-conflict", "interval", "region", "toml-utf8", "env-utf8",
        "rules-utf8",
    ],
)
def test_2_usage_or_configuration_error_in_one_line(
    pair: SimCluster, tmp_path: Path, files: dict[str, str | bytes], args: tuple[str, ...], named: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content)

    done = cli(*args, env=pair.environment(), cwd=tmp_path)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and named in done.stderr
    if files and not named.startswith("-"):
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        if any(isinstance(c, bytes) for c in files.values()):
            assert "position" in done.stderr


def test_3_some_writes_fail(tmp_path: Path) -> None:
    with SimCluster(systems=("apollo", "corporatemerch"), contacts=0, rate_limits=False, env={}) as cluster:
        # Apollo's "merch" list goes to CorporateMerch, which refuses this create when it is sent.
        cluster["apollo"].sim.seed_contacts([{**ADA, "label_names": ["merch"], **ADDRESS}])
        preview = cli("plan", env=cluster.environment(), cwd=tmp_path)
        faults = {"error_rate": 1.0, "error_status": 422, "methods": ["POST"]}
        httpx.put(f"{cluster.systems['corporatemerch'].admin_url}/faults", json=faults).raise_for_status()
        done = cli("sync", env=cluster.environment(), cwd=tmp_path)
    # The preview cannot foresee the refusal (it may exit 3 for a list CorporateMerch has no label for).
    assert preview.returncode in (0, 3) and done.returncode == 3, done.stdout + done.stderr
    assert "HTTP 422" in done.stdout


def test_a_create_that_waits_for_a_change_is_not_a_failure(tmp_path: Path) -> None:
    with SimCluster(systems=("apollo", "corporatemerch"), contacts=0, rate_limits=False, env={}) as cluster:
        # CorporateMerch refuses a contact without an address: it waits, and every run says so.
        cluster["apollo"].sim.seed_contacts([{**ADA, "label_names": ["merch"]}])
        preview = cli("plan", env=cluster.environment(), cwd=tmp_path)
        done = [cli("sync", env=cluster.environment(), cwd=tmp_path) for _ in range(2)]
    assert [preview.returncode, *(d.returncode for d in done)] == [0, 0, 0], done[-1].stdout
    assert "1 create wait (" in done[0].stdout and "1 create wait" not in done[1].stdout


def test_4_a_system_refuses_the_credentials_or_cannot_be_reached(pair: SimCluster, tmp_path: Path) -> None:
    pair["apollo"].sim.seed_contacts([ADA])
    refused = cli("sync", env={**pair.environment(), "APOLLO_API_KEY": "wrong-key-0123456789"}, cwd=tmp_path)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "wrong-key-0123456789" not in refused.stdout + refused.stderr
    closed = {**pair.environment(), "LEADCONNECTOR_BASE_URL": "http://127.0.0.1:9"}
    assert cli("sync", env=closed, cwd=tmp_path).returncode == 4


def test_5_another_run_holds_the_state(pair: SimCluster, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    with hold_state(resolve_location(None, tmp_path / "state"), command="test"):
        done = cli("sync", env=pair.environment(), cwd=tmp_path)
    assert done.returncode == 5, done.stdout + done.stderr
