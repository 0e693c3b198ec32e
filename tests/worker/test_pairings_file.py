"""The pairings file: what it yields, and mistakes named by file and key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncengine.config import ConfigFileError
from syncengine.pairings import engine_environment, load_pairings
from syncengine.worker.pairing_run import pairing_config

GOOD = """
[worker]
database = "postgresql://postgres@127.0.0.1:5432/test"
schedule = "*/10 * * * *"

[pairings.acme]
schedule = "*/2 * * * *"
[pairings.acme.apollo]
api_key_env = "ACME_APOLLO_API_KEY"
[pairings.acme.leadconnector]
token_env = "ACME_LC_TOKEN"
location_id = "ve9EPM428h8vShlRW1KT"

[pairings.globex.apollo]
api_key_env = "GLOBEX_APOLLO_API_KEY"
team = "shared-team"
[pairings.globex.leadconnector]
token_env = "GLOBEX_LC_TOKEN"
location_id = "ve9EPM428h8vShlRW1KT"
base_url = "http://127.0.0.1:8702"
[pairings.globex.corporatemerch]
token_env = "GLOBEX_CM_TOKEN"
"""

ENV = {
    "ACME_APOLLO_API_KEY": "acme-key", "ACME_LC_TOKEN": "acme-token",
    "GLOBEX_APOLLO_API_KEY": "globex-key", "GLOBEX_LC_TOKEN": "globex-token",
    "GLOBEX_CM_TOKEN": "globex-cm-token",
}  # fmt: skip


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pairings.toml"
    path.write_text(text)
    return path


def test_a_file_lists_pairings_with_their_schedules_accounts_and_states(tmp_path: Path) -> None:
    config = load_pairings(_write(tmp_path, GOOD), ENV)
    acme, globex = config.pairings
    assert (acme.name, acme.schedule, globex.schedule) == ("acme", "*/2 * * * *", "*/10 * * * *")
    assert [s.system for s in acme.systems] == ["apollo", "leadconnector"]
    # Two pairings on one location share its account; each token is counted apart for the burst.
    assert acme.system("leadconnector").account == globex.system("leadconnector").account  # type: ignore[union-attr]
    assert acme.system("leadconnector").token_key != globex.system("leadconnector").token_key  # type: ignore[union-attr]
    assert globex.system("apollo").account == "apollo:shared-team"  # type: ignore[union-attr]
    assert pairing_config(config, acme).state_dir == tmp_path / "state" / "pairings" / "acme"
    assert pairing_config(config, acme).database is None  # SQLite, a database per pairing


def test_a_pairing_gets_only_its_own_credentials(tmp_path: Path) -> None:
    config = load_pairings(_write(tmp_path, GOOD), ENV)
    acme = engine_environment(config.pairing("acme"), {**ENV, "CORPORATEMERCH_TOKEN": "x"}, config.source)
    assert acme["APOLLO_API_KEY"] == "acme-key" and acme["LEADCONNECTOR_TOKEN"] == "acme-token"
    assert acme["LEADCONNECTOR_LOCATION_ID"] == "ve9EPM428h8vShlRW1KT"
    assert acme["CORPORATEMERCH_TOKEN"] == ""  # not inherited: acme has no CorporateMerch
    globex = engine_environment(config.pairing("globex"), ENV, config.source)
    assert globex["LEADCONNECTOR_BASE_URL"] == "http://127.0.0.1:8702"
    assert globex["CORPORATEMERCH_TOKEN"] == "globex-cm-token"


def test_on_postgresql_each_pairing_has_its_schema(tmp_path: Path) -> None:
    text = GOOD.replace('schedule = "*/10 * * * *"', 'schedule = "*/10 * * * *"\nstate = "postgresql"')
    config = load_pairings(_write(tmp_path, text), ENV)
    databases = {p.name: pairing_config(config, p).database for p in config.pairings}
    assert "search_path%3Dsyncengine_acme" in str(databases["acme"]) or "search_path=syncengine_acme" in str(
        databases["acme"]
    )
    assert databases["acme"] != databases["globex"]


MISTAKES = [
    ('api_key_env = "ACME_APOLLO_API_KEY"', 'api_key = "sk-live"', "acme.apollo.api_key: unknown key"),
    ('api_key_env = "ACME_APOLLO_API_KEY"', 'api_key_env = "sk live"', "pairings.acme.apollo.api_key_env:"),
    ('location_id = "ve9EPM428h8vShlRW1KT"\n\n', "\n\n", "pairings.acme.leadconnector.location_id: missing"),
    ('schedule = "*/2 * * * *"', 'schedule = "daily"', "pairings.acme.schedule: 'daily' is not a cron"),
    ('database = "postgresql://postgres@127.0.0.1:5432/test"', 'database = "mysql://x"', "worker.database:"),
    ("[pairings.acme]", "[pairings.Acme]", "pairings.Acme: a name is"),
    ('base_url = "http://127.0.0.1:8702"', 'base_url = "http://crm.example.com"',
     "pairings.globex.leadconnector.base_url:"),
    ("[worker]", "[worker]\nconcurrency = 0", "worker.concurrency: must be at least 1"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "message"), MISTAKES)
def test_a_mistake_is_named_by_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigFileError) as raised:
        load_pairings(path, ENV)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


def test_a_missing_variable_is_named_and_no_key_is_shown(tmp_path: Path) -> None:
    config = load_pairings(_write(tmp_path, GOOD), ENV)
    env = {k: v for k, v in ENV.items() if k != "GLOBEX_CM_TOKEN"}
    with pytest.raises(ConfigFileError) as raised:
        engine_environment(config.pairing("globex"), env, config.source)
    text = str(raised.value)
    assert "pairings.globex.corporatemerch.token_env" in text and "GLOBEX_CM_TOKEN is not set" in text
    assert not any(secret in text for secret in env.values())
    assert not any(secret in repr(config) for secret in ENV.values())


def _worker(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = _write(tmp_path, text)
    return subprocess.run(
        [sys.executable, "-m", "syncengine", "worker", "--pairings", str(path), "--until-idle"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **ENV},
    )  # fmt: skip


def test_the_worker_exits_2_naming_the_file_and_key_of_a_mistake(tmp_path: Path) -> None:
    done = _worker(tmp_path, GOOD.replace('team = "shared-team"', "team = 7"))
    assert done.returncode == 2
    said = " ".join(done.stderr.split())  # one line, however the terminal wraps it
    assert f"{tmp_path / 'pairings.toml'}: pairings.globex.apollo.team: must be str" in said


def test_the_worker_exits_4_when_its_database_cannot_be_reached(tmp_path: Path) -> None:
    done = _worker(tmp_path, GOOD.replace("127.0.0.1:5432/test", "127.0.0.1:1/test"))
    assert done.returncode == 4 and "the worker's database" in done.stderr
    assert not any(secret in done.stderr + done.stdout for secret in ENV.values())
