"""Validation and normalisation of the values LeadConnector accepts on contact writes.

LeadConnector's API is a NestJS service with a strict whitelist: unknown keys are refused with
``property <name> should not exist`` and bad values with class-validator style messages, all in a
422 whose ``message`` is an array. This module turns a request body into the changes to store, or
raises ``ValidationError`` with every message it found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import phonenumbers
import pycountry

from syncengine.sim.core import iso_ms
from syncengine.sim.emails import is_email

# LeadConnector's own 247-code list (docs/country list/Country.md): ISO 3166-1 alpha-2 plus the
# withdrawn AN and the user-assigned XK, without BL, BQ, CW and SS.
COUNTRY_CODES = frozenset({c.alpha_2 for c in pycountry.countries} | {"AN", "XK"}) - {"BL", "BQ", "CW", "SS"}

DND_CHANNELS = ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB")
DND_STATUSES = ("active", "inactive", "permanent")

# Fields the spec declares ``nullable: true``; ``null`` clears them.
NULLABLE = frozenset(
    {"firstName", "lastName", "name", "email", "phone", "address1", "city", "state", "website",
     "timezone", "source", "companyName", "assignedTo", "dateOfBirth", "keyword", "ssn"}
)  # fmt: skip

# Spec CreateContactDto (create and upsert share it; upsert adds one flag).
CREATE_FIELDS = frozenset(
    {"firstName", "lastName", "name", "email", "locationId", "gender", "phone", "address1", "city",
     "state", "postalCode", "website", "timezone", "dnd", "dndSettings", "inboundDndSettings", "tags",
     "customFields", "source", "dateOfBirth", "country", "companyName", "assignedTo"}
)  # fmt: skip
UPSERT_FIELDS = CREATE_FIELDS | {"createNewIfDuplicateAllowed"}
# Spec UpdateContactDto plus what the live API was seen to accept (issue #314, seed 003).
UPDATE_FIELDS = frozenset(
    {"firstName", "lastName", "name", "email", "phone", "address1", "city", "state", "postalCode",
     "website", "timezone", "dnd", "dndSettings", "inboundDndSettings", "tags", "customFields",
     "source", "dateOfBirth", "country", "assignedTo", "companyName", "keyword", "ssn", "type"}
)  # fmt: skip

# Documented dateOfBirth input formats (spec): year-first or month-first with / - . _ separators.
_DOB_YEAR_FIRST = re.compile(r"^(\d{4})([/\-._])(\d{1,2})\2(\d{1,2})$")
_DOB_MONTH_FIRST = re.compile(r"^(\d{1,2})([/\-._])(\d{1,2})\2(\d{4})$")
_DOB_ISO_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T[\d:.]+(Z|[+-]\d{2}:?\d{2})?$")

CUSTOM_FIELD_TYPES = (
    "TEXT", "LARGE_TEXT", "NUMERICAL", "PHONE", "MONETORY", "CHECKBOX", "SINGLE_OPTIONS",
    "MULTIPLE_OPTIONS", "DATE", "TEXTBOX_LIST", "FILE_UPLOAD", "RADIO", "EMAIL",
)  # fmt: skip
_LIST_TYPES = frozenset({"CHECKBOX", "MULTIPLE_OPTIONS"})
_NUMBER_TYPES = frozenset({"NUMERICAL", "MONETORY"})
_OBJECT_TYPES = frozenset({"FILE_UPLOAD", "TEXTBOX_LIST"})
_OPTION_TYPES = frozenset({"SINGLE_OPTIONS", "RADIO", "CHECKBOX", "MULTIPLE_OPTIONS"})


class ValidationError(ValueError):
    """One or more class-validator style messages; answered as a 422 with ``message`` as array."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def normalize_phone(value: str) -> str:
    """E.164, reading national numbers as US ones. Only the length is checked (``is_possible``),
    since LeadConnector stores fictional 555 numbers that a strict validity check would refuse."""
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {value!r} is not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"phone {value!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_dob(value: str) -> str:
    """A documented dateOfBirth input (or the ISO form the API returns) as midnight UTC ISO."""
    text = value.strip()
    if m := _DOB_YEAR_FIRST.match(text):
        y, mo, d = int(m[1]), int(m[3]), int(m[4])
    elif m := _DOB_MONTH_FIRST.match(text):
        mo, d, y = int(m[1]), int(m[3]), int(m[4])
    elif m := _DOB_ISO_TIME.match(text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    else:
        raise ValueError(f"dateOfBirth {value!r} is not in a supported format")
    try:
        day = date(y, mo, d)
    except ValueError as exc:
        raise ValueError(f"dateOfBirth {value!r} is not a real date") from exc
    return iso_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


def normalize_tag(tag: str, lowercase: bool) -> str:
    tag = tag.strip()
    return tag.lower() if lowercase else tag


def unique_tags(tags: list[str], lowercase: bool) -> list[str]:
    """Tags trimmed (and lower-cased if the location does so), duplicates dropped, order kept."""
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        norm = normalize_tag(tag, lowercase)
        if norm and norm.lower() not in seen:
            seen.add(norm.lower())
            out.append(norm)
    return out


def split_name(name: str) -> tuple[str | None, str | None]:
    parts = name.strip().split(None, 1)
    if not parts:
        return None, None
    return parts[0], (parts[1] if len(parts) > 1 else None)


class WriteValidator:
    """Checks one write body against a whitelist and the location's custom-field catalogue.

    ``custom_fields`` maps field id to its catalogue entry; ``unknown_custom_field`` says what an
    unknown id or key does: ``"ignore"`` (dropped silently) or ``"reject"`` (422).
    """

    def __init__(
        self,
        custom_fields: dict[str, dict[str, Any]],
        *,
        lowercase_tags: bool = True,
        unknown_custom_field: str = "ignore",
    ) -> None:
        self.custom_fields = custom_fields
        self.lowercase_tags = lowercase_tags
        self.unknown_custom_field = unknown_custom_field
        self._errors: list[str] = []

    def check(self, body: Any, allowed: frozenset[str]) -> dict[str, Any]:
        """The normalised changes of ``body``; raises ``ValidationError`` listing every problem."""
        if not isinstance(body, dict):
            raise ValidationError(["request body must be a JSON object"])
        self._errors = [f"property {key} should not exist" for key in body if key not in allowed]
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if key not in allowed:
                continue
            checker = self._checkers().get(key, self._string)
            result = checker(key, value)
            if result is not _SKIP:
                changes[key] = result
        if self._errors:
            raise ValidationError(self._errors)
        return changes

    def _checkers(self) -> dict[str, Callable[[str, Any], Any]]:
        return {
            "email": self._email,
            "phone": self._phone,
            "country": self._country,
            "dateOfBirth": self._dob,
            "dnd": self._bool,
            "createNewIfDuplicateAllowed": self._bool,
            "tags": self._tags,
            "customFields": self._custom_fields,
            "dndSettings": self._dnd_settings,
            "inboundDndSettings": self._inbound_dnd,
            "locationId": self._location_id,
        }

    def _fail(self, message: str) -> object:
        self._errors.append(message)
        return _SKIP

    def _string(self, key: str, value: Any) -> Any:
        if value is None:
            return None if key in NULLABLE else self._fail(f"{key} must be a string")
        if not isinstance(value, str):
            return self._fail(f"{key} must be a string")
        return value.strip()

    def _location_id(self, key: str, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return self._fail("locationId must be a string")
        return value

    def _bool(self, key: str, value: Any) -> Any:
        if not isinstance(value, bool):
            return self._fail(f"{key} must be a boolean value")
        return value

    def _email(self, key: str, value: Any) -> Any:
        text = self._string(key, value)
        if text is _SKIP or not text:
            return text
        if not is_email(text):  # class-validator IsEmail -> validator.js isEmail defaults
            return self._fail("email must be an email")
        return text

    def _phone(self, key: str, value: Any) -> Any:
        text = self._string(key, value)
        if text is _SKIP or not text:
            return text
        try:
            return normalize_phone(text)
        except ValueError:
            return self._fail("phone must be a valid phone number")

    def _country(self, key: str, value: Any) -> Any:
        text = self._string(key, value)
        if text is _SKIP or text == "":
            return text  # an empty string clears the country
        if text not in COUNTRY_CODES:
            return self._fail("country must be a valid country code")
        return text

    def _dob(self, key: str, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return self._fail("dateOfBirth must be a valid date")
        try:
            return normalize_dob(value)
        except ValueError:
            return self._fail("dateOfBirth must be a valid date")

    def _tags(self, key: str, value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            return self._fail("tags must be an array of strings")
        return unique_tags(value, self.lowercase_tags)

    def _dnd_settings(self, key: str, value: Any) -> Any:
        if not isinstance(value, dict):
            return self._fail("dndSettings must be an object")
        out: dict[str, Any] = {}
        for channel, setting in value.items():
            if channel not in DND_CHANNELS:
                self._fail(f"property dndSettings.{channel} should not exist")
                continue
            checked = self._dnd_setting(f"dndSettings.{channel}", setting, DND_STATUSES)
            if checked is not _SKIP:
                out[channel] = checked
        return out

    def _inbound_dnd(self, key: str, value: Any) -> Any:
        if not isinstance(value, dict) or set(value) - {"all"}:
            return self._fail("inboundDndSettings must be an object with the key all")
        if "all" not in value:
            return {}
        checked = self._dnd_setting("inboundDndSettings.all", value["all"], ("active", "inactive"))
        return checked if checked is _SKIP else {"all": checked}

    def _dnd_setting(self, where: str, setting: Any, statuses: tuple[str, ...]) -> Any:
        if not isinstance(setting, dict):
            return self._fail(f"{where} must be an object")
        extra = set(setting) - {"status", "message", "code"}
        if extra:
            return self._fail(f"property {where}.{sorted(extra)[0]} should not exist")
        if setting.get("status") not in statuses:
            return self._fail(f"{where}.status must be one of the following values: {', '.join(statuses)}")
        wrong = [k for k in ("message", "code") if k in setting and not isinstance(setting[k], str)]
        if wrong:  # DndSettingSchema: message and code are strings
            return self._fail(f"{where}.{wrong[0]} must be a string")
        return {k: setting[k] for k in ("status", "message", "code") if k in setting}

    def _custom_fields(self, key: str, value: Any) -> Any:
        if not isinstance(value, list):
            return self._fail("customFields must be an array")
        out: dict[str, Any] = {}
        for i, item in enumerate(value):
            where = f"customFields.{i}"
            if not isinstance(item, dict):
                self._fail(f"{where} must be an object")
                continue
            extra = set(item) - {"id", "key", "field_value", "fieldValue"}
            if extra:
                self._fail(f"property {where}.{sorted(extra)[0]} should not exist")
                continue
            wrong = [k for k in ("id", "key") if k in item and not isinstance(item[k], str)]
            if wrong:
                self._fail(f"{where}.{wrong[0]} must be a string")
                continue
            field = self._find_field(item)
            if field is None:
                if self.unknown_custom_field == "reject":
                    self._fail(f"{where} refers to an unknown custom field")
                continue
            raw = item["fieldValue"] if "fieldValue" in item else item.get("field_value")
            checked = self._custom_value(where, field, raw)
            if checked is not _SKIP:
                out[field["id"]] = checked
        return out

    def _find_field(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if "id" in item:
            return self.custom_fields.get(item["id"])
        wanted = str(item.get("key", ""))
        for field in self.custom_fields.values():
            if wanted in (field["fieldKey"], field["fieldKey"].removeprefix("contact.")):
                return field
        return None

    def _custom_value(self, where: str, field: dict[str, Any], raw: Any) -> Any:
        kind = field["dataType"]
        if raw is None or raw == "" or raw == []:
            return None  # clears the field
        if kind in _NUMBER_TYPES:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                return self._fail(f"{where}.field_value must be a number")
        elif kind in _LIST_TYPES:
            raw = [raw] if isinstance(raw, str) else raw
            if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
                return self._fail(f"{where}.field_value must be an array of strings")
        elif kind in _OBJECT_TYPES:
            if not isinstance(raw, dict | list):
                return self._fail(f"{where}.field_value must be an object")
        elif not isinstance(raw, str):
            return self._fail(f"{where}.field_value must be a string")
        options = field.get("picklistOptions") or []
        if kind in _OPTION_TYPES and options:
            chosen = raw if isinstance(raw, list) else [raw]
            bad = [v for v in chosen if v not in options]
            if bad:
                return self._fail(f"{where}.field_value {bad[0]!r} is not an option of {field['fieldKey']}")
        return raw


_SKIP: Any = object()
