"""Sign webhook bodies as LeadConnector does, with keys a test makes (the published keys' private
halves are LeadConnector's)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from syncengine.webhooks.keys import WebhookKeys

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # made once: it is slow


@dataclass
class Signer:
    ed: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    legacy: rsa.RSAPrivateKey = _RSA

    def keys(self) -> WebhookKeys:
        return WebhookKeys(self.ed.public_key(), self.legacy.public_key())

    def env(self) -> dict[str, str]:
        """The public keys as the receiver's variables: PEM for one, base64 DER for the other."""
        pem = self.ed.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        der = self.legacy.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "LEADCONNECTOR_WEBHOOK_PUBLIC_KEY": pem.decode(),
            "LEADCONNECTOR_WEBHOOK_LEGACY_PUBLIC_KEY": base64.b64encode(der).decode(),
        }

    def ghl(self, body: bytes) -> dict[str, str]:
        return {"x-ghl-signature": base64.b64encode(self.ed.sign(body)).decode()}

    def wh(self, body: bytes) -> dict[str, str]:
        signature = self.legacy.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return {"x-wh-signature": base64.b64encode(signature).decode()}


def payload(
    at: datetime,
    *,
    webhook_id: str = "wh-1",
    contact_id: str = "ocQHyuzHvuMOe5N5jjXF",
    event: str = "ContactUpdate",
    location: str = "SimLocation000000001",
    **extra: Any,
) -> bytes:
    body = {
        "type": event, "locationId": location, "id": contact_id, "firstName": "Ada",
        "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "webhookId": webhook_id,
        **extra,
    }  # fmt: skip
    return json.dumps(body).encode()
