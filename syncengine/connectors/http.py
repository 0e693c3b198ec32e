"""The HTTP client every connector is built on: one per system.

``HttpClient.request`` sends one logical request and returns its 2xx ``httpx.Response`` or raises
a typed error from ``errors`` (after retries when the error is transient). Per call it:

1. asks the ``RateLimiter`` for budget and, when the budget is spent, waits — reported through
   ``on_wait`` and the log as "waiting N s for <system> rate limit", and counted in ``stats``;
   a wait longer than ``RetryPolicy.max_wait`` raises ``RateLimitedError`` instead;
2. sends the request on a pooled keep-alive connection with the system's auth headers;
3. feeds the response's rate-limit headers back to the limiter;
4. reads the outcome: the connector's ``classify`` first, then the table in ``errors``;
5. retries what may pass, with stamina, in two kinds:

   * a 429 is not a failure of the request but the server pacing us: the limiter blocks the
     bucket for the server's ``Retry-After`` or announced reset (at least ``min_rate_limit_wait``,
     so ``Retry-After: 0`` never spins) and the request is sent again once that wait is over.
     These resends spend none of the attempts; what bounds them is time: no single wait longer
     than ``max_wait`` is made, and the waits of a 429 storm (from a 429 until the system answers
     anything else) add up to at most ``timeout``. Past either, ``RateLimitedError`` carries
     ``retry_after`` and the run leaves the system's work for later;
   * other transient failures (5xx, 408, timeouts, dropped or refused connections) are retried
     up to ``attempts`` times with a short exponential backoff and jitter, or after the server's
     ``Retry-After`` when a 503 sends one.

Requests that are not idempotent (POST by default; pass ``idempotent=True`` for searches) are
resent only when the server certainly did not act: no connection, 408, 429 or 503. A timeout, a
dropped connection or another 5xx raise ``OutcomeUnknownError``, since resending could create a
second record.

Retries are routine, so they are logged at DEBUG only (ours and stamina's ``retry_scheduled``
event): at the default level nothing of them reaches the terminal, and waits reach the user
through ``on_wait``.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import stamina
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from syncengine.connectors.errors import (
    Classifier,
    ConfigError,
    ConnectorError,
    Outcome,
    OutcomeUnknownError,
    RateLimitedError,
    TransientError,
    Verdict,
    error_from_response,
    error_from_transport,
    outcome_for_status,
    transport_kind,
)
from syncengine.connectors.ratelimit import Hold, RateLimiter, parse_retry_after
from syncengine.connectors.settings import SystemSettings
from syncengine.redact import get_logger, install_log_filter, register_secret

log = get_logger(__name__)
_stamina_log = get_logger("stamina")


def _log_retry(details: RetryDetails) -> None:
    _stamina_log.debug(
        "stamina.retry_scheduled: retry %d in %.2f s (%.2f s waited so far) after %s",
        details.retry_num,
        details.wait_for,
        details.waited_so_far,
        details.caused_by,
    )


# stamina's default hook logs every scheduled retry at WARNING, which logging's last-resort
# handler prints on the terminal; here retries are routine, so that event goes to DEBUG.
set_on_retry_hooks([_log_retry])

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _version() -> str:
    try:
        return importlib.metadata.version("syncengine")
    except importlib.metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"syncengine/{_version()}"


@dataclass(frozen=True)
class HttpOptions:
    """Timeouts (seconds) and connection pool of one client."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    pool_timeout: float = 10.0
    max_connections: int = 10
    max_keepalive_connections: int = 10
    keepalive_expiry: float = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry (seconds for every duration).

    Transient failures (5xx, timeouts, dropped connections): ``attempts`` and ``timeout`` (waits
    included) cap the retries of one logical request; backoff grows from ``wait_initial`` by
    doubling up to ``wait_max``, plus up to ``wait_jitter`` of random jitter.

    Rate limits: a 429 is resent after the wait the server asks (at least
    ``min_rate_limit_wait``) without spending an attempt. No single wait longer than
    ``max_wait`` is made, and the waits of a 429 storm (from a 429 until the system answers
    anything else, across requests) add up to at most ``timeout``. Past either bound the error
    is raised with ``retry_after`` so the run can move on.
    """

    attempts: int = 5
    timeout: float = 300.0
    wait_initial: float = 0.1
    wait_max: float = 5.0
    wait_jitter: float = 0.2
    min_rate_limit_wait: float = 1.0
    max_wait: float = 120.0

    @classmethod
    def without_backoff(cls, attempts: int = 3, **overrides: Any) -> RetryPolicy:
        """No backoff between attempts (tests); rate-limit waits still go through the limiter's clock."""
        return cls(attempts=attempts, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0, **overrides)


@dataclass(frozen=True)
class RateLimitWait:
    """One wait for a rate limit, as reported to ``on_wait``."""

    system: str
    bucket: str
    seconds: float
    reason: str

    def __str__(self) -> str:
        return f"waiting {self.seconds:.1f} s for {self.system} rate limit ({self.reason})"


@dataclass(frozen=True)
class HttpStats:
    """Counts of one client's calls.

    ``calls``: requests sent per endpoint (``"POST /contacts/search"``), retries included.
    ``outcomes``: ``2xx``, ``3xx``, ``4xx``, ``5xx``, ``429``, ``timeout``, ``connection failed``,
    ``connection dropped``, ``retries``, ``gave up`` (transient failures left after retrying).
    """

    system: str
    calls: Mapping[str, int] = field(default_factory=dict)
    outcomes: Mapping[str, int] = field(default_factory=dict)
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


class _StatsRecorder:
    def __init__(self, system: str) -> None:
        self.system = system
        self._calls: Counter[str] = Counter()
        self._outcomes: Counter[str] = Counter()
        self._waits = 0
        self._waited = 0.0
        self._lock = threading.Lock()

    def call(self, endpoint: str, outcome: str) -> None:
        with self._lock:
            self._calls[endpoint] += 1
            self._outcomes[outcome] += 1

    def outcome(self, name: str) -> None:
        with self._lock:
            self._outcomes[name] += 1

    def wait(self, seconds: float) -> None:
        with self._lock:
            self._waits += 1
            self._waited += seconds

    def snapshot(self) -> HttpStats:
        with self._lock:
            return HttpStats(self.system, dict(self._calls), dict(self._outcomes), self._waits, self._waited)


def _status_class(status: int) -> str:
    return "429" if status == 429 else f"{status // 100}xx"


# An id: digits alone (CorporateMerch's are short), six or more characters with a digit, or a long
# letters-and-digits token (LeadConnector's 20-character ids may hold no digit). Endpoint names
# such as ``customFields`` or ``add_entity_ids_to_label_names`` are none of these.
_ID_SEGMENT = re.compile(r"^(\d+|(?=.*\d)[^/]{6,}|[A-Za-z0-9]{16,})$")


def endpoint_template(method: str, path: str) -> str:
    """``"GET /contacts/{id}"`` for ``GET /contacts/5f2a…``: path segments that look like ids folded."""
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("?", 1)[0].split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


class _Storm:
    """The rate-limit waits of a 429 storm: from a 429 until the system answers anything else."""

    def __init__(self) -> None:
        self.waited: float | None = None  # None: no storm
        self._lock = threading.Lock()

    def answered(self, rate_limited: bool) -> None:
        with self._lock:
            self.waited = (self.waited or 0.0) if rate_limited else None

    def waiting(self, seconds: float) -> None:
        with self._lock:
            if self.waited is not None:
                self.waited += seconds

    def allowed(self, policy: RetryPolicy) -> float:
        """The longest wait the policy still allows now."""
        with self._lock:
            return min(policy.max_wait, policy.timeout - (self.waited or 0.0))


@dataclass
class _Tries:
    """One logical request's sends so far, and the error of the latest."""

    sent: int = 0
    last: ConnectorError | None = None


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    endpoint: str
    bucket: str
    remote_id: str | None
    idempotent: bool
    json: Any
    params: Mapping[str, Any] | None
    classify: Classifier | None


WaitCallback = Callable[[RateLimitWait], None]


class HttpClient:
    """HTTP access to one system: auth, pooling, rate limiting, retries, typed errors, stats."""

    def __init__(
        self,
        settings: SystemSettings,
        *,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        on_wait: WaitCallback | None = None,
        options: HttpOptions | None = None,
    ) -> None:
        self.system = settings.name
        self.settings = settings
        self.limiter = limiter or RateLimiter(settings.name)
        self.retry = retry or RetryPolicy()
        self.on_wait = on_wait
        options = options or HttpOptions()
        self.options = options
        register_secret(settings.secret.reveal())
        install_log_filter()
        self._stats = _StatsRecorder(settings.name)
        self._storm = _Storm()
        self._http = httpx.Client(
            base_url=settings.base_url,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **settings.auth_headers(),
            },
            timeout=httpx.Timeout(
                connect=options.connect_timeout,
                read=options.read_timeout,
                write=options.write_timeout,
                pool=options.pool_timeout,
            ),
            limits=httpx.Limits(
                max_connections=options.max_connections,
                max_keepalive_connections=options.max_keepalive_connections,
                keepalive_expiry=options.keepalive_expiry,
            ),
            follow_redirects=False,  # a redirect could carry our credentials to another host
        )

    def __repr__(self) -> str:
        return f"<HttpClient {self.system} {self.settings.base_url}>"

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def stats(self) -> HttpStats:
        """A snapshot of the calls made so far."""
        return self._stats.snapshot()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        endpoint: str | None = None,
        bucket: str | None = None,
        remote_id: str | None = None,
        idempotent: bool | None = None,
        classify: Classifier | None = None,
    ) -> httpx.Response:
        """Send ``method path`` (relative to the base URL) and return the 2xx response.

        ``endpoint`` names the call in stats (default: the path with ids folded) and ``bucket``
        the rate-limit bucket (default: the endpoint; only per-endpoint systems keep them apart).
        ``remote_id`` is the record the call addresses, carried by record errors. ``classify``
        reads a response before the default table (see ``errors.Verdict``).
        """
        if "://" in path or not path.startswith("/"):
            raise ValueError(f"path must be relative to the base URL and start with '/': {path!r}")
        method = method.upper()
        endpoint = endpoint or endpoint_template(method, path)
        call = _Call(
            method=method,
            path=path,
            endpoint=endpoint,
            bucket=bucket or endpoint,
            remote_id=remote_id,
            idempotent=method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
            json=json,
            params=params,
            classify=classify,
        )
        return self._with_retries(call)

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and decode the JSON body (None when empty)."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ConfigError(
                f"HTTP {response.status_code} without a JSON body "
                f"(content-type {response.headers.get('content-type', 'none')}); check the base URL",
                system=self.system,
                method=method.upper(),
                path=path,
                status=response.status_code,
            ) from None

    # ----------------------------------------------------------------------- internals

    def _with_retries(self, call: _Call) -> httpx.Response:
        policy = self.retry
        tries = _Tries()
        try:
            for attempt in stamina.retry_context(
                on=self._retry_decision,
                attempts=policy.attempts,
                timeout=policy.timeout,
                wait_initial=policy.wait_initial,
                wait_max=policy.wait_max,
                wait_jitter=policy.wait_jitter,
            ):
                with attempt:
                    if attempt.num > 1:
                        self._stats.outcome("retries")
                        log.debug("%s: retrying (attempt %d of %d)", tries.last, attempt.num, policy.attempts)
                    return self._send_paced(call, tries)
        except ConnectorError as exc:
            exc.attempts = max(tries.sent, 1)
            if isinstance(exc, TransientError) and not isinstance(exc, OutcomeUnknownError):
                self._stats.outcome("gave up")
            raise
        raise AssertionError("unreachable: stamina ends with a return or an exception")

    def _send_paced(self, call: _Call, tries: _Tries) -> httpx.Response:
        """One attempt, sent again after each 429 once the server's wait is over (the limiter holds
        the bucket, so stamina adds no backoff); bounded by time, not by attempts."""
        for attempt in stamina.retry_context(
            on=self._after_429, attempts=None, timeout=None, wait_initial=0, wait_max=0, wait_jitter=0
        ):
            with attempt:
                if attempt.num > 1:
                    self._stats.outcome("retries")
                    log.debug("%s: retrying after the rate-limit wait", tries.last)
                try:
                    return self._send_once(call, tries)
                except ConnectorError as exc:
                    tries.last = exc
                    raise
        raise AssertionError("unreachable: stamina ends with a return or an exception")

    def _retry_decision(self, exc: Exception) -> bool | dt.timedelta:
        """stamina's hook for transient failures; a server-requested wait overrides the backoff."""
        if not isinstance(exc, TransientError) or isinstance(exc, OutcomeUnknownError):
            return False
        if isinstance(exc, RateLimitedError):
            return False  # ``_send_paced`` waited for it as long as the policy allows
        if exc.retry_after is None:
            return True
        if exc.retry_after > self.retry.max_wait:
            return False
        return dt.timedelta(seconds=exc.retry_after)

    def _after_429(self, exc: Exception) -> bool:
        """stamina's hook for 429s: resend when the server's wait fits in what the storm has left."""
        if not isinstance(exc, RateLimitedError) or exc.status is None or exc.retry_after is None:
            return False  # our own refusal to wait (no status: nothing was sent) is final
        return exc.retry_after <= self._storm.allowed(self.retry)

    def _send_once(self, call: _Call, tries: _Tries) -> httpx.Response:
        self._wait_for_budget(call)
        tries.sent += 1
        try:
            response = self._http.request(call.method, call.path, json=call.json, params=call.params)
        except httpx.TransportError as exc:
            self._stats.call(call.endpoint, transport_kind(exc))
            raise error_from_transport(
                self.system, call.method, call.path, exc, idempotent=call.idempotent
            ) from None
        self._stats.call(call.endpoint, _status_class(response.status_code))
        self.limiter.observe(call.bucket, response.headers)
        log.debug("%s %s %s -> %d", self.system, call.method, call.path, response.status_code)
        verdict = call.classify(response) if call.classify else None
        if isinstance(verdict, Outcome):
            verdict = Verdict(verdict)
        outcome = verdict.outcome if verdict else outcome_for_status(response.status_code)
        self._storm.answered(outcome is Outcome.RATE_LIMITED)
        if outcome is Outcome.OK:
            return response
        retry_after = None
        if outcome is Outcome.RATE_LIMITED:
            retry_after = self._rate_limit_wait(call.bucket, response.headers)
        elif outcome is Outcome.TRANSIENT:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.limiter.clock.time())
        raise error_from_response(
            self.system,
            response,
            path=call.path,
            outcome=verdict,
            remote_id=call.remote_id,
            idempotent=call.idempotent,
            retry_after=retry_after,
        )

    def _rate_limit_wait(self, bucket: str, headers: httpx.Headers) -> float:
        # Blocked even beyond max_wait: later calls then fail at once instead of spending requests.
        wait = max(self.limiter.wait_after_429(bucket, headers), self.retry.min_rate_limit_wait)
        self.limiter.block(bucket, wait)
        return wait

    def _wait_for_budget(self, call: _Call) -> None:
        while (hold := self.limiter.acquire(call.bucket)) is not None:
            allowed = self._storm.allowed(self.retry)
            if hold.seconds > allowed:
                detail = (
                    f"rate-limit budget spent ({hold.reason}); next call possible in {hold.seconds:.0f} s"
                )
                if self._storm.waited:
                    detail += f", after {self._storm.waited:.0f} s waited in this 429 storm"
                raise RateLimitedError(
                    detail,
                    retry_after=hold.seconds,
                    system=self.system,
                    method=call.method,
                    path=call.path,
                )
            self._wait(call.bucket, hold)

    def _wait(self, bucket: str, hold: Hold) -> None:
        event = RateLimitWait(self.system, bucket, hold.seconds, hold.reason)
        self._stats.wait(hold.seconds)
        self._storm.waiting(hold.seconds)
        log.info("%s", event)
        if self.on_wait is not None:
            self.on_wait(event)
        self.limiter.clock.sleep(hold.seconds)
