"""The contact fields CorporateMerch knows and the validation of the values written to them.

Field names and rules come from the vendor's "Create a contact" and "Update a contact" pages
(apis.md 3.4-3.5). Errors follow Laravel's validator, which the ``pagination`` envelope suggests
is behind the API: a 422 with ``message`` (the first error, plus "(and N more errors)") and
``errors`` mapping each field (``lists.0`` for array items) to its messages. As Laravel's default
middleware does, strings are trimmed and an empty string counts as null.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pycountry

from syncengine.sim.emails import is_address

CONTACT_TYPES = ("employee", "client")
GENDERS = ("male", "female")
SHIRT_SIZES = ("XS", "SM", "MD", "LG", "XL", "2XL", "3XL")
US_STATES = frozenset(
    {"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
     "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
     "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
     "WI", "WY", "DC"}
)  # fmt: skip
US_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP", "AA", "AE", "AP"})
CA_PROVINCES = frozenset({"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"})
COUNTRY_CODES = frozenset(c.alpha_2 for c in pycountry.countries)
MAX_STRING = 255
INT32_MAX = 2**31 - 1

# Every writable field in the order the contact object lists them (and errors are reported).
FIELDS = (
    "type", "first_name", "last_name", "email", "phone_number", "gender", "shirt_size", "birthday",
    "country", "address", "unit", "city", "state", "zip_code", "department", "position",
    "employment_type", "employment_status", "start_date", "company_name", "wedding_anniversary",
    "client_since", "classification", "address_validated", "address_forced", "address_verified",
    "lists", "labels",
)  # fmt: skip
REQUIRED = ("type", "first_name", "last_name", "email", "country", "city", "state", "zip_code")
DATE_FIELDS = frozenset({"birthday", "start_date", "wedding_anniversary", "client_since"})
BOOL_FIELDS = frozenset({"address_validated", "address_forced", "address_verified"})
ID_LIST_FIELDS = ("lists", "labels")
ENUMS = {"type": CONTACT_TYPES, "gender": GENDERS, "shirt_size": SHIRT_SIZES}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = (True, 1, "1")
_FALSE = (False, 0, "0")


class ValidationError(ValueError):
    """Laravel-style field errors; answered as a 422."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        messages = [m for ms in self.errors.values() for m in ms]
        more = len(messages) - 1
        if more <= 0:
            return messages[0] if messages else "The given data was invalid."
        return f"{messages[0]} (and {more} more error{'s' if more > 1 else ''})"

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "errors": self.errors}

    def first_field(self) -> str:
        return next(iter(self.errors), "")


class _Invalid(Exception):
    """One field failed one rule; the message is the one the API answers."""


_SKIP = object()


@dataclass(frozen=True)
class Rules:
    """The validation of one write, given the account's catalogues and switches.

    ``secondary`` is the JSON name of the secondary address line (stored as ``unit``).
    """

    lists: Collection[int] = field(default_factory=frozenset)
    labels: Collection[int] = field(default_factory=frozenset)
    secondary: str = "unit"
    us_territories: bool = False
    foreign_state_required: bool = True
    reject_unknown: bool = False

    def check(self, body: Any, *, address_required: bool) -> dict[str, Any]:
        """The normalised values of the fields ``body`` names, under their stored names.

        ``address_required``: create needs ``address``; update needs ``address`` or the secondary
        line. A body that is not a JSON object counts as empty, as Laravel reads it.
        """
        body = body if isinstance(body, dict) else {}
        unknown = [key for key in body if key not in {self._shown(name) for name in FIELDS}]
        # Under the stored names; ``unit`` itself is an unknown key when the line is ``address2``.
        given = {("unit" if k == self.secondary else k): v for k, v in body.items() if k not in unknown}
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for name in FIELDS:
            if name not in given:
                continue
            try:
                values[name] = self._value(name, given[name], values)
            except _Invalid as exc:
                errors[self._shown(name)] = [str(exc)]
        for name in FIELDS:
            shown = self._shown(name)
            if shown in errors or values.get(name) is not None or name in ID_LIST_FIELDS:
                continue
            if name in REQUIRED and (name != "state" or self._state_required(values)):
                errors[shown] = [f"The {name} field is required."]
        errors.update(self._address_errors(values, errors, address_required))
        errors.update(self._item_errors(given, values))
        if self.reject_unknown:
            errors.update({key: [f"The {key} field is prohibited."] for key in unknown})
        if errors:
            raise ValidationError(_ordered(errors, self._shown))
        return values

    # ------------------------------------------------------------------ per field

    def _shown(self, name: str) -> str:
        return self.secondary if name == "unit" else name

    def _value(self, name: str, value: Any, earlier: dict[str, Any]) -> Any:
        if name in ID_LIST_FIELDS:
            return self._ids(name, value)
        if name in BOOL_FIELDS:
            return _boolean(name, value)
        text = _text(self._shown(name), value)
        if text is None:
            return None
        checks: dict[str, Callable[[str], str]] = {"email": _email, "country": _country}
        if name in checks:
            return checks[name](text)
        if name in ENUMS and text not in ENUMS[name]:
            raise _Invalid(f"The selected {name} is invalid.")
        if name in DATE_FIELDS:
            return _date(name, text)
        if name == "state":
            return self._state(text, earlier.get("country"))
        return text

    def _state(self, text: str, country: str | None) -> str:
        us = US_STATES | US_TERRITORIES if self.us_territories else US_STATES
        codes = {"US": us, "CA": CA_PROVINCES}
        if country in codes and text not in codes[country]:
            raise _Invalid("The selected state is invalid.")
        return text

    def _state_required(self, values: dict[str, Any]) -> bool:
        return self.foreign_state_required or values.get("country") in ("US", "CA", None)

    def _ids(self, name: str, value: Any) -> Any:
        if value is None or value == "":
            return []
        if not isinstance(value, list):
            raise _Invalid(f"The {name} field must be an array.")
        ids: list[int] = []
        for item in value:
            number = _integer(item)
            if number is not None and number not in ids:
                ids.append(number)
        return ids

    def _item_errors(self, given: dict[str, Any], values: dict[str, Any]) -> dict[str, list[str]]:
        """``lists.N`` / ``labels.N``: each item an integer id of an existing list or label."""
        errors: dict[str, list[str]] = {}
        for name in ID_LIST_FIELDS:
            if name not in values or not isinstance(given[name], list):
                continue
            known = self.lists if name == "lists" else self.labels
            for index, item in enumerate(given[name]):
                number = _integer(item)
                if number is None:
                    errors[f"{name}.{index}"] = [f"The {name}.{index} field must be an integer."]
                elif number not in known:
                    errors[f"{name}.{index}"] = [f"The selected {name}.{index} is invalid."]
        return errors

    def _address_errors(
        self, values: dict[str, Any], errors: dict[str, list[str]], address_required: bool
    ) -> dict[str, list[str]]:
        if values.get("address") is not None or "address" in errors:
            return {}
        if address_required:
            return {"address": ["The address field is required."]}
        if values.get("unit") is not None or self.secondary in errors:
            return {}
        return {
            "address": [f"The address field is required when {self.secondary} is not present."],
            self.secondary: [f"The {self.secondary} field is required when address is not present."],
        }


def _ordered(errors: dict[str, list[str]], shown: Callable[[str], str]) -> dict[str, list[str]]:
    """Errors in the order of the field list (items after their array), unknown keys last."""
    rank = {shown(name): i for i, name in enumerate(FIELDS)}

    def key(item: tuple[str, list[str]]) -> tuple[int, int]:
        head, _, index = item[0].partition(".")
        # an unknown key such as "lists.²" passes str.isdigit() but not int()
        return rank.get(head, len(FIELDS)), int(index) + 1 if index.isascii() and index.isdigit() else 0

    return dict(sorted(errors.items(), key=key))


def _text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"The {name} field must be a string.")
    text = value.strip()
    if len(text) > MAX_STRING:
        raise _Invalid(f"The {name} field must not be greater than {MAX_STRING} characters.")
    return text or None


def _email(text: str) -> str:
    # Laravel's ``email`` rule (RFC syntax) has no list of special-use domains to refuse.
    if not is_address(text):
        raise _Invalid("The email field must be a valid email address.")
    return text


def _country(text: str) -> str:
    if len(text) != 2:
        raise _Invalid("The country field must be 2 characters.")
    if text != text.upper():
        raise _Invalid("The country field must be uppercase.")
    if text not in COUNTRY_CODES:
        raise _Invalid("The selected country is invalid.")
    return text


def _date(name: str, text: str) -> str:
    """Strict ``YYYY-MM-DD`` that names a real day (Laravel ``date_format:Y-m-d``)."""
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        date.fromisoformat(text)
    except ValueError as exc:
        raise _Invalid(f"The {name} field must match the format Y-m-d.") from exc
    return text


def _boolean(name: str, value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool | int | str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise _Invalid(f"The {name} field must be true or false.")


def _integer(item: Any) -> int | None:
    """An int32 id (Laravel ``integer`` also takes digit strings); None when it is not one."""
    if isinstance(item, bool):
        return None
    if isinstance(item, str) and re.fullmatch(r"-?\d+", item.strip()):
        item = int(item)
    if isinstance(item, int) and -INT32_MAX - 1 <= item <= INT32_MAX:
        return item
    return None
