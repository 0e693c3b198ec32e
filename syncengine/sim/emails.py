"""The email address rules of the simulated vendors.

LeadConnector answers a bad address with ``email must be an email``, class-validator's message for
``@IsEmail()``, which calls validator.js ``isEmail`` with its default options. ``is_email`` ports
that function (validator.js 13, ``src/lib/isEmail.js`` and ``src/lib/isFQDN.js``): JavaScript
strings are UTF-16, so lengths count UTF-16 code units, a character beyond U+FFFF is a surrogate
pair for the patterns, and byte lengths are UTF-8 (``isByteLength``). Unlike email-validator it
knows nothing of special-use names: ``name@company.test`` and ``a@host.local`` are addresses.

Apollo's rule is not documented beyond "Invalid emails will be ignored" and CorporateMerch's beyond
"valid email" (a Laravel ``email`` rule, by inference); ``is_address`` is email-validator's syntax
check without its refusal of special-use domains, which neither vendor is known to make.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254  # UTF-16 code units of the whole address
MAX_LOCAL_BYTES = 64
MAX_DOMAIN_BYTES = 254
MAX_LABEL_LENGTH = 63

# JavaScript's \s (inside and outside character classes).
_JS_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_UTF8_RANGES = "\\u00A1-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFEF"
# emailUserUtf8Part and quotedEmailUserUtf8 (allow_utf8_local_part defaults to true); [a-z] with
# the i flag and \d are ASCII in JavaScript.
_USER_PART = re.compile(f"[A-Za-z0-9!#$%&'*+\\-/=?^_`{{|}}~{_UTF8_RANGES}]+")
_QUOTED_USER = re.compile(
    f"(?:[{_JS_SPACE}\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\x21\\x23-\\x5b\\x5d-\\x7e\\u00A0-\\uD7FF"
    f"\\uF900-\\uFDCF\\uFDF0-\\uFFEF]|\\\\[\\x01-\\x09\\x0b\\x0c\\x0d-\\x7f\\u00A0-\\uD7FF"
    f"\\uF900-\\uFDCF\\uFDF0-\\uFFEF])*"
)
# isFQDN with require_tld: a TLD of 2+ letters (or an xn-- label), labels of letters, digits, "-"
# and anything from U+00A1 up; no full-width ASCII; no leading or trailing hyphen; no underscore.
_TLD = re.compile(
    "[A-Za-z\\u00A1-\\u00A8\\u00AA-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFEF]{2,}|[xX][nN][A-Za-z0-9-]{2,}"
)
_JS_SPACE_CHAR = re.compile(f"[{_JS_SPACE}]")
_LABEL = re.compile("[A-Za-z_\\u00a1-\\uffff0-9-]+")
_FULL_WIDTH = re.compile("[\\uff01-\\uff5e]")
_SPECIAL_USE_TAIL = re.compile(r"(?:^|\.)(arpa|invalid|local|localhost|onion|test)$", re.IGNORECASE)


def is_email(value: str) -> bool:
    """validator.js ``isEmail(value)`` with the default options (class-validator ``@IsEmail()``)."""
    text = _utf16(value)
    if len(text) > MAX_EMAIL_LENGTH:
        return False
    *users, domain = text.split("@")
    user = "@".join(users)
    if not (_byte_length_at_most(user, MAX_LOCAL_BYTES) and _byte_length_at_most(domain, MAX_DOMAIN_BYTES)):
        return False
    if not _is_fqdn(domain):
        return False  # allow_ip_domain is off
    if user[:1] == '"' and user[-1:] == '"':
        return bool(_QUOTED_USER.fullmatch(user[1:-1]))
    return all(_USER_PART.fullmatch(part) for part in user.split("."))


def is_address(value: str) -> bool:
    """email-validator's syntax check (no DNS) minus its refusal of special-use domains."""
    local, at, domain = value.strip().rpartition("@")
    special = _SPECIAL_USE_TAIL.search(domain) if at else None
    if special:
        # A stand-in label of the same length leaves every length limit as it was.
        domain = domain[: special.start(1)] + "x" * len(special.group(1))
    try:
        validate_email(f"{local}@{domain}" if at else value.strip(), check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _is_fqdn(domain: str) -> bool:
    parts = domain.split(".")
    tld = parts[-1]
    if len(parts) < 2 or not _TLD.fullmatch(tld) or _JS_SPACE_CHAR.search(tld):
        return False
    if tld.isascii() and tld.isdigit():
        return False
    return all(
        len(part) <= MAX_LABEL_LENGTH
        and _LABEL.fullmatch(part)
        and not _FULL_WIDTH.search(part)
        and not part.startswith("-")
        and not part.endswith("-")
        and "_" not in part
        for part in parts
    )


def _utf16(value: str) -> str:
    """The string as JavaScript sees it: every character beyond U+FFFF as its surrogate pair."""
    if all(ord(c) <= 0xFFFF for c in value):
        return value
    units = []
    for char in value:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            units.append(chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF)))
        else:
            units.append(char)
    return "".join(units)


def _byte_length_at_most(text: str, limit: int) -> bool:
    """validator.js ``isByteLength`` (UTF-8 via ``encodeURI``); an unpaired surrogate is refused."""
    try:
        return len(text.encode("utf-16", "surrogatepass").decode("utf-16").encode("utf-8")) <= limit
    except UnicodeError:
        return False
