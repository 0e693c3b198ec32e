"""Apollo contacts to canonical values and back; the field table is ``apollo.toml``.

Apollo keeps plain text fields, five typed phone inputs read back as ``phone_numbers[]`` entries,
list (label), stage and owner ids named through catalogues, typed custom fields keyed by field id
(picklists by option id), and the address as one free-text line, ``present_raw_address``, from
which it infers ``city``, ``state`` and ``country`` as full names.

The address is written as six canonical parts in five comma-separated slots
(``street, unit, city, region postal_code, country name``, empty slots kept), which Apollo's
inference reads and which reads back slot by slot; a line in any other shape (typed in the UI)
reads back through Apollo's inferred city, state and country. Values a write cannot keep apart
in that line (a comma in a part, a digit in a region word) are refused with ``InvalidValueError``.

``source`` and ``time_zone`` are set by Apollo and cannot be written, so the map does not hold them.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycountry

from syncengine import regions
from syncengine.canonical import (
    FIELDS,
    Canonical,
    Invalid,
    InvalidValueError,
    is_blank,
    normalize,
    normalize_record,
)
from syncengine.connectors.base import ConnectorOptions
from syncengine.fieldmaps.custom import CUSTOM_PREFIX, resolve_targets

_TABLE = tomllib.loads(Path(__file__).with_suffix(".toml").read_text(encoding="utf-8"))

SCALARS: Mapping[str, str] = _TABLE["fields"]["scalar"]  # Apollo field -> canonical field
PHONES: Mapping[str, str] = {name: spec["field"] for name, spec in _TABLE["fields"]["phone"].items()}
PHONE_TYPES: Mapping[str, str] = {spec["type"]: spec["field"] for spec in _TABLE["fields"]["phone"].values()}
NAMED: Mapping[str, Mapping[str, str]] = _TABLE["fields"]["named"]
ADDRESS: tuple[str, ...] = tuple(_TABLE["address"]["fields"])
ADDRESS_LINE = "present_raw_address"
CATALOGUE_OF = {spec["field"]: spec["catalogue"] for spec in NAMED.values()}  # tags -> labels
WRITE_NAME = {spec["field"]: spec["write"] for spec in NAMED.values()}  # tags -> label_names
INPUT_NAME = {target: name for name, target in (*SCALARS.items(), *PHONES.items())}
BASE_FIELDS: frozenset[str] = frozenset({*INPUT_NAME, *ADDRESS, *WRITE_NAME})
# Not a create/update field: owners are set through their own endpoint, so the caller moves it.
OWNER_INPUT = WRITE_NAME["owner"]

_SLOTS = 5
_HEX24 = re.compile(r"^[0-9a-f]{24}$")


@dataclass(frozen=True)
class CustomField:
    """One typed custom field of the contact modality; ``options``: picklist option id -> name."""

    id: str
    name: str
    type: str = "string"
    options: Mapping[str, str] = field(default_factory=dict)
    max_length: int | None = None  # ``text_field_max_length``: Apollo refuses longer text


@dataclass(frozen=True)
class ApolloCatalogue:
    """Lists (labels), stages and users (id -> name each) and the contact custom fields."""

    labels: Mapping[str, str] = field(default_factory=dict)
    stages: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)
    custom_fields: tuple[CustomField, ...] = ()

    def entries(self, kind: str) -> Mapping[str, str]:
        return {"labels": self.labels, "stages": self.stages, "users": self.users}[kind]

    def id_of(self, kind: str, name: str) -> str | None:
        """The id named ``name`` (case-insensitive), or ``name`` itself when it is a known id."""
        entries = self.entries(kind)
        if name in entries:
            return name
        wanted = name.casefold()
        return next((i for i, n in sorted(entries.items()) if n.casefold() == wanted), None)


class ApolloMap:
    """Field map of one Apollo team (its catalogues and the user's options).

    Without a catalogue the map holds no custom fields and cannot name list, stage or owner ids.
    """

    system = "apollo"

    def __init__(
        self, catalogue: ApolloCatalogue | None = None, options: ConnectorOptions | None = None
    ) -> None:
        self.catalogue = catalogue or ApolloCatalogue()
        self.options = options or ConnectorOptions()
        self.custom: dict[str, CustomField] = {f.id: f for f in self.catalogue.custom_fields}
        # Overrides can only be checked against a loaded catalogue of custom fields.
        overrides = self.options.custom_fields if catalogue is not None else {}
        self.targets: dict[str, str] = resolve_targets(
            ((f.id, [f.name]) for f in self.catalogue.custom_fields), FIELDS, overrides
        )  # custom field id -> canonical target
        self.field_of: dict[str, str] = {target: fid for fid, target in self.targets.items()}
        held = {t for t in self.targets.values() if not t.startswith(CUSTOM_PREFIX)}
        if any(t.startswith(CUSTOM_PREFIX) for t in self.targets.values()):
            held.add("custom")
        self.fields: frozenset[str] = BASE_FIELDS | held

    def with_catalogue(self, catalogue: ApolloCatalogue) -> ApolloMap:
        return ApolloMap(catalogue, self.options)

    def canonical_name(self, apollo_field: str) -> str:
        """The canonical field an Apollo input or read field holds, else the Apollo name itself."""
        if apollo_field in SCALARS:
            return SCALARS[apollo_field]
        if apollo_field in PHONES:
            return PHONES[apollo_field]
        if apollo_field == ADDRESS_LINE:
            return "street"
        if apollo_field in ("city", "state", "country"):
            return "region" if apollo_field == "state" else apollo_field
        for name, spec in NAMED.items():
            if apollo_field in (name, spec["write"]):
                return spec["field"]
        target = self.targets.get(apollo_field)
        if target is not None:
            return "custom" if target.startswith(CUSTOM_PREFIX) else target
        return apollo_field

    # ------------------------------------------------------------------ read side

    def to_canonical(self, raw: Mapping[str, Any]) -> Canonical:
        """Canonical values of a contact in the GET shape; ids no catalogue names are flagged."""
        values: dict[str, Any] = {}
        flagged: dict[str, Invalid] = {}
        for name, target in SCALARS.items():
            if not is_blank(raw.get(name)):
                values[target] = raw[name]
        values.update(read_phones(raw.get("phone_numbers")))
        values.update(read_address(raw))
        if disagreement := country_disagreement(raw):
            flagged["country"] = Invalid("country", raw.get("country"), disagreement)
        for name, spec in NAMED.items():
            self._read_named(raw.get(name), spec, values, flagged)
        self._read_custom(raw.get("typed_custom_fields"), values, flagged)
        canonical = normalize_record(values, default_region=self.options.default_region)
        if not flagged:
            return canonical
        return dataclasses.replace(canonical, invalid={**canonical.invalid, **flagged})

    def _read_named(
        self, value: Any, spec: Mapping[str, str], values: dict[str, Any], flagged: dict[str, Invalid]
    ) -> None:
        kind, target = spec["catalogue"], spec["field"]
        if is_blank(value):
            return
        entries = self.catalogue.entries(kind)
        ids = value if isinstance(value, list) else [value]
        names = [entries[i] for i in ids if i in entries]
        unknown = [i for i in ids if i not in entries]
        if target == "owner" and unknown:  # without the (master-key) user list an owner is its id
            names, unknown = [str(i) for i in ids], []
        if names:
            values[target] = names if isinstance(value, list) else names[0]
        if unknown:
            reason = f"{kind} id(s) {', '.join(map(str, unknown))} not in the {kind} catalogue"
            flagged[target] = Invalid(target, unknown, reason)

    def _read_custom(self, raw: Any, values: dict[str, Any], flagged: dict[str, Invalid]) -> None:
        if not isinstance(raw, Mapping):
            return
        custom: dict[str, Any] = {}
        for field_id, value in raw.items():
            target = self.targets.get(field_id)
            if target is None or is_blank(value):
                continue
            spec = self.custom[field_id]
            if spec.options:
                if value not in spec.options:
                    name = "custom" if target.startswith(CUSTOM_PREFIX) else target
                    reason = f"picklist option {value} of {spec.name!r} is unknown"
                    flagged[name] = Invalid(name, value, reason)
                    continue
                value = spec.options[value]
            elif spec.type == "date" and (not_a_date := _not_a_date(value)):
                # Apollo keeps whatever text a date field is given; a value that is no date is
                # reported (and kept here) instead of being copied into other systems' date fields.
                name = "custom" if target.startswith(CUSTOM_PREFIX) else target
                flagged[name] = Invalid(name, value, f"{spec.name!r} is a date field: {not_a_date}")
                continue
            if target.startswith(CUSTOM_PREFIX):
                custom[target.removeprefix(CUSTOM_PREFIX)] = value
            else:
                values[target] = value
        if custom:
            values["custom"] = custom

    # ------------------------------------------------------------------ write side

    def create_body(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The ``POST /contacts`` body for canonical ``values`` (blank values left out).

        ``owner_id`` is in the body when an owner is given; Apollo sets owners through
        ``update_owners`` (or a bulk create's batch-level ``owner_id``), so the caller moves it.
        """
        body = self._convert({k: v for k, v in values.items() if not is_blank(v)})
        custom = {k: v for k, v in body.pop("typed_custom_fields", {}).items() if v != ""}
        if custom:
            body["typed_custom_fields"] = custom
        return body

    def update_body(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Apollo fields for the canonical fields that change (None clears one, as ``""``).

        Address parts not in ``values`` are written blank: the caller passes all six when one
        changes, since ``present_raw_address`` is replaced whole.
        """
        return self._convert(values)

    def _convert(self, values: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        country = values.get("country")
        address: dict[str, Any] = {}
        custom: dict[str, str] = {}
        for target, raw in values.items():
            if target not in self.fields:
                raise InvalidValueError(target, raw, "Apollo has no field for it")
            region = self.options.default_region
            value = None if is_blank(raw) else normalize(target, raw, country=country, default_region=region)
            if target in ADDRESS:
                address[target] = value
            elif target == "custom":
                custom.update(self._custom_values(value))
            elif target in self.field_of:
                custom[self.field_of[target]] = self._custom_value(self.field_of[target], target, value)
            elif target in WRITE_NAME:
                body[WRITE_NAME[target]] = self._named_value(target, value)
            else:
                body[INPUT_NAME[target]] = "" if value is None else value
        if address:
            body[ADDRESS_LINE] = compose_address(address)
        if custom:
            body["typed_custom_fields"] = custom
        return body

    def _named_value(self, target: str, value: Any) -> Any:
        kind = CATALOGUE_OF[target]
        if target == "tags":  # lists are written by name; Apollo creates the missing ones
            return [] if value is None else list(value)
        if value is None:
            return ""
        found = self.catalogue.id_of(kind, value)
        if found is None and target == "owner" and _HEX24.match(value):
            return value  # an owner read as a bare id (no user list) is written back as that id
        if found is None:
            known = ", ".join(sorted(self.catalogue.entries(kind).values())) or "none"
            raise InvalidValueError(target, value, f"no Apollo {kind[:-1]} named {value!r} (known: {known})")
        return found

    def _custom_values(self, value: Any) -> dict[str, str]:
        body: dict[str, str] = {}
        for key, item in (value or {}).items():
            field_id = self.field_of.get(CUSTOM_PREFIX + key)
            if field_id is None:
                raise InvalidValueError("custom", {key: item}, f"Apollo has no custom field for custom.{key}")
            body[field_id] = self._custom_value(field_id, "custom", item)
        for target, field_id in self.field_of.items():  # keys left out of the mapping are cleared
            if target.startswith(CUSTOM_PREFIX) and field_id not in body:
                body[field_id] = ""
        return body

    def _custom_value(self, field_id: str, target: str, value: Any) -> str:
        if is_blank(value):
            return ""
        spec = self.custom[field_id]
        if not spec.options:
            text = str(value)
            if spec.max_length and len(text) > spec.max_length:
                reason = f"longer than the {spec.max_length} characters Apollo's {spec.name!r} takes"
                raise InvalidValueError(target, value, reason)
            return text
        for option_id, name in spec.options.items():
            if _same_option(target, name, value):
                return option_id
        choices = ", ".join(spec.options.values())
        raise InvalidValueError(
            target, value, f"not an option of Apollo's {spec.name!r} picklist ({choices})"
        )


def _not_a_date(value: Any) -> str | None:
    """Why ``value`` is not a date (None when it is one)."""
    try:
        normalize("date_of_birth", value)  # any date-kind canonical field reads dates the same way
    except InvalidValueError as exc:
        return exc.reason
    return None


def _same_option(target: str, option: str, value: Any) -> bool:
    if FIELDS.get(target) is not None and FIELDS[target].choices:
        try:
            return bool(normalize(target, option) == value)
        except InvalidValueError:
            return False
    return option.casefold() == str(value).casefold()


# --------------------------------------------------------------------------- phones


def read_phones(numbers: Any) -> dict[str, str]:
    """Canonical phone fields from ``phone_numbers[]``: the first number of each known type."""
    found: dict[str, str] = {}
    if not isinstance(numbers, list):
        return found
    ordered = sorted((n for n in numbers if isinstance(n, Mapping)), key=lambda n: n.get("position") or 0)
    for number in ordered:
        target = PHONE_TYPES.get(str(number.get("type")))
        value = number.get("sanitized_number") or number.get("raw_number")
        if target is not None and target not in found and value is not None and not is_blank(value):
            found[target] = value
    return found


# --------------------------------------------------------------------------- address


def compose_address(parts: Mapping[str, Any]) -> str:
    """``present_raw_address`` for canonical address parts ("" when all are blank)."""
    for name, value in parts.items():
        if isinstance(value, str) and "," in value:
            reason = "Apollo keeps the address as one comma-separated line; a part cannot hold a comma"
            raise InvalidValueError(name, value, reason)
    region, postal = parts.get("region"), parts.get("postal_code")
    if region and any(_has_digit(w) for w in region.split()):
        reason = "Apollo reads a word with a digit after the city as the start of a postal code"
        raise InvalidValueError("region", region, reason)
    if postal and not _has_digit(postal.split()[0]):
        reason = "Apollo reads a postal code only when its first word holds a digit"
        raise InvalidValueError("postal_code", postal, reason)
    if all(is_blank(v) for v in parts.values()):
        return ""
    country = parts.get("country")
    if country and "," in country_name(country):
        name = country_name(country)
        reason = f"Apollo's name for {country} ({name}) holds a comma, which its one-line address cannot hold"
        raise InvalidValueError("country", country, reason)
    slots = [
        parts.get("street") or "",
        parts.get("unit") or "",
        parts.get("city") or "",
        " ".join(p for p in (region, postal) if p),
        country_name(country) if country else "",
    ]
    return ", ".join(slots)


def read_address(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Raw canonical address parts of a contact (see the module docstring)."""
    line = raw.get(ADDRESS_LINE)
    slots = [s.strip() for s in line.split(",")] if isinstance(line, str) else []
    parts: dict[str, Any]
    if len(slots) == _SLOTS and (not slots[4] or regions.country_code(slots[4])):
        street, unit, city, region_postal, country = slots
        words = region_postal.split()
        cut = next((i for i, w in enumerate(words) if _has_digit(w)), len(words))
        parts = {
            "street": street,
            "unit": unit,
            "city": city,
            "region": " ".join(words[:cut]),
            "postal_code": " ".join(words[cut:]),
            "country": country,
        }
    else:
        parts = {"city": raw.get("city"), "region": raw.get("state"), "country": raw.get("country")}
    return {k: v for k, v in parts.items() if not is_blank(v)}


def country_disagreement(raw: Mapping[str, Any]) -> str | None:
    """Why Apollo's ``country`` field is not read: it names another country than the address line.

    Apollo derives ``country`` from ``present_raw_address`` (the only location a write can set), so
    the line is what the record holds; a ``country`` edited on its own is reported, not copied.
    """
    line, edited = raw.get(ADDRESS_LINE), raw.get("country")
    if not isinstance(line, str) or not isinstance(edited, str) or is_blank(edited):
        return None
    slots = [s.strip() for s in line.split(",")]
    if len(slots) != _SLOTS or not slots[4]:
        return None
    in_line, in_field = regions.country_code(slots[4]), regions.country_code(edited)
    if in_line is None or in_field is None or in_line == in_field:
        return None
    return (
        f"Apollo's country field says {edited!r} but its address line (present_raw_address) says "
        f"{slots[4]!r}; Apollo derives the country from the address line, so the field is not copied "
        "(edit the address in Apollo)"
    )


def country_name(code: str) -> str:
    """The English name Apollo shows for a country code (the code itself for codes ISO lacks)."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    return name if regions.country_code(name) == code else code


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)
