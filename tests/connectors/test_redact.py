"""Masking of credentials in text, URLs, headers and log records."""

from __future__ import annotations

import logging
import uuid

import pytest

from syncengine.redact import (
    RedactingFilter,
    get_logger,
    redact,
    redact_headers,
    redact_url,
    register_secret,
)


@pytest.fixture
def key() -> str:
    value = f"key-{uuid.uuid4().hex}"
    register_secret(value)
    return value


def test_a_registered_value_is_masked_anywhere(key: str) -> None:
    assert redact(f"x{key}y and again {key}") == "x***y and again ***"


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc abc") == "abc abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x-api-key: sk_unregistered_1", "x-api-key: ***"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "Authorization: ***"),
        ("sent bearer abcdefghijklmnop", "sent bearer ***"),
        ("GET /v1/contacts?api_key=abc123&page=2", "GET /v1/contacts?api_key=***&page=2"),
        ("POST /x?token=t0k3n", "POST /x?token=***"),
        ('{"api_key": "abc123", "page": 2}', '{"api_key": "***", "page": 2}'),
        ("{'x-api-key': 'abc123'}", "{'x-api-key': '***'}"),
    ],
)
def test_secret_looking_values_are_masked_even_when_unknown(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Invalid token: access token is invalid",
        "The token is not authorized for this scope.",
        "version header was not found.",
        "Contact with id Hc0xUAPbGk2bmLXbD3gF not found",
    ],
)
def test_vendor_messages_about_tokens_stay_readable(text: str) -> None:
    assert redact(text) == text


def test_redact_url_masks_query_credentials_and_user_info() -> None:
    url = "https://user:pw@api.example/v1/contacts?api_key=k&page=2&access_token=t"
    assert redact_url(url) == "https://***@api.example/v1/contacts?api_key=***&page=2&access_token=***"


def test_redact_headers(key: str) -> None:
    shown = redact_headers({"X-Api-Key": "anything", "Authorization": "Bearer x", "X-Echo": f"k={key}"})
    assert shown == {"X-Api-Key": "***", "Authorization": "***", "X-Echo": "k=***"}


def test_filter_masks_message_arguments(key: str, caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("syncengine.tests.redact.args")
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("calling with %s", {"x-api-key": key})
    assert key not in caplog.text
    assert "'x-api-key': '***'" in caplog.text


def test_filter_masks_tracebacks(key: str, caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("syncengine.tests.redact.traceback")
    with caplog.at_level(logging.ERROR, logger=logger.name):
        try:
            raise RuntimeError(f"failed with {key}")
        except RuntimeError:
            logger.exception("request failed")
    assert "failed with ***" in caplog.text
    assert key not in caplog.text


def test_get_logger_attaches_the_filter_once() -> None:
    logger = get_logger("syncengine.tests.redact.once")
    get_logger("syncengine.tests.redact.once")
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
