"""Configuration: defaults, the config file's keys and errors naming file and key, and .env."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from syncengine.config import ConfigFileError, environment, load_config


def test_defaults_without_a_file_put_state_in_the_state_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.state_dir == Path("state")
    assert config.database is None and config.default_region == "US"
    assert config.connector_options("apollo").overlap == timedelta(minutes=5)


def test_the_state_directory_comes_from_the_environment_unless_given(tmp_path: Path) -> None:
    assert load_config(env={"SYNCENGINE_STATE_DIR": str(tmp_path)}).state_dir == tmp_path
    given = load_config(state_dir=tmp_path / "x", env={"SYNCENGINE_STATE_DIR": "y"})
    assert given.state_dir == tmp_path / "x"


def test_a_config_file_sets_region_and_per_system_options(tmp_path: Path) -> None:
    path = tmp_path / "syncengine.toml"
    path.write_text(
        'default_region = "CA"\n'
        "[systems.apollo]\n"
        'custom_fields = { shirt_size = "Tee" }\n'
        "overlap_seconds = 60\n"
        "[systems.corporatemerch]\n"
        "enabled = false\n"
    )
    config = load_config(path, env={})
    apollo = config.connector_options("apollo")
    assert (apollo.default_region, dict(apollo.custom_fields), apollo.overlap) == (
        "CA",
        {"shirt_size": "Tee"},
        timedelta(seconds=60),
    )
    assert config.disabled == frozenset({"corporatemerch"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "colour: unknown key"),
        ("[systems.hubspot]\n", "systems.hubspot: unknown system"),
        ("[systems.apollo]\noverlap_seconds = 'soon'\n", "systems.apollo.overlap_seconds: must be int"),
        ("default_region = [\n", "syncengine.toml"),
    ],
)
def test_a_wrong_config_file_is_an_error_naming_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "syncengine.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=message) as caught:
        load_config(path, env={})
    assert str(path) in str(caught.value)


def test_dotenv_fills_what_the_environment_lacks(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("APOLLO_API_KEY=from-file\nLEADCONNECTOR_TOKEN=file-token\n")
    env = environment({"APOLLO_API_KEY": "from-env"}, cwd=tmp_path)
    assert env["APOLLO_API_KEY"] == "from-env"
    assert env["LEADCONNECTOR_TOKEN"] == "file-token"


def test_an_unknown_default_region_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "syncengine.toml"
    path.write_text('default_region = "Narnia"\n')
    with pytest.raises(ConfigFileError, match=r"syncengine.toml: default_region: 'Narnia'"):
        load_config(path, state_dir=tmp_path, env={})
    path.write_text('default_region = "gb"\n')
    assert load_config(path, state_dir=tmp_path, env={}).default_region == "GB"


def test_a_config_or_env_file_that_is_not_utf8_names_the_file_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "syncengine.toml"
    path.write_bytes(b'rules = "caf\xe9"\n')
    with pytest.raises(ConfigFileError, match=r"syncengine.toml: not UTF-8 \(byte 0xe9 at position 12\)"):
        load_config(path, state_dir=tmp_path, env={})
    (tmp_path / ".env").write_bytes(b"APOLLO_API_KEY=\xff\n")
    with pytest.raises(ConfigFileError, match=r"\.env: not UTF-8"):
        environment({}, cwd=tmp_path)
