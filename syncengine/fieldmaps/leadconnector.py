"""LeadConnector contacts to canonical values and back; the field table is ``leadconnector.toml``.

LeadConnector stores flat scalar fields, ``tags`` as plain strings and ``customFields`` as an array
read as ``{id, value}`` and written as ``{id, field_value}``. Which canonical target each custom
field feeds comes from the location's custom-field catalogue (``fieldmaps.custom``): a field keyed
``contact.shirt_size`` is the canonical ``shirt_size``, ``contact.client_since`` becomes
``custom.client_since``.

The write side sends only whitelisted keys (the PUT whitelist is strict: any other key is a 422)
and refuses, with an ``InvalidValueError`` naming the canonical field, a value LeadConnector
cannot hold: a country outside its list, a choice that is not one of a picklist's options, text
for a number field.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycountry

from syncengine.canonical import FIELDS, Canonical, InvalidValueError, is_blank, normalize, normalize_record
from syncengine.connectors.base import ConnectorOptions
from syncengine.fieldmaps.custom import CUSTOM_PREFIX, resolve_targets

_TABLE = tomllib.loads(Path(__file__).with_suffix(".toml").read_text(encoding="utf-8"))

SCALARS: Mapping[str, str] = _TABLE["fields"]["scalar"]  # LeadConnector field -> canonical field
SETS: Mapping[str, str] = _TABLE["fields"]["set"]  # string-array field -> canonical set field
NULLABLE = frozenset(_TABLE["rules"]["nullable"])
UPDATE_WHITELIST = frozenset(_TABLE["rules"]["update_whitelist"])
COUNTRY_CODES = frozenset(
    {c.alpha_2 for c in pycountry.countries} | set(_TABLE["rules"]["countries"]["added"])
) - set(_TABLE["rules"]["countries"]["missing"])
TEXT_TYPES = frozenset(_TABLE["custom_fields"]["text"])
NUMBER_TYPES = frozenset(_TABLE["custom_fields"]["number"])
MULTIPLE_TYPES = frozenset(_TABLE["custom_fields"]["multiple"])
OPTION_TYPES = frozenset(_TABLE["custom_fields"]["options"])
SYNCED_TYPES = TEXT_TYPES | NUMBER_TYPES | MULTIPLE_TYPES
CUSTOM_FIELDS = "customFields"

_INTEGER = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class CustomField:
    """One entry of ``GET /locations/{locationId}/customFields``."""

    id: str
    name: str
    key: str  # ``fieldKey``, e.g. ``contact.shirt_size``
    data_type: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadConnectorCatalogue:
    """The location's contact custom fields that hold values the engine can sync, by id."""

    custom_fields: Mapping[str, CustomField] = field(default_factory=dict)

    @classmethod
    def from_json(cls, items: Iterable[Any]) -> LeadConnectorCatalogue:
        """From the ``customFields`` answer; other models and object-valued types are left out."""
        fields: dict[str, CustomField] = {}
        for item in items:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                continue
            if item.get("model", "contact") != "contact" or item.get("dataType") not in SYNCED_TYPES:
                continue
            options = item.get("picklistOptions") or []
            fields[item["id"]] = CustomField(
                id=item["id"],
                name=str(item.get("name") or ""),
                key=str(item.get("fieldKey") or ""),
                data_type=item["dataType"],
                options=tuple(o for o in options if isinstance(o, str)),
            )
        return cls(fields)


class LeadConnectorMap:
    """Field map of one LeadConnector location (its custom-field catalogue and the user's options)."""

    system = "leadconnector"

    def __init__(
        self, catalogue: LeadConnectorCatalogue | None = None, options: ConnectorOptions | None = None
    ) -> None:
        self.catalogue = catalogue or LeadConnectorCatalogue()
        self.options = options or ConnectorOptions()
        self.targets: dict[str, str] = {target: name for name, target in {**SCALARS, **SETS}.items()}
        self.custom: dict[str, str] = self._custom_targets()  # custom field id -> canonical target
        self.custom_by_target: dict[str, CustomField] = {
            target: self.catalogue.custom_fields[field_id] for field_id, target in self.custom.items()
        }
        self.fields: frozenset[str] = frozenset(self.targets) | frozenset(
            "custom" if t.startswith(CUSTOM_PREFIX) else t for t in self.custom.values()
        )

    def _custom_targets(self) -> dict[str, str]:
        """Custom field id -> target; a field named like a native one feeds ``custom.<key>`` instead,
        unless the user mapped it there explicitly."""
        fields = self.catalogue.custom_fields.values()
        overrides = self.options.custom_fields
        if overrides and not fields:
            return {}  # the catalogue is not loaded yet: overrides are checked once it is
        resolved = resolve_targets(((f.id, (f.key, f.name)) for f in fields), FIELDS, overrides)
        chosen = set(overrides)
        return {
            field_id: CUSTOM_PREFIX + target if target in self.targets and target not in chosen else target
            for field_id, target in resolved.items()
        }

    def with_catalogue(self, catalogue: LeadConnectorCatalogue) -> LeadConnectorMap:
        return LeadConnectorMap(catalogue, self.options)

    def canonical_name(self, lc_field: str) -> str:
        """The canonical field a LeadConnector field holds (``customFields`` -> ``custom``), else its name."""
        head = lc_field.split(".", 1)[0]
        if head == CUSTOM_FIELDS:
            return "custom"
        return SCALARS.get(head) or SETS.get(head) or head

    def custom_target(self, field_id: str) -> str | None:
        """The canonical field a custom field feeds (``custom`` for every ``custom.<key>``)."""
        target = self.custom.get(field_id)
        if target is None:
            return None
        return "custom" if target.startswith(CUSTOM_PREFIX) else target

    # ------------------------------------------------------------------ read side

    def to_canonical(self, raw: Mapping[str, Any]) -> Canonical:
        """Canonical values of a contact in the read shape; custom fields not in the catalogue are
        not synced and left out."""
        values: dict[str, Any] = {}
        for name, target in {**SCALARS, **SETS}.items():
            if not is_blank(raw.get(name)):
                values[target] = raw[name]
        custom: dict[str, Any] = {}
        for item in raw.get(CUSTOM_FIELDS) or []:
            field_id = item.get("id") if isinstance(item, Mapping) else None
            custom_target = self.custom.get(field_id) if isinstance(field_id, str) else None
            if custom_target is None or is_blank(item.get("value")):
                continue
            value = _read_custom(item["value"])
            if custom_target.startswith(CUSTOM_PREFIX):
                custom[custom_target.removeprefix(CUSTOM_PREFIX)] = value
            else:
                values[custom_target] = value
        if custom:
            values["custom"] = custom
        return normalize_record(values, default_region=self.options.default_region)

    # ------------------------------------------------------------------ write side

    def create_body(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The ``POST /contacts/`` body for canonical ``values``, less ``locationId``.

        Blank values are left out, and so are fields this location cannot hold: a new record is
        made of what LeadConnector keeps (an update naming such a field is refused instead).
        """
        held = {k: v for k, v in values.items() if k in self.fields}
        if isinstance(held.get("custom"), Mapping):
            held["custom"] = {
                k: v for k, v in held["custom"].items() if CUSTOM_PREFIX + str(k) in self.custom_by_target
            }
        body = self._convert(held, clearing=False)
        items = [i for i in body.get(CUSTOM_FIELDS, []) if i["field_value"] is not None]
        body = {k: v for k, v in body.items() if k != CUSTOM_FIELDS and not is_blank(v)}
        if items:
            body[CUSTOM_FIELDS] = items
        return body

    def update_body(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The ``PUT /contacts/{id}`` body for the canonical fields that change (None clears one)."""
        body = self._convert(values, clearing=True)
        refused = sorted(set(body) - UPDATE_WHITELIST)
        if refused:  # a table error, not a value error: never send what the API refuses
            raise AssertionError(f"not in the LeadConnector PUT whitelist: {', '.join(refused)}")
        return body

    def _convert(self, values: Mapping[str, Any], *, clearing: bool) -> dict[str, Any]:
        body: dict[str, Any] = {}
        items: dict[str, dict[str, Any]] = {}
        for target, value in values.items():
            if target == "custom":
                items.update(self._custom_map(value))
            elif target in self.custom_by_target:
                custom_field = self.custom_by_target[target]
                items[custom_field.id] = _custom_item(custom_field, value, target)
            elif target in self.targets:
                name = self.targets[target]
                body[name] = _native_value(name, value, target, clearing=clearing)
            else:
                raise InvalidValueError(target, value, "LeadConnector has no field for it")
        if items:
            body[CUSTOM_FIELDS] = list(items.values())
        return body

    def _custom_map(self, value: Any) -> dict[str, dict[str, Any]]:
        """``customFields`` items for the whole ``custom`` map: keys left out of it are cleared."""
        if is_blank(value):
            value = {}
        if not isinstance(value, Mapping):
            raise InvalidValueError("custom", value, "must be a mapping of custom keys to text")
        items: dict[str, dict[str, Any]] = {}
        for key, item in value.items():
            custom_field = self.custom_by_target.get(CUSTOM_PREFIX + str(key))
            if custom_field is None:
                raise InvalidValueError(
                    "custom", {key: item}, f"LeadConnector has no custom field for custom.{key}"
                )
            items[custom_field.id] = _custom_item(custom_field, item, "custom")
        for target, custom_field in self.custom_by_target.items():
            if target.startswith(CUSTOM_PREFIX) and custom_field.id not in items:
                items[custom_field.id] = {"id": custom_field.id, "field_value": None}
        return items


def _native_value(name: str, value: Any, target: str, *, clearing: bool) -> Any:
    if name in SETS:
        if is_blank(value):
            return []
        if not isinstance(value, list | tuple | set | frozenset) or not all(
            isinstance(v, str) for v in value
        ):
            raise InvalidValueError(target, value, f"LeadConnector {name} takes a list of text")
        return sorted(value, key=lambda v: (v.casefold(), v))
    if is_blank(value):
        return None if name in NULLABLE or not clearing else ""
    if not isinstance(value, str):
        raise InvalidValueError(target, value, f"LeadConnector {name} takes text")
    if name == "country" and value not in COUNTRY_CODES:
        raise InvalidValueError(target, value, f"{value!r} is not in LeadConnector's country list")
    return value


def _read_custom(value: Any) -> Any:
    """A custom field's stored value as canonical text input (lists joined, numbers as digits)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if not is_blank(v))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _custom_item(custom_field: CustomField, value: Any, target: str) -> dict[str, Any]:
    """The ``{id, field_value}`` write item of one custom field (None clears it)."""
    item: dict[str, Any] = {"id": custom_field.id, "field_value": None}
    if is_blank(value):
        return item
    where = f"LeadConnector custom field {custom_field.name or custom_field.key!r}"
    if not isinstance(value, str):
        raise InvalidValueError(target, value, f"{where} takes text")
    kind = custom_field.data_type
    if kind in NUMBER_TYPES:
        item["field_value"] = _number(value, target, where)
        return item
    chosen = [m.strip() for m in value.split(",") if m.strip()] if kind in MULTIPLE_TYPES else [value]
    if kind in OPTION_TYPES and custom_field.options:
        chosen = [_option(custom_field, member, target, where) for member in chosen]
    item["field_value"] = chosen if kind in MULTIPLE_TYPES else chosen[0]
    return item


def _number(text: str, target: str, where: str) -> int | float:
    """A number that reads back as the same text (so the value round-trips)."""
    if _INTEGER.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        raise InvalidValueError(target, text, f"{where} takes a number") from None
    if repr(number) != text:
        raise InvalidValueError(target, text, f"{where} takes a number written like {number!r}")
    return number


def _option(custom_field: CustomField, member: str, target: str, where: str) -> str:
    """The picklist option ``member`` names (for a canonical enum, the option it normalises to)."""
    for option in custom_field.options:
        if option.casefold() == member.casefold():
            return option
    if target in FIELDS and target != "custom":
        for option in custom_field.options:
            try:
                if normalize(target, option) == member:
                    return option
            except InvalidValueError:
                continue
    raise InvalidValueError(
        target, member, f"{member!r} is not an option of {where} ({', '.join(custom_field.options)})"
    )
