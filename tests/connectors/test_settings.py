"""Per-system settings from environment variables."""

from __future__ import annotations

import re

import pytest

from syncengine.connectors.errors import ConfigError
from syncengine.connectors.settings import Secret, check_base_url, load_settings
from syncengine.redact import redact

FULL = {
    "APOLLO_API_KEY": "apollo-key-settings",
    "LEADCONNECTOR_TOKEN": "lc-token-settings",
    "LEADCONNECTOR_LOCATION_ID": "ve9EPM428h8vShlRW1KT",
    "CORPORATEMERCH_TOKEN": "cm-token-settings",
}


def test_nothing_is_configured_without_credentials() -> None:
    settings = load_settings({})
    assert settings.configured == ()
    with pytest.raises(ConfigError, match="apollo is not configured: set APOLLO_API_KEY"):
        settings.system("apollo")


def test_all_three_systems_with_their_default_base_urls() -> None:
    settings = load_settings(FULL)
    assert settings.configured == ("apollo", "leadconnector", "corporatemerch")
    assert settings.system("apollo").base_url == "https://api.apollo.io/api/v1"
    assert settings.system("leadconnector").base_url == "https://services.leadconnectorhq.com"
    assert settings.system("corporatemerch").base_url == "https://api.corporatemerch.com/v2"
    assert settings.system("leadconnector").location_id == "ve9EPM428h8vShlRW1KT"


def test_credentials_and_urls_are_trimmed() -> None:
    settings = load_settings(
        {"APOLLO_API_KEY": " apollo-key-settings\n", "APOLLO_BASE_URL": "https://eu.example/v1/"}
    )
    apollo = settings.system("apollo")
    assert apollo.secret.reveal() == "apollo-key-settings"
    assert apollo.base_url == "https://eu.example/v1"


def test_blank_credentials_mean_not_configured() -> None:
    assert load_settings({"APOLLO_API_KEY": "   "}).configured == ()


@pytest.mark.parametrize(
    ("system", "headers"),
    [
        ("apollo", {"x-api-key": "apollo-key-settings"}),
        ("leadconnector", {"Authorization": "Bearer lc-token-settings", "Version": "2021-07-28"}),
        ("corporatemerch", {"Authorization": "Bearer cm-token-settings"}),
    ],
)
def test_auth_headers_per_system(system: str, headers: dict[str, str]) -> None:
    assert load_settings(FULL).system(system).auth_headers() == headers


def test_an_unknown_system_is_named_in_the_error() -> None:
    with pytest.raises(
        ConfigError, match="unknown system 'hubspot'; known: apollo, leadconnector, corporatemerch"
    ):
        load_settings(FULL).system("hubspot")


def test_leadconnector_needs_a_location() -> None:
    settings = load_settings({"LEADCONNECTOR_TOKEN": "lc-token-settings"})
    assert settings.configured == ("leadconnector",)
    with pytest.raises(ConfigError, match="LEADCONNECTOR_LOCATION_ID is missing"):
        settings.system("leadconnector")


def test_plain_http_to_a_remote_host_is_refused_for_that_system_only() -> None:
    settings = load_settings({**FULL, "CORPORATEMERCH_BASE_URL": "http://api.corporatemerch.com/v2"})
    with pytest.raises(
        ConfigError, match=re.escape("CORPORATEMERCH_BASE_URL uses plain http:// to api.corporatemerch.com")
    ):
        settings.system("corporatemerch")
    assert settings.system("apollo").base_url == "https://api.apollo.io/api/v1"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://127.9.9.9/api/v1", "http://localhost:9000", "http://[::1]:9000/v2"],
)
def test_plain_http_is_accepted_on_loopback(url: str) -> None:
    assert check_base_url(url) == url


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1", "http://128.0.0.1", "http://localhost.example.com", "http://[::2]"]
)
def test_plain_http_elsewhere_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="plain http://"):
        check_base_url(url)


@pytest.mark.parametrize("url", ["api.apollo.io/api/v1", "ftp://api.apollo.io", "https://"])
def test_base_url_must_be_absolute_http(url: str) -> None:
    with pytest.raises(ConfigError, match="must be an absolute https:// URL"):
        check_base_url(url, variable="APOLLO_BASE_URL")


def test_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as caught:
        check_base_url("https://user:hunter2hunter2@api.example/v1")
    assert "hunter2hunter2" not in str(caught.value)


def test_secret_is_masked_in_repr_and_str() -> None:
    secret = Secret("apollo-key-settings")
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "***"
    assert f"{secret}" == "***"


def test_settings_repr_hides_the_credentials() -> None:
    shown = repr(load_settings(FULL))
    assert "SystemSettings(name='apollo'" in shown
    assert all(
        secret not in shown for secret in ("apollo-key-settings", "lc-token-settings", "cm-token-settings")
    )


def test_loaded_credentials_are_masked_wherever_they_appear() -> None:
    load_settings({"CORPORATEMERCH_TOKEN": "cm-registered-token-42"})
    assert redact("token was cm-registered-token-42.") == "token was ***."


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in FULL:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CORPORATEMERCH_TOKEN", "cm-token-from-environ")
    assert load_settings().configured == ("corporatemerch",)
