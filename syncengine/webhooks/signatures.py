"""Whether a webhook body was signed by LeadConnector, checked over the raw bytes as received.

``X-GHL-Signature`` (base64 Ed25519) is checked whenever present, and its failure is final: a
request never falls back to the weaker header. The legacy ``x-wh-signature`` (base64 RSA-SHA256,
PKCS#1 v1.5) is accepted alone only before ``LEGACY_ACCEPTED_UNTIL``, the day LeadConnector stopped
sending it; afterwards a request signed only that way is refused, as a forged one would be.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from syncengine.webhooks.keys import WebhookKeys

ED25519_HEADER = "x-ghl-signature"
RSA_HEADER = "x-wh-signature"
LEGACY_ACCEPTED_UNTIL = datetime(2026, 7, 1, tzinfo=UTC)

Scheme = Literal["ed25519", "rsa"]


class SignatureError(Exception):
    """The request is not signed by a key we trust; answered 401."""


def verify(
    body: bytes, headers: Mapping[str, str], keys: WebhookKeys, *, now: datetime
) -> Scheme:
    """The scheme that vouched for ``body``; ``headers`` with lower-case names (as Starlette's)."""
    signature = headers.get(ED25519_HEADER)
    if signature:
        try:
            keys.ed25519.verify(_decoded(signature, ED25519_HEADER), body)
        except InvalidSignature:
            raise SignatureError(f"{ED25519_HEADER} does not match the body") from None
        return "ed25519"
    legacy = headers.get(RSA_HEADER)
    if legacy:
        if now >= LEGACY_ACCEPTED_UNTIL:
            raise SignatureError(
                f"{RSA_HEADER} alone is no longer accepted since {LEGACY_ACCEPTED_UNTIL:%Y-%m-%d}; "
                f"LeadConnector signs with {ED25519_HEADER}"
            )
        try:
            keys.rsa.verify(_decoded(legacy, RSA_HEADER), body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise SignatureError(f"{RSA_HEADER} does not match the body") from None
        return "rsa"
    raise SignatureError(f"no {ED25519_HEADER} header")


def _decoded(signature: str, header: str) -> bytes:
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{header} is not base64") from None
