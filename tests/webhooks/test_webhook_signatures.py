"""Signatures over the raw body: Ed25519 always, the legacy RSA header alone only before 1 July 2026;
the published keys as defaults and the environment's keys in any of the accepted encodings."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from signing import Signer, payload

from syncengine.webhooks.keys import ED25519_VARIABLE, RSA_VARIABLE, PublicKeyError, WebhookKeys
from syncengine.webhooks.signatures import LEGACY_ACCEPTED_UNTIL, SignatureError, verify

TODAY = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)
BEFORE_CUTOVER = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def test_an_ed25519_signature_over_the_exact_bytes_is_accepted(signer: Signer) -> None:
    body = payload(TODAY)
    assert verify(body, signer.ghl(body), signer.keys(), now=TODAY) == "ed25519"
    with pytest.raises(SignatureError, match="does not match"):
        verify(body.replace(b"Ada", b"Eve"), signer.ghl(body), signer.keys(), now=TODAY)
    with pytest.raises(SignatureError, match="does not match"):
        verify(body, signer.ghl(body), Signer().keys(), now=TODAY)  # another key pair


def test_the_legacy_rsa_signature_alone_is_accepted_only_before_the_cutover(signer: Signer) -> None:
    body = payload(TODAY)
    assert verify(body, signer.wh(body), signer.keys(), now=BEFORE_CUTOVER) == "rsa"
    with pytest.raises(SignatureError, match="does not match"):
        verify(body + b" ", signer.wh(body), signer.keys(), now=BEFORE_CUTOVER)
    for now in (LEGACY_ACCEPTED_UNTIL, TODAY):
        with pytest.raises(SignatureError, match="no longer accepted since 2026-07-01"):
            verify(body, signer.wh(body), signer.keys(), now=now)


def test_a_bad_ed25519_signature_never_falls_back_to_the_legacy_one(signer: Signer) -> None:
    body = payload(TODAY)
    both = {**signer.ghl(body), **signer.wh(body)}
    assert verify(body, both, signer.keys(), now=TODAY) == "ed25519"
    forged = {**Signer().ghl(body), **signer.wh(body)}
    with pytest.raises(SignatureError):
        verify(body, forged, signer.keys(), now=BEFORE_CUTOVER)


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "no x-ghl-signature"), ({"x-ghl-signature": "not base64!"}, "not base64"),
     ({"x-ghl-signature": ""}, "no x-ghl-signature")],
)  # fmt: skip
def test_unsigned_or_garbled_requests_are_refused(
    signer: Signer, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(SignatureError, match=message):
        verify(payload(TODAY), headers, signer.keys(), now=TODAY)


def test_the_published_keys_are_the_defaults() -> None:
    keys = WebhookKeys.published()
    assert isinstance(keys.ed25519, ed25519.Ed25519PublicKey)
    assert isinstance(keys.rsa, rsa.RSAPublicKey) and keys.rsa.key_size == 4096
    raw = keys.ed25519.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert base64.b64encode(raw).decode() == "i2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg="


def test_keys_from_the_environment_in_pem_base64_der_or_raw_bytes(signer: Signer) -> None:
    body = payload(TODAY)
    keys = WebhookKeys.from_env(signer.env())
    assert verify(body, signer.ghl(body), keys, now=TODAY) == "ed25519"
    assert verify(body, signer.wh(body), keys, now=BEFORE_CUTOVER) == "rsa"
    raw = signer.ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    one_line_pem = signer.env()[ED25519_VARIABLE].replace("\n", "\\n")  # as a .env file holds it
    for text in (base64.b64encode(raw).decode(), one_line_pem):
        keys = WebhookKeys.from_env({ED25519_VARIABLE: text})
        assert verify(body, signer.ghl(body), keys, now=TODAY) == "ed25519"
        assert keys.rsa.key_size == 4096  # the legacy key not set: the published one


def test_a_wrong_key_names_its_variable(signer: Signer) -> None:
    env = signer.env()
    with pytest.raises(PublicKeyError, match=ED25519_VARIABLE):
        WebhookKeys.from_env({ED25519_VARIABLE: env[RSA_VARIABLE]})
    with pytest.raises(PublicKeyError, match=RSA_VARIABLE):
        WebhookKeys.from_env({RSA_VARIABLE: env[ED25519_VARIABLE]})
    with pytest.raises(PublicKeyError, match=ED25519_VARIABLE):
        WebhookKeys.from_env({ED25519_VARIABLE: "not a key"})
