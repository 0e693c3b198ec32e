"""Value rules of the Apollo simulator: error answers, ids, emails and phone numbers.

Apollo accepts free-format phone input and derives the read side from it: a typed phone input
becomes an entry of ``phone_numbers[]`` with an E.164 ``sanitized_number`` (US default for national
numbers) [SPEC].
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

import phonenumbers

from syncengine.sim.emails import is_address

HEX24 = re.compile(r"^[0-9a-f]{24}$")

# Typed phone inputs of create/update and the ``type`` each one reads back as.
PHONE_TYPES = {
    "direct_phone": "work_direct",
    "corporate_phone": "work_hq",
    "mobile_phone": "mobile",
    "home_phone": "home",
    "other_phone": "other",
}

FREE_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "mail.com",
        "yandex.com",
    }
)


class ApolloError(Exception):
    """An error answer of the API: status and JSON body (``{"error": ...}`` and friends)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error") or body.get("message"))
        self.status = status
        self.body = body


def unprocessable(message: str, **extra: Any) -> ApolloError:
    return ApolloError(422, {"error": message, **extra})


def not_a_valid_id(value: Any) -> ApolloError:
    return unprocessable(f"Parameters misconfigured. {value} is not a valid ID")


class IdSource:
    """Deterministic 24-hex ids from a seed and a counter; the counter is exported with the state."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.counter = 0
        self._lock = threading.Lock()

    def hex24(self) -> str:
        with self._lock:
            self.counter += 1
            return hashlib.sha256(f"apollo:{self.seed}:{self.counter}".encode()).hexdigest()[:24]


def is_hex24(value: Any) -> bool:
    return isinstance(value, str) and bool(HEX24.match(value))


def valid_email(value: str) -> str | None:
    """The address (stripped) if it is syntactically valid, else None. Apollo documents no rule
    beyond "Invalid emails will be ignored"; special-use domains such as ``.test`` pass."""
    address = value.strip()
    return address if is_address(address) else None


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].lower()


def sanitize_phone(raw: str) -> str | None:
    """E.164 for a possible number, reading national numbers as US ones; None if unreadable."""
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_entry(raw: str, phone_type: str | None, position: int, status: str = "no_status") -> dict[str, Any]:
    return {
        "raw_number": raw,
        "sanitized_number": sanitize_phone(raw),
        "type": phone_type,
        "position": position,
        "status": status,
        "dnc_status": None,
        "dnc_other_info": None,
        "dialer_flags": None,
    }


def first_sanitized(numbers: list[dict[str, Any]]) -> str | None:
    ordered = sorted(numbers, key=lambda n: n.get("position") or 0)
    return ordered[0].get("sanitized_number") if ordered else None
