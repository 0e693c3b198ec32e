"""Connector errors, grouped by what the caller does, and the one table from HTTP outcome to error.

Exception tree::

    ConnectorError                 anything a connector raises; message names system, method, path
    ├── TransientError             retry later; carries ``retry_after`` (seconds) when known
    │   ├── RateLimitedError       the system's rate limit is spent (429, or our own budget)
    │   └── OutcomeUnknownError    a non-idempotent request may have been applied, its reply lost:
    │                              never resent blindly; look the write up first (``find_created``)
    ├── RecordError                skip this record and report it (``remote_id``, ``field``, body)
    │   ├── MissingRecordError     the remote record no longer exists
    │   └── DuplicateRecordError   the system holds this record already (``existing_id``)
    ├── StaleRecordError           a replace-mode record moved since it was read: leave the op
    │                              for the next run
    └── StopSystemError            stop this system's part of the run
        ├── AuthError              credentials refused (401/403)
        └── ConfigError            settings or request shape wrong (base URL, env, redirects)

``STATUS_OUTCOMES`` with ``outcome_for_status`` is the single place that says what a status
means; a connector overrides it per response with a classifier returning an ``Outcome`` or a
``Verdict`` (Apollo answers 422 for a missing contact, LeadConnector 400 "Contact with id … not
found"). Every message goes through ``redact``: no credential ever reaches a message or repr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from syncengine.redact import redact

_MAX_MESSAGE = 500


class ConnectorError(Exception):
    """Base of every connector error; ``attempts`` is how many times the request was sent."""

    def __init__(
        self,
        detail: str,
        *,
        system: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        vendor_message: str | None = None,
    ) -> None:
        self.system = system
        self.method = method
        self.path = path.split("?", 1)[0] if path else path  # a query string may hold credentials
        self.status = status
        self.vendor_message = redact(vendor_message) if vendor_message else None
        self.detail = redact(detail)
        self.attempts = 1
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = " ".join(p for p in (self.system, self.method, self.path) if p)
        text = f"{where}: {self.detail}" if where else self.detail
        if self.vendor_message:
            text += f": {self.vendor_message}"
        return redact(text)


class TransientError(ConnectorError):
    """A fault that may pass: timeout, dropped connection, 408, 5xx."""

    def __init__(self, detail: str, *, retry_after: float | None = None, **where: Any) -> None:
        self.retry_after = retry_after
        super().__init__(detail, **where)


class RateLimitedError(TransientError):
    """The rate limit is spent; ``retry_after`` says when the window allows calls again."""


class OutcomeUnknownError(TransientError):
    """The request reached the server but its answer did not come back (or came back 5xx)."""


class RecordError(ConnectorError):
    """The system refused this record; the rest of the batch goes on."""

    def __init__(
        self,
        detail: str,
        *,
        remote_id: str | None = None,
        field: str | None = None,
        body: Any = None,
        existing_id: str | None = None,
        **where: Any,
    ) -> None:
        self.remote_id = remote_id
        self.field = field
        self.body = body
        self.existing_id = existing_id
        super().__init__(detail, **where)


class MissingRecordError(RecordError):
    """The remote record was deleted or never existed."""


class DuplicateRecordError(RecordError):
    """A create collided with an existing record; ``existing_id`` names it when the API says."""


class StaleRecordError(ConnectorError):
    """The record changed since it was read; a whole-record write would overwrite that change."""

    def __init__(self, detail: str, *, remote_id: str | None = None, **where: Any) -> None:
        self.remote_id = remote_id
        super().__init__(detail, **where)


class StopSystemError(ConnectorError):
    """Nothing more can be done with this system in this run."""


class AuthError(StopSystemError):
    """The system refused our credentials or their scope."""


class ConfigError(StopSystemError):
    """Missing or invalid settings, or a request the system cannot route."""


# --------------------------------------------------------------------------- the outcome table


class Outcome(Enum):
    """What an HTTP outcome means for the caller."""

    OK = "ok"
    TRANSIENT = "transient"  # retry with backoff
    RATE_LIMITED = "rate_limited"  # wait for the window, then retry
    RECORD = "record"  # skip the record, report it
    MISSING = "missing"  # the remote record no longer exists
    DUPLICATE = "duplicate"  # the record exists already
    AUTH = "auth"  # stop the system: credentials refused
    CONFIG = "config"  # stop the system: request or settings wrong


STATUS_OUTCOMES: Mapping[int, Outcome] = {
    400: Outcome.RECORD,
    401: Outcome.AUTH,
    403: Outcome.AUTH,
    404: Outcome.RECORD,  # MISSING when the request addressed one record
    408: Outcome.TRANSIENT,
    409: Outcome.RECORD,
    422: Outcome.RECORD,
    429: Outcome.RATE_LIMITED,
}

# Answers that mean the server did not act on the request, so even a create may be resent.
NOT_APPLIED_STATUSES = frozenset({408, 429, 503})


def outcome_for_status(status: int) -> Outcome:
    """The default meaning of a status code; any 5xx is transient, other 4xx a record error."""
    if status in STATUS_OUTCOMES:
        return STATUS_OUTCOMES[status]
    if 200 <= status < 300:
        return Outcome.OK
    if status >= 500:
        return Outcome.TRANSIENT
    if 400 <= status < 500:
        return Outcome.RECORD
    return Outcome.CONFIG  # 1xx/3xx: a redirect means the base URL is wrong; we never follow one


@dataclass(frozen=True)
class Verdict:
    """A connector's reading of one response, overriding the table."""

    outcome: Outcome
    existing_id: str | None = None
    field: str | None = None
    message: str | None = None


Classifier = Callable[[httpx.Response], Outcome | Verdict | None]

_ERROR_CLASSES: Mapping[Outcome, type[ConnectorError]] = {
    Outcome.TRANSIENT: TransientError,
    Outcome.RATE_LIMITED: RateLimitedError,
    Outcome.RECORD: RecordError,
    Outcome.MISSING: MissingRecordError,
    Outcome.DUPLICATE: DuplicateRecordError,
    Outcome.AUTH: AuthError,
    Outcome.CONFIG: ConfigError,
}

_DETAILS: Mapping[Outcome, str] = {
    Outcome.TRANSIENT: "server error",
    Outcome.RATE_LIMITED: "rate limited",
    Outcome.RECORD: "record refused",
    Outcome.MISSING: "record not found",
    Outcome.DUPLICATE: "duplicate record",
    Outcome.AUTH: "credentials refused",
    Outcome.CONFIG: "unexpected answer (check the base URL)",
}


def response_body(response: httpx.Response) -> Any:
    """The body as JSON when it parses, else as (shortened) text; secrets masked either way."""
    text = redact(response.text)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text[:_MAX_MESSAGE]


def vendor_message(body: Any) -> str | None:
    """The vendor's own words in an error body (``message``, ``error``, ``errors`` or plain text)."""
    if isinstance(body, str):
        return body.strip()[:_MAX_MESSAGE] or None
    if not isinstance(body, Mapping):
        return None
    parts: list[str] = []
    for key in ("message", "error"):
        value = body.get(key)
        if isinstance(value, Mapping):
            value = value.get("message")
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        if isinstance(value, str) and value:
            parts.append(value)
            break
    errors = body.get("errors")
    if isinstance(errors, Mapping):
        parts.extend(
            f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items()
        )
    return " | ".join(parts)[:_MAX_MESSAGE] or None


_PROPERTY_REJECTED = re.compile(r"property (\w+) should not exist")


def field_in(body: Any) -> str | None:
    """The field an error body blames, when it names one (Laravel ``errors``, LC whitelist)."""
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, Mapping) and errors:
            return str(next(iter(errors)))
    match = _PROPERTY_REJECTED.search(vendor_message(body) or "")
    return match.group(1) if match else None


EXISTING = ", existing record "  # how an error's text names the record a duplicate collided with


def existing_id_of(text: str) -> str | None:
    """The record a duplicate collided with, as a refusal's stored text names it."""
    _, found, rest = text.partition(EXISTING)
    return rest.split(",", 1)[0].strip() or None if found else None


def existing_id_in(body: Any) -> str | None:
    """The id of the record a duplicate collided with (LeadConnector ``meta.contactId``)."""
    meta = body.get("meta") if isinstance(body, Mapping) else None
    value = meta.get("contactId") if isinstance(meta, Mapping) else None
    return str(value) if value else None


def error_from_response(
    system: str,
    response: httpx.Response,
    *,
    path: str,
    outcome: Outcome | Verdict | None = None,
    remote_id: str | None = None,
    idempotent: bool = True,
    retry_after: float | None = None,
) -> ConnectorError:
    """The error for a non-2xx response: ``outcome`` (a connector's reading) or the table's."""
    verdict = (
        outcome
        if isinstance(outcome, Verdict)
        else Verdict(outcome or outcome_for_status(response.status_code))
    )
    status = response.status_code
    body = response_body(response)
    kind = verdict.outcome
    existing_id = verdict.existing_id or existing_id_in(body)
    if kind is Outcome.RECORD and existing_id:
        kind = Outcome.DUPLICATE
    elif kind is Outcome.RECORD and status == 404 and remote_id:
        kind = Outcome.MISSING
    where: dict[str, Any] = {
        "system": system,
        "method": response.request.method,
        "path": path,
        "status": status,
        "vendor_message": verdict.message or vendor_message(body),
    }
    detail = f"HTTP {status} ({_DETAILS.get(kind, kind.value)})"
    if kind is Outcome.TRANSIENT and not idempotent and status not in NOT_APPLIED_STATUSES:
        return OutcomeUnknownError(
            f"{detail}; the write may have been applied, so it is not resent",
            retry_after=retry_after,
            **where,
        )
    cls = _ERROR_CLASSES.get(kind, ConfigError)
    if issubclass(cls, TransientError):
        return cls(detail, retry_after=retry_after, **where)
    if issubclass(cls, RecordError):
        if existing_id:
            detail += f"{EXISTING}{existing_id}"
        if remote_id:
            detail += f", record {remote_id}"
        return cls(
            detail,
            remote_id=remote_id,
            field=verdict.field or field_in(body),
            body=body,
            existing_id=existing_id,
            **where,
        )
    return cls(detail, **where)


# Transport failures before any byte of the request reached the server: always safe to resend.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def error_from_transport(
    system: str, method: str, path: str, exc: httpx.TransportError, *, idempotent: bool = True
) -> ConnectorError:
    """The error for a request that got no HTTP answer (timeout, refused or dropped connection)."""
    where: dict[str, Any] = {"system": system, "method": method, "path": path}
    reason = f"{transport_kind(exc)} ({type(exc).__name__}: {exc})" if str(exc) else transport_kind(exc)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConfigError(f"cannot reach the system: {reason}", **where)
    if not idempotent and not isinstance(exc, _NOT_SENT):
        return OutcomeUnknownError(f"{reason}; the write may have been applied, so it is not resent", **where)
    return TransientError(reason, **where)


def transport_kind(exc: httpx.TransportError) -> str:
    """``timeout``, ``connection failed`` or ``connection dropped``: for messages and stats."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    return "connection dropped"
