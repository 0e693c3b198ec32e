"""LeadConnector's contact webhooks, sent by the simulator when a contact changes.

What the vendor documents (apis.md 2.10, the Webhook Integration Guide) and the simulator does:

* ``ContactCreate``, ``ContactUpdate``, ``ContactDelete`` and ``ContactTagUpdate``, each one JSON
  body holding the contact's payload keys (``docs/webhook events/*.md``) plus ``type``,
  ``locationId``, ``id``, ``timestamp`` and ``webhookId``. A change of tags is a
  ``ContactTagUpdate``; a change of any other field a ``ContactUpdate`` (both when both changed).
  Seeding and loading a state file send nothing: only edits through the API or the admin surface.
* Signed over the raw body bytes: ``X-GHL-Signature`` is a base64 Ed25519 signature, and
  ``x-wh-signature`` a base64 RSA-SHA256 (PKCS#1 v1.5) one, the legacy header, which the vendor
  stopped sending on 1 July 2026 (so it is off unless ``signatures`` names ``rsa``). The
  simulator makes its own key pairs at start; ``GET /__admin/webhooks`` shows the public keys.
* A delivery is retried only when the receiver answers 429, ``retry_seconds`` apart (600, plus up
  to ``retry_jitter_seconds``), at most ``max_retries`` times; any other status, a timeout or a
  refused connection ends it. A retry resends the same body (same ``webhookId`` and ``timestamp``).

Faults on request (``PUT /__admin/webhooks``): ``drop_rate`` (never sent), ``duplicate_rate``
(sent twice), ``delay_ms`` and ``jitter_ms`` (a random extra delay, which reorders deliveries),
and ``hold``: deliveries wait until ``POST /__admin/webhooks/release`` sends them, in ``fifo``,
``reverse`` or ``shuffle`` order. ``GET /__admin/webhooks/deliveries`` lists every delivery with its
attempts. Deliveries run on real time in a thread of their own, never under the simulator's lock.
"""

from __future__ import annotations

import base64
import functools
import heapq
import json
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sim.admin import admin_error, json_object
from syncengine.sim.core import SimClock, iso_ms
from syncengine.sim.leadconnector.shapes import get_shape

EVENTS = ("ContactCreate", "ContactUpdate", "ContactDelete", "ContactTagUpdate")
SIGNATURES = ("ed25519", "rsa")
# The keys of the documented contact payloads (docs/webhook events/Contact*.md).
PAYLOAD_KEYS = (
    "address1", "city", "state", "companyName", "country", "source", "dateAdded", "dateOfBirth", "dnd",
    "email", "name", "firstName", "lastName", "phone", "postalCode", "tags", "website", "attachments",
    "assignedTo", "customFields",
)  # fmt: skip
ED25519_HEADER = "X-GHL-Signature"
RSA_HEADER = "x-wh-signature"
KEPT_DELIVERIES = 10_000  # the newest, for GET /__admin/webhooks/deliveries


@dataclass
class WebhookSettings:
    """Where and how the location's webhooks go; ``url`` None sends nothing."""

    url: str | None = None
    events: tuple[str, ...] = EVENTS
    signatures: tuple[str, ...] = ("ed25519",)
    retry_seconds: float = 600.0
    retry_jitter_seconds: float = 60.0
    max_retries: int = 6
    timeout_seconds: float = 5.0
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    hold: bool = False

    def update(self, data: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown webhook settings: {unknown}")
        url = data.get("url", self.url)
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            raise ValueError("url must be an http(s) URL or null")
        events = tuple(data.get("events", self.events))
        if set(events) - set(EVENTS):
            raise ValueError(f"events must be among {list(EVENTS)}")
        signatures = tuple(data.get("signatures", self.signatures))
        if not signatures or set(signatures) - set(SIGNATURES):
            raise ValueError(f"signatures must list one or both of {list(SIGNATURES)}")
        for key in ("drop_rate", "duplicate_rate"):
            value = data.get(key, getattr(self, key))
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{key} must be a number from 0 to 1")
        for key in ("retry_seconds", "retry_jitter_seconds", "timeout_seconds", "delay_ms", "jitter_ms"):
            value = data.get(key, getattr(self, key))
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a number >= 0")
        retries = data.get("max_retries", self.max_retries)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError("max_retries must be a whole number >= 0")
        if "hold" in data and not isinstance(data["hold"], bool):
            raise ValueError("hold must be true or false")
        for key, value in data.items():
            setattr(self, key, tuple(value) if key in ("events", "signatures") else value)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "events": list(self.events), "signatures": list(self.signatures)}


@dataclass
class Delivery:
    """One webhook on its way: the signed body and what became of each attempt."""

    webhook_id: str
    event: str
    contact_id: str
    body: bytes
    headers: dict[str, str]
    state: str = "pending"  # pending | held | delivered | failed | dropped
    attempts: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False  # the second copy of a delivery sent twice

    def to_json(self) -> dict[str, Any]:
        return {
            "webhookId": self.webhook_id,
            "type": self.event,
            "contactId": self.contact_id,
            "state": self.state,
            "attempts": list(self.attempts),
            "duplicate": self.duplicate,
        }


class KeyPairs:
    """The simulator's signing keys: Ed25519 for ``X-GHL-Signature``, RSA for ``x-wh-signature``.

    Made on first use: an RSA key takes a noticeable moment, and most simulators never sign."""

    @functools.cached_property
    def ed25519_key(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.generate()

    @functools.cached_property
    def rsa_key(self) -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(self, body: bytes, schemes: tuple[str, ...]) -> dict[str, str]:
        headers = {}
        if "ed25519" in schemes:
            headers[ED25519_HEADER] = base64.b64encode(self.ed25519_key.sign(body)).decode()
        if "rsa" in schemes:
            signature = self.rsa_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
            headers[RSA_HEADER] = base64.b64encode(signature).decode()
        return headers

    def public(self) -> dict[str, dict[str, str]]:
        """Each public key as PEM and as base64 of its DER (SubjectPublicKeyInfo) encoding."""
        out = {}
        for name, key in (("ed25519", self.ed25519_key.public_key()), ("rsa", self.rsa_key.public_key())):
            der = key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            pem = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            out[name] = {"pem": pem.decode(), "base64": base64.b64encode(der).decode()}
        return out


def _http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    with httpx.Client(timeout=timeout) as client:
        return client.post(
            url, content=body, headers={"Content-Type": "application/json", **headers}
        ).status_code


class WebhookSender:
    """Turns contact changes into signed deliveries and sends them from a thread of its own."""

    def __init__(self, clock: SimClock, location_id: str, *, seed: int = 0) -> None:
        self.clock = clock
        self.location_id = location_id
        self.settings = WebhookSettings()
        self.keys = KeyPairs()
        self._seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Condition()
        self._queue: list[tuple[float, int, Delivery]] = []  # (due on time.monotonic, seq, delivery)
        self._held: list[Delivery] = []
        self._seq = 0
        self._sending = 0  # popped from the queue, answer not recorded yet
        self.deliveries: deque[Delivery] = deque(maxlen=KEPT_DELIVERIES)
        self._thread: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------------ from the store

    def contact_changed(self, event: str, record: dict[str, Any]) -> None:
        """Called by the contact store, under the simulator's lock: build, sign and queue at once,
        so the payload holds the contact as this change left it."""
        with self._lock:
            settings = self.settings
            if settings.url is None or event not in settings.events or self._closed:
                return
            shape = get_shape(record)
            payload: dict[str, Any] = {"type": event, "locationId": self.location_id, "id": record["id"]}
            payload.update({k: shape[k] for k in PAYLOAD_KEYS if k in shape})
            payload["timestamp"] = iso_ms(self.clock.now())
            payload["webhookId"] = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            delivery = Delivery(
                payload["webhookId"], event, record["id"], body, self.keys.sign(body, settings.signatures)
            )
            self.deliveries.append(delivery)
            if self._random.random() < settings.drop_rate:
                delivery.state = "dropped"
                return
            copies = [delivery]
            if self._random.random() < settings.duplicate_rate:
                copies.append(
                    Delivery(delivery.webhook_id, event, record["id"], body, delivery.headers, duplicate=True)
                )
                self.deliveries.append(copies[1])
            for copy in copies:
                if settings.hold:
                    copy.state = "held"
                    self._held.append(copy)
                else:
                    self._schedule(copy, self._first_delay())

    def _first_delay(self) -> float:
        return (self.settings.delay_ms + self._random.random() * self.settings.jitter_ms) / 1000

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (time.monotonic() + delay, self._seq, delivery))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lc-webhooks", daemon=True)
            self._thread.start()
        self._lock.notify()

    # ------------------------------------------------------------------ admin

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.settings.update(data)
            return self.describe()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {**self.settings.to_json(), "public_keys": self.keys.public()}

    def release(self, order: str = "fifo") -> int:
        """Send the held deliveries now, in ``order``; returns how many."""
        if order not in ("fifo", "reverse", "shuffle"):
            raise ValueError("order must be fifo, reverse or shuffle")
        with self._lock:
            held, self._held = self._held, []
            if order == "reverse":
                held.reverse()
            elif order == "shuffle":
                self._random.shuffle(held)
            for step, delivery in enumerate(held):
                delivery.state = "pending"
                self._schedule(delivery, step * 0.001)  # the order they are released in
            return len(held)

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d.to_json() for d in self.deliveries]

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + len(self._held) + self._sending

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._held.clear()
            self.deliveries.clear()

    def reset(self) -> None:
        with self._lock:
            self.clear()
            self.settings = WebhookSettings()
            self._random.seed(self._seed)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------ the sending thread

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._lock.wait(None if not self._queue else max(self._queue[0][0] - time.monotonic(), 0))
                if self._closed:
                    return
                _, _, delivery = heapq.heappop(self._queue)
                self._sending += 1
                url, timeout = self.settings.url, self.settings.timeout_seconds
            status = self._send(url, delivery, timeout)
            with self._lock:
                self._sending -= 1
                delivery.attempts.append({"at": iso_ms(self.clock.now()), "status": status})
                if status == 429 and len(delivery.attempts) <= self.settings.max_retries:
                    wait = (
                        self.settings.retry_seconds
                        + self._random.random() * self.settings.retry_jitter_seconds
                    )
                    self._schedule(delivery, wait)
                else:
                    delivery.state = "delivered" if status is not None and 200 <= status < 300 else "failed"

    def _send(self, url: str | None, delivery: Delivery, timeout: float) -> int | None:
        if url is None:
            return None
        try:
            return _http_post(url, delivery.body, delivery.headers, timeout)
        except httpx.HTTPError:
            return None  # a timeout or a refused connection is a permanent failure, not retried


def admin_routes(sender: WebhookSender) -> list[BaseRoute]:
    async def settings(request: Request) -> Response:
        try:
            if request.method == "PUT":
                return JSONResponse(sender.configure(await json_object(request)))
            return JSONResponse(sender.describe())
        except ValueError as exc:
            return admin_error(400, str(exc))

    async def deliveries(request: Request) -> Response:
        if request.method == "DELETE":
            sender.clear()
            return JSONResponse({"cleared": True})
        return JSONResponse({"deliveries": sender.listing(), "pending": sender.pending()})

    async def release(request: Request) -> Response:
        try:
            data = await json_object(request)
            return JSONResponse({"released": sender.release(str(data.get("order", "fifo")))})
        except ValueError as exc:
            return admin_error(400, str(exc))

    return [
        Route("/webhooks", settings, methods=["GET", "PUT"]),
        Route("/webhooks/deliveries", deliveries, methods=["GET", "DELETE"]),
        Route("/webhooks/release", release, methods=["POST"]),
    ]
