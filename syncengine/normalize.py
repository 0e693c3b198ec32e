"""One normaliser per kind of canonical field: raw value in, canonical JSON value (or None for blank) out.

Each normaliser raises :class:`NormalizeError` with a reason a person can act on; the caller
(``syncengine.canonical``) adds the field name. Every normaliser is idempotent: feeding its output
back in returns the same value, which keeps a written value from echoing back as a change.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
from dateutil import parser as dateparser
from email_validator import EmailNotValidError, validate_email

from syncengine import regions


class NormalizeError(ValueError):
    """A raw value that cannot be turned into its canonical form; the message is the reason."""


def _describe(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- text

# Bidi embeddings, overrides and isolates, and the directional marks: copied into another CRM they
# reorder what its screens, our terminal output and HTML reports show.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Line breaks and tabs are whitespace a person pastes; text collapses them to one space.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def check_controls(text: str) -> None:
    """Raise NormalizeError for control characters (category Cc, less tab and line breaks) and bidi
    controls, naming the first one and showing the value escaped."""
    if text.isprintable():  # every control and bidi character is unprintable: the common case
        return
    for ch in text:
        if ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS):
            kind = "a bidi control" if ch in BIDI_CONTROLS else "a control character"
            raise NormalizeError(f"holds {kind} (U+{ord(ch):04X}), not copied: {_describe(text)}")


def normalize_text(raw: Any) -> str | None:
    """NFC, stripped, inner whitespace runs collapsed to one space; an integer becomes its digits
    (postal codes arrive as numbers from some CRMs). Control and bidi characters are refused."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise NormalizeError(f"expected text, got {type(raw).__name__} {_describe(raw)}")
    if isinstance(raw, str):
        check_controls(raw)
    text = " ".join(unicodedata.normalize("NFC", str(raw)).split())
    return text or None


def _require_text(raw: Any) -> str | None:
    """Text-normalise a value that must arrive as a string (codes, dates, addresses)."""
    if raw is not None and not isinstance(raw, str):
        raise NormalizeError(f"expected a string, got {type(raw).__name__} {_describe(raw)}")
    return normalize_text(raw)


# --------------------------------------------------------------------------- email


# email-validator refuses these names as special-use; none of the CRMs does (LeadConnector runs
# validator.js isEmail, which has no such list), so ``name@company.test`` is an address to match
# and copy like any other.
_SPECIAL_USE_TAIL = re.compile(r"(?:^|\.)(arpa|invalid|local|localhost|onion|test)\Z", re.IGNORECASE)


def normalize_email(raw: Any) -> str | None:
    """Lower-cased address whose syntax email-validator accepts (deliverability is not checked),
    special-use domains included."""
    return _email(raw) if isinstance(raw, str) else _email_of(raw)


# A run reads each record's address more than once (to match it, to merge it, to read back what a
# system answered), close together: the last few thousand are kept.
@lru_cache(maxsize=8192)
def _email(raw: str) -> str | None:
    return _email_of(raw)


def _email_of(raw: Any) -> str | None:
    text = _require_text(raw)
    if text is None:
        return None
    # Lower-casing can undo NFC composition, so compose again (keeps the normaliser idempotent).
    address = unicodedata.normalize("NFC", text.lower())
    local, at, domain = address.rpartition("@")
    special = _SPECIAL_USE_TAIL.search(domain) if at else None
    checked = address
    if special:
        # A stand-in label of the same length keeps every other rule, length limits included.
        checked = f"{local}@{domain[: special.start(1)]}{'x' * len(special.group(1))}"
    try:
        validate_email(checked, check_deliverability=False)
    except EmailNotValidError as exc:
        raise NormalizeError(f"not a valid email address: {exc}") from None
    return address


# --------------------------------------------------------------------------- phone


def normalize_phone(raw: Any, region: str = "US") -> str | None:
    """E.164 (``+15125550147``) from the ways people type a number; ``region`` reads national numbers."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    return _phone(raw, region) if isinstance(raw, str) else _phone_of(raw, region)


@lru_cache(maxsize=8192)  # as for addresses
def _phone(raw: str, region: str) -> str | None:
    return _phone_of(raw, region)


def _phone_of(raw: Any, region: str) -> str | None:
    text = _require_text(raw)
    if text is None:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            reason = f"no country code, and {region!r} has no numbering plan to read it in"
        else:
            reason = str(exc).split(") ", 1)[-1]  # the library's message without its "(n) " prefix
        raise NormalizeError(f"not a phone number: {reason}") from None
    if number.extension:
        raise NormalizeError(f"has an extension ({number.extension}), which E.164 cannot hold")
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_number(number) or f"+{number.country_code}"
        raise NormalizeError(f"not a valid phone number for {where}: {_describe(text)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --------------------------------------------------------------------------- country and region


def normalize_country(raw: Any) -> str | None:
    """Uppercase ISO 3166-1 alpha-2 (plus ``XK``, ``AN``) from a code, alpha-3 or name."""
    text = _require_text(raw)
    if text is None:
        return None
    code = regions.country_code(text)
    if code is None:
        raise NormalizeError(f"unknown country {_describe(text)}")
    return code


def normalize_region(raw: Any, country: str | None = None) -> str | None:
    """For US and CA the 2-letter subdivision code; for other or unknown countries, text."""
    text = _require_text(raw)
    if text is None or country not in regions.CODED_REGION_COUNTRIES:
        return text
    code = regions.subdivision_code(country, text)
    if code is None:
        noun = "state or territory" if country == "US" else "province or territory"
        raise NormalizeError(f"unknown {country} {noun} {_describe(text)}")
    return code


# --------------------------------------------------------------------------- date

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DOTTED = re.compile(r"\d{1,2}\.\d{1,2}\.\d{2,4}")  # 05.03.1990: day first, as written where dots are used
_EPOCH_MS = re.compile(r"-?\d{11,}")  # too long for any typed date
# Two defaults that differ in every part: a part missing from the input shows as a difference.
_PROBES = (datetime(2000, 1, 1), datetime(2001, 2, 2))


def _date_of(moment: datetime) -> date:
    """The UTC date of an aware datetime; a naive one is taken as it reads."""
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _from_epoch_ms(ms: int) -> str:
    try:
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).date().isoformat()
    except OverflowError:
        raise NormalizeError(f"epoch milliseconds out of range: {ms}") from None


def normalize_date(raw: Any) -> str | None:
    """``YYYY-MM-DD`` from ISO dates, ISO datetimes (UTC date), epoch milliseconds (LeadConnector's
    search results) and typed dates: ``March 5, 1990``, ``5 Mar 1990``, month-first ``3/5/1990``,
    day-first ``5.3.1990``."""
    if isinstance(raw, datetime):
        return _date_of(raw).isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return _from_epoch_ms(raw)
    text = _require_text(raw)
    if text is None:
        return None
    if _EPOCH_MS.fullmatch(text):
        return _from_epoch_ms(int(text))
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text).isoformat()
        if _ISO_DATETIME.match(text):
            return _date_of(datetime.fromisoformat(text.replace("z", "Z"))).isoformat()
        dayfirst = bool(_DOTTED.fullmatch(text))
        first, second = (dateparser.parse(text, default=probe, dayfirst=dayfirst) for probe in _PROBES)
        complete = first.date() == second.date()
        day = _date_of(first)
    except (ValueError, OverflowError) as exc:
        raise NormalizeError(f"not a valid date {_describe(text)}: {exc}") from None
    if not complete:
        raise NormalizeError(f"incomplete date {_describe(text)}: needs year, month and day")
    return day.isoformat()


# --------------------------------------------------------------------------- set and map


def _members(raw: Any) -> Iterable[Any]:
    if isinstance(raw, str):  # a typed list: "vip, returning"
        return raw.split(",")
    if isinstance(raw, list | tuple | set | frozenset):
        return raw
    raise NormalizeError(f"expected a list of names, got {type(raw).__name__} {_describe(raw)}")


def normalize_set(raw: Any) -> list[str] | None:
    """Text-normalised members, de-duplicated ignoring case (first spelling kept), sorted by
    (casefold, text); a string is read as a comma-separated list."""
    if raw is None:
        return None
    seen: dict[str, str] = {}
    for member in _members(raw):
        try:
            text = normalize_text(member)
        except NormalizeError as exc:
            raise NormalizeError(f"member {_describe(member)}: {exc}") from None
        if text is not None:
            seen.setdefault(text.casefold(), text)
    return sorted(seen.values(), key=lambda m: (m.casefold(), m)) or None


def normalize_map(raw: Any) -> dict[str, str] | None:
    """String keys and text-normalised values, blank values dropped, keys sorted; empty -> None."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise NormalizeError(f"expected a mapping, got {type(raw).__name__} {_describe(raw)}")
    out: dict[str, str] = {}
    for k, v in raw.items():
        name = normalize_text(k) if isinstance(k, str) else None
        if name is None:
            raise NormalizeError(f"key {_describe(k)} is not a non-blank string")
        if name in out:
            raise NormalizeError(f"key {name!r} appears twice")
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, float):  # numeric custom fields
            v = repr(v)
        try:
            text = normalize_text(v)
        except NormalizeError as exc:
            raise NormalizeError(f"key {name!r}: {exc}") from None
        if text is not None:
            out[name] = text
    return dict(sorted(out.items())) or None


# --------------------------------------------------------------------------- enum


def normalize_enum(raw: Any, choices: tuple[str, ...], aliases: Mapping[str, str]) -> str | None:
    """One of ``choices``, matched ignoring case, spaces, dots and dashes, or through ``aliases``
    (keys in that same folded form)."""
    text = _require_text(raw)
    if text is None:
        return None
    folded = enum_fold(text)
    for choice in choices:
        if enum_fold(choice) == folded:
            return choice
    if folded in aliases:
        return aliases[folded]
    raise NormalizeError(f"{_describe(text)} is not one of {', '.join(choices)}")


def enum_fold(text: str) -> str:
    """The form enum spellings are compared in: ``"X-Large"`` -> ``"xlarge"``."""
    return re.sub(r"[\s.\-_]+", "", text.casefold())


# --------------------------------------------------------------------------- url

_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _check_host(host: str) -> None:
    if host == "localhost":
        return
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise NormalizeError(f"invalid host {host!r}") from None
    labels = ascii_host.rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise NormalizeError(f"invalid host {host!r}")
    if not (labels[-1].isalpha() or labels[-1].startswith("xn--")):
        raise NormalizeError(f"invalid host {host!r}: the top-level domain must be letters")


def normalize_url(raw: Any) -> str | None:
    """Scheme and host lower-cased, ``http://`` added when no scheme is given, a lone ``/`` path
    dropped; the rest kept as typed."""
    text = _require_text(raw)
    if text is None:
        return None
    if " " in text:
        raise NormalizeError(f"a URL cannot contain spaces: {_describe(text)}")
    if not _SCHEME.match(text):
        text = "http://" + text
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise NormalizeError(f"not a valid URL {_describe(text)}: {exc}") from None
    if not host:
        raise NormalizeError(f"a URL needs a host: {_describe(text)}")
    _check_host(host)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"[{host}]" if ":" in host else host
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    if port is not None:
        netloc = f"{netloc}:{port}"
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, parts.fragment))
