"""The public keys LeadConnector signs its webhooks with: the published ones, or the environment's.

LeadConnector publishes two keys in its Webhook Integration Guide (``docs/oauth/
WebhookAuthentication.md``): an Ed25519 key for ``X-GHL-Signature`` and an RSA key for the legacy
``x-wh-signature``. ``LEADCONNECTOR_WEBHOOK_PUBLIC_KEY`` and ``LEADCONNECTOR_WEBHOOK_LEGACY_PUBLIC_KEY``
replace them (after a rotation, or to trust the bundled simulator's keys); each takes a PEM block,
base64 of the DER encoding, or, for Ed25519, base64 of the 32 raw key bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

ED25519_VARIABLE = "LEADCONNECTOR_WEBHOOK_PUBLIC_KEY"
RSA_VARIABLE = "LEADCONNECTOR_WEBHOOK_LEGACY_PUBLIC_KEY"

PUBLISHED_ED25519 = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=
-----END PUBLIC KEY-----
"""

PUBLISHED_RSA = """-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
"""


class PublicKeyError(ValueError):
    """A configured key that is not a public key of the expected kind; names the variable."""


@dataclass(frozen=True)
class WebhookKeys:
    """The key each signature header is checked with."""

    ed25519: ed25519.Ed25519PublicKey
    rsa: rsa.RSAPublicKey

    @classmethod
    def published(cls) -> WebhookKeys:
        return cls.from_env({})

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookKeys:
        """The environment's keys where set, LeadConnector's published ones otherwise."""
        ed = _load(env.get(ED25519_VARIABLE, "").strip() or PUBLISHED_ED25519, ED25519_VARIABLE)
        legacy = _load(env.get(RSA_VARIABLE, "").strip() or PUBLISHED_RSA, RSA_VARIABLE)
        if not isinstance(ed, ed25519.Ed25519PublicKey):
            raise PublicKeyError(f"{ED25519_VARIABLE} is not an Ed25519 public key")
        if not isinstance(legacy, rsa.RSAPublicKey):
            raise PublicKeyError(f"{RSA_VARIABLE} is not an RSA public key")
        return cls(ed, legacy)


def _load(text: str, variable: str) -> object:
    try:
        if "-----BEGIN" in text:
            return load_pem_public_key(text.replace("\\n", "\n").encode())
        raw = base64.b64decode("".join(text.split()), validate=True)
        if len(raw) == 32:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        return load_der_public_key(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise PublicKeyError(f"{variable} is not a PEM or base64 public key: {exc}") from None
