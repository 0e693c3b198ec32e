"""Keep credentials out of every message, log line and repr.

Two defences, applied together by ``redact``:

* *known values*: every API key or token is registered (``register_secret``) when settings are
  loaded or a client is built, and any occurrence of it is masked, wherever it appears;
* *secret-looking places*: values of ``x-api-key`` / ``authorization`` headers, ``Bearer`` tokens
  and ``api_key`` / ``token`` query or JSON parameters are masked even if never registered (a
  token pasted into a URL by hand, a key echoed back by a vendor).

``RedactingFilter`` applies the same to log records (message, arguments, traceback). A filter on
a logger only sees records logged on that very logger, not those propagated from its children, so
modules take their logger from ``get_logger``, which attaches the filter.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Shorter values would mask ordinary words; real keys and tokens are far longer.
MIN_SECRET_LENGTH = 6

SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "refresh_token", "secret"})

_known: set[str] = set()
_known_lock = threading.Lock()

_PARAM_NAMES = "api_key|apikey|access_token|refresh_token|token|secret|key"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "x-api-key": "v" / 'authorization': 'Bearer v' (JSON bodies, dict reprs)
    (
        re.compile(
            r"""(?i)(["'](?:x-api-key|authorization|proxy-authorization|api_key|apikey|access_token|"""
            r"""refresh_token|token|secret)["']\s*:\s*["'])(?:bearer\s+)?[^"']*"""
        ),
        r"\g<1>" + MASK,
    ),
    # header lines and key=value pairs: x-api-key: v / Authorization: Bearer v
    (
        re.compile(
            r"(?i)\b((?:x-api-key|proxy-authorization|authorization)\s*[:=]\s*)(?:bearer\s+)?[^\s,;\"'&]+"
        ),
        r"\g<1>" + MASK,
    ),
    # query parameters: ?api_key=v&token=v
    (re.compile(rf"(?i)([?&](?:{_PARAM_NAMES})=)[^&#\s\"']+"), r"\g<1>" + MASK),
    # a bearer token anywhere else
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\g<1>" + MASK),
)


def register_secret(value: str | None) -> None:
    """Remember a credential so that ``redact`` masks it wherever it appears."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _known_lock:
            _known.add(value)


def forget_secrets() -> None:
    """Drop every registered value (for tests that need a clean registry)."""
    with _known_lock:
        _known.clear()


def redact(text: str) -> str:
    """``text`` with registered secrets and secret-looking values masked."""
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)  # longest first: a key containing another
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a plain dict with secret headers masked and known secrets removed elsewhere."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: MASK if k.lower() in SECRET_HEADERS else redact(v) for k, v in items}


def redact_url(url: str) -> str:
    """A URL with secret query parameters and any user info masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = urlencode(
        [
            (k, MASK if k.lower() in SECRET_PARAMS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments, traceback and stack before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()
# Loggers whose records may carry request URLs or our exceptions' text. httpcore logs from child
# loggers only (their DEBUG lines quote response headers, which a careless server may fill with
# the key it received), and a filter on "httpcore" never sees those records: each is named.
_GUARDED_LOGGERS = (
    "syncengine", "httpx", "httpcore", "stamina",
    "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks",
)  # fmt: skip


def install_log_filter(*names: str) -> None:
    """Attach the redacting filter to the ``syncengine`` logger, the HTTP libraries' and ``names``."""
    for name in (*_GUARDED_LOGGERS, *names):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the redacting filter attached."""
    install_log_filter(name)
    return logging.getLogger(name)
