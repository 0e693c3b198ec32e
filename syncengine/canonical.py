"""The canonical contact: the shared field vocabulary every connector maps to and from.

Canonical values are plain JSON types (str, list[str], dict[str, str]) so they store and compare
exactly; ``None`` means blank and blank fields are left out of a record. :func:`normalize` turns
any raw value a CRM or a person may hold into that form, and is idempotent, so a value written to
a system comes back unchanged on the next pull. :func:`key` and :func:`same` compare canonical
values the way the merge must: tags, emails and enum choices ignore case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from syncengine import normalize as norm


class Kind(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    COUNTRY = "country"
    REGION = "region"
    DATE = "date"
    SET = "set"
    MAP = "map"
    ENUM = "enum"
    URL = "url"


@dataclass(frozen=True)
class CanonicalField:
    name: str
    kind: Kind
    label: str
    choices: tuple[str, ...] = ()


def _fields(
    *specs: tuple[str, Kind, str] | tuple[str, Kind, str, tuple[str, ...]],
) -> dict[str, CanonicalField]:
    return {spec[0]: CanonicalField(*spec) for spec in specs}


SHIRT_SIZES = ("XS", "SM", "MD", "LG", "XL", "2XL", "3XL")

FIELDS: dict[str, CanonicalField] = _fields(
    ("first_name", Kind.TEXT, "First name"),
    ("last_name", Kind.TEXT, "Last name"),
    ("email", Kind.EMAIL, "Email"),
    ("phone", Kind.PHONE, "Phone"),
    ("phone_mobile", Kind.PHONE, "Mobile phone"),
    ("phone_corporate", Kind.PHONE, "Corporate phone"),
    ("phone_home", Kind.PHONE, "Home phone"),
    ("phone_other", Kind.PHONE, "Other phone"),
    ("company", Kind.TEXT, "Company"),
    ("title", Kind.TEXT, "Title"),
    ("department", Kind.TEXT, "Department"),
    ("employment_type", Kind.TEXT, "Employment type"),
    ("website", Kind.URL, "Website"),
    ("street", Kind.TEXT, "Street"),
    ("unit", Kind.TEXT, "Unit"),
    ("city", Kind.TEXT, "City"),
    ("region", Kind.REGION, "State / region"),
    ("postal_code", Kind.TEXT, "Postal code"),
    ("country", Kind.COUNTRY, "Country"),
    ("time_zone", Kind.TEXT, "Time zone"),
    ("date_of_birth", Kind.DATE, "Date of birth"),
    ("anniversary", Kind.DATE, "Anniversary"),
    ("start_date", Kind.DATE, "Start date"),
    ("stage", Kind.TEXT, "Stage"),
    ("owner", Kind.TEXT, "Owner"),
    ("source", Kind.TEXT, "Source"),
    ("contact_type", Kind.ENUM, "Contact type", ("employee", "client")),
    ("shirt_size", Kind.ENUM, "Shirt size", SHIRT_SIZES),
    ("gender", Kind.ENUM, "Gender", ("male", "female")),
    ("tags", Kind.SET, "Tags"),
    ("lists", Kind.SET, "Lists"),
    ("custom", Kind.MAP, "Custom fields"),
)

SET_FIELDS: frozenset[str] = frozenset(name for name, f in FIELDS.items() if f.kind is Kind.SET)

# Common spellings of enum choices, keyed in the form normalize.enum_fold gives ("X-Large" -> "xlarge").
ENUM_ALIASES: dict[str, dict[str, str]] = {
    "shirt_size": {
        "xsmall": "XS",
        "extrasmall": "XS",
        "s": "SM",
        "small": "SM",
        "m": "MD",
        "med": "MD",
        "medium": "MD",
        "l": "LG",
        "large": "LG",
        "xlarge": "XL",
        "extralarge": "XL",
        "xxl": "2XL",
        "2x": "2XL",
        "xxlarge": "2XL",
        "2xlarge": "2XL",
        "xxxl": "3XL",
        "3x": "3XL",
        "xxxlarge": "3XL",
        "3xlarge": "3XL",
    },
    "gender": {"m": "male", "f": "female", "man": "male", "woman": "female"},
    "contact_type": {},
}


class InvalidValueError(ValueError):
    """A raw value of a canonical field that cannot be normalised.

    The message names the field and the reason (which may quote the contact's value, never a
    credential); the caller adds which record it came from. ``member`` names the one member of a
    set field that is refused, when the rest of the set can still be written.
    """

    def __init__(self, field: str, raw: Any, reason: str, *, member: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.raw = raw
        self.reason = reason
        self.member = member


@dataclass(frozen=True)
class Invalid:
    """A field whose raw value could not be normalised, and why."""

    field: str
    raw: Any
    reason: str


@dataclass(frozen=True)
class Canonical:
    """One record in canonical form; an invalid field keeps its raw value in ``values`` too."""

    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    invalid: dict[str, Invalid] = dataclasses.field(default_factory=dict)


def _field(name: str) -> CanonicalField:
    spec = FIELDS.get(name)
    if spec is None:
        raise ValueError(f"unknown canonical field {name!r}")
    return spec


def is_blank(value: Any) -> bool:
    """None, a whitespace-only string, or an empty list, set or mapping."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset | Mapping):
        return len(value) == 0
    return False


@lru_cache(maxsize=1024)
def _country_context(country: str | None) -> str | None:
    """The record's country as a code, or None when it is missing or unreadable (asked once per
    field of every record: cached)."""
    if country is None:
        return None
    try:
        return norm.normalize_country(country)
    except norm.NormalizeError:
        return None


def normalize(field: str, raw: Any, *, country: str | None = None, default_region: str = "US") -> Any:
    """The canonical value of ``raw`` for ``field``, or None when blank.

    ``country`` (the record's country) picks how a region is read and how a phone number without
    a country code is read; without it phones are read as ``default_region`` numbers.
    Raises :class:`InvalidValueError` naming the field and reason, ``ValueError`` for an unknown field.
    """
    spec = _field(field)
    if is_blank(raw):
        return None
    code = _country_context(country)
    try:
        match spec.kind:
            case Kind.TEXT:
                return norm.normalize_text(raw)
            case Kind.EMAIL:
                return norm.normalize_email(raw)
            case Kind.PHONE:
                return norm.normalize_phone(raw, code or default_region)
            case Kind.COUNTRY:
                return norm.normalize_country(raw)
            case Kind.REGION:
                return norm.normalize_region(raw, code)
            case Kind.DATE:
                return norm.normalize_date(raw)
            case Kind.SET:
                return norm.normalize_set(raw)
            case Kind.MAP:
                return norm.normalize_map(raw)
            case Kind.ENUM:
                return norm.normalize_enum(raw, spec.choices, ENUM_ALIASES.get(field, {}))
            case Kind.URL:
                return norm.normalize_url(raw)
    except norm.NormalizeError as exc:
        raise InvalidValueError(field, raw, str(exc)) from None
    raise AssertionError(f"no normaliser for kind {spec.kind}")  # pragma: no cover - every Kind is matched


def normalize_record(raw: Mapping[str, Any], *, default_region: str = "US") -> Canonical:
    """Normalise every field of a record; blank fields are left out, invalid ones kept raw.

    The country goes first because regions and phone numbers are read in its terms. Keys that
    are not canonical fields raise ``ValueError`` naming them.
    """
    unknown = sorted(str(k) for k in raw if k not in FIELDS)
    if unknown:
        raise ValueError(f"not canonical fields: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    invalid: dict[str, Invalid] = {}
    country: str | None = None
    order = sorted(raw, key=lambda name: name != "country")
    for name in order:
        try:
            value = normalize(name, raw[name], country=country, default_region=default_region)
        except InvalidValueError as exc:
            values[name] = raw[name]
            invalid[name] = Invalid(name, raw[name], exc.reason)
            continue
        if value is not None:
            values[name] = value
        if name == "country":
            country = value
    # Display order, whatever order the record came in.
    values = {name: values[name] for name in FIELDS if name in values}
    return Canonical(values=values, invalid=invalid)


def _freeze(value: Any) -> Hashable:
    """A hashable stand-in for any value, so even a raw invalid value has a key."""
    if isinstance(value, Mapping):
        return tuple(sorted(((str(k), _freeze(v)) for k, v in value.items()), key=repr))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, set | frozenset):
        return tuple(sorted((_freeze(v) for v in value), key=repr))
    if isinstance(value, Hashable):
        return value
    return repr(value)


def _casefolded(value: Any) -> Hashable:
    return value.casefold() if isinstance(value, str) else _freeze(value)


def _set_key(value: Any) -> Hashable:
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(m, str) for m in value):
        return tuple(sorted({m.casefold() for m in value}))
    return _freeze(value)


_KEYS: dict[Kind, Callable[[Any], Hashable]] = {
    Kind.EMAIL: _casefolded,
    Kind.ENUM: _casefolded,
    Kind.COUNTRY: _casefolded,
    Kind.SET: _set_key,
}


def key(field: str, value: Any) -> Hashable:
    """What two values of ``field`` are compared by: None for blank; case ignored for emails, enum
    choices, countries and set members (sets also ignore order); exact otherwise."""
    spec = _field(field)
    if is_blank(value):
        return None
    return _KEYS.get(spec.kind, _freeze)(value)


def same(field: str, a: Any, b: Any) -> bool:
    """Whether two values of ``field`` are the same for the merge (None equals any blank)."""
    return key(field, a) == key(field, b)
