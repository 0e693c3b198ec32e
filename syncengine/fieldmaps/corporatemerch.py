"""CorporateMerch contacts to canonical values and back; the field table is ``corporatemerch.toml``.

CorporateMerch stores flat scalar fields, membership arrays of int ids (``labels`` -> ``tags``,
``lists`` -> ``lists``) named through the ``GET /labels`` and ``GET /lists`` catalogues, and a few
fields the engine does not sync (``kept``), which a whole-record write must carry over.

The write side checks every value against the vendor's rules before anything is sent, so a value
CorporateMerch would refuse becomes an ``InvalidValueError`` naming the canonical field (or the
CorporateMerch field, for one the engine does not sync).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pycountry

from syncengine.canonical import Canonical, Invalid, InvalidValueError, is_blank, normalize_record
from syncengine.connectors.base import ConnectorOptions
from syncengine.fieldmaps.custom import custom_key

_TABLE = tomllib.loads(Path(__file__).with_suffix(".toml").read_text(encoding="utf-8"))

SCALARS: Mapping[str, str] = _TABLE["fields"]["scalar"]  # CorporateMerch field -> canonical field
SETS: Mapping[str, str] = _TABLE["fields"]["set"]  # id-array field (and its catalogue) -> canonical set
KEPT: tuple[str, ...] = tuple(_TABLE["fields"]["kept"])
REQUIRED: tuple[str, ...] = tuple(_TABLE["rules"]["required"])
ADDRESS_LINES: tuple[str, ...] = tuple(_TABLE["rules"]["address_lines"])
DATES = frozenset(_TABLE["rules"]["dates"])
MAX_LENGTH: int = _TABLE["rules"]["max_length"]
CHOICES: Mapping[str, tuple[str, ...]] = {k: tuple(v) for k, v in _TABLE["rules"]["choices"].items()}
# Every field a write sends, in the order the contact object lists them.
BODY_FIELDS: tuple[str, ...] = (*SCALARS, *KEPT, *SETS)
SECONDARY_LINE_NAMES = ("unit", "address2")  # the vendor pages name the secondary line both ways

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _state_codes() -> dict[str, frozenset[str]]:
    codes = {}
    for country, kinds in _TABLE["rules"]["state_codes"].items():
        subdivisions = pycountry.subdivisions.get(country_code=country) or []
        codes[country] = frozenset(s.code.split("-", 1)[1] for s in subdivisions if s.type in kinds)
    return codes


STATE_CODES: Mapping[str, frozenset[str]] = _state_codes()
COUNTRY_CODES = frozenset(c.alpha_2 for c in pycountry.countries)


@dataclass(frozen=True)
class CorporateMerchCatalogue:
    """The ``labels`` and ``lists`` catalogues: id -> name each."""

    labels: Mapping[int, str] = field(default_factory=dict)
    lists: Mapping[int, str] = field(default_factory=dict)

    def entries(self, kind: str) -> Mapping[int, str]:
        return self.labels if kind == "labels" else self.lists

    def names(self, kind: str, ids: Iterable[Any]) -> tuple[list[str], list[Any]]:
        """The names of ``ids`` and the ids the catalogue does not know."""
        entries = self.entries(kind)
        names: list[str] = []
        unknown: list[Any] = []
        for item in ids:
            number = _as_int(item)
            if number is not None and number in entries:
                names.append(entries[number])
            else:
                unknown.append(item)
        return names, unknown

    def id_of(self, kind: str, name: str) -> int | None:
        """The id named ``name`` (case-insensitive; the lowest id when names repeat)."""
        wanted = name.casefold()
        return next((i for i, n in sorted(self.entries(kind).items()) if n.casefold() == wanted), None)


def _as_int(item: Any) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return item
    if isinstance(item, str) and item.strip().isdigit():
        return int(item)
    return None


class CorporateMerchMap:
    """Field map of one CorporateMerch account (its catalogues and the user's options)."""

    system = "corporatemerch"

    def __init__(
        self, catalogue: CorporateMerchCatalogue | None = None, options: ConnectorOptions | None = None
    ) -> None:
        self.catalogue = catalogue or CorporateMerchCatalogue()
        self.options = options or ConnectorOptions()
        self.scalars: dict[str, str] = dict(SCALARS)
        self.kept: tuple[str, ...] = KEPT
        self._apply_overrides(self.options.custom_fields)
        self.targets: dict[str, str] = {target: name for name, target in {**self.scalars, **SETS}.items()}
        self.fields: frozenset[str] = frozenset(
            "custom" if t.startswith("custom.") else t for t in self.targets
        )

    def _apply_overrides(self, overrides: Mapping[str, str]) -> None:
        """A user may map a canonical target onto a field the engine does not sync by default."""
        for target, name in overrides.items():
            key = custom_key(name)
            if key not in self.kept or key.startswith("address_"):
                raise ValueError(
                    f"corporatemerch has no field {name!r} to hold {target!r}; "
                    f"it can map: {', '.join(k for k in KEPT if not k.startswith('address_'))}"
                )
            for other, other_target in list(self.scalars.items()):
                if other_target == target:  # the native field gives the target up and is kept as is
                    del self.scalars[other]
                    self.kept = (*self.kept, other)
            self.scalars[key] = target
            self.kept = tuple(k for k in self.kept if k != key)

    def with_catalogue(self, catalogue: CorporateMerchCatalogue) -> CorporateMerchMap:
        return CorporateMerchMap(catalogue, self.options)

    def canonical_name(self, cm_field: str) -> str:
        """The canonical field a CorporateMerch field holds (``lists.0`` -> ``lists``), else its own name."""
        head = cm_field.split(".", 1)[0]
        head = "unit" if head in SECONDARY_LINE_NAMES else head
        target = self.scalars.get(head) or SETS.get(head) or head
        return "custom" if target.startswith("custom.") else target

    # ------------------------------------------------------------------ read side

    def to_canonical(self, raw: Mapping[str, Any]) -> Canonical:
        """Canonical values of a contact in the read shape; unknown label/list ids are flagged."""
        values: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for name, target in self.scalars.items():
            value = secondary_line(raw) if name == "unit" else raw.get(name)
            if is_blank(value):
                continue
            if target.startswith("custom."):
                custom[target.removeprefix("custom.")] = value
            else:
                values[target] = value
        if custom:
            values["custom"] = custom
        unknown: dict[str, Invalid] = {}
        for name, target in SETS.items():
            ids = raw.get(name) or []
            names, missing = self.catalogue.names(name, ids if isinstance(ids, list) else [ids])
            if names:
                values[target] = names
            if missing:
                reason = f"{name} id(s) {', '.join(map(str, missing))} not in the {name} catalogue"
                unknown[target] = Invalid(target, missing, reason)
        canonical = normalize_record(values, default_region=self.options.default_region)
        if not unknown:
            return canonical
        return dataclasses.replace(canonical, invalid={**canonical.invalid, **unknown})

    # ------------------------------------------------------------------ write side

    def create_body(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The ``POST /contacts`` body for canonical ``values`` (blank values are left out)."""
        body = {k: v for k, v in self._convert(values).items() if not is_blank(v)}
        _check_state(body, self.canonical_name)
        return body

    def update_body(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """CorporateMerch fields for the canonical fields that change (None clears one)."""
        body = self._convert(values)
        for name, value in body.items():
            if name in REQUIRED and is_blank(value):
                field_name = self.canonical_name(name)
                raise InvalidValueError(
                    field_name, value, f"CorporateMerch requires {name}; it cannot be cleared"
                )
        _check_state(body, self.canonical_name)
        return body

    def set_ids(self, kind: str, names: Iterable[str]) -> list[int]:
        """Catalogue ids for member names of ``labels`` or ``lists``; unknown names refused."""
        ids: list[int] = []
        for name in names:
            number = self.catalogue.id_of(kind, name)
            if number is None:
                known = ", ".join(sorted(self.catalogue.entries(kind).values())) or "none"
                raise InvalidValueError(
                    SETS[kind], name, f"no CorporateMerch {kind[:-1]} named {name!r} (known: {known})",
                    member=name,
                )
            if number not in ids:
                ids.append(number)
        return ids

    def _convert(self, values: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for target, value in values.items():
            if target == "custom":
                body.update(self._custom(value))
                continue
            name = self.targets.get(target)
            if name is None:
                raise InvalidValueError(target, value, "CorporateMerch has no field for it")
            if name in SETS:
                body[name] = self.set_ids(name, [] if is_blank(value) else value)
            else:
                body[name] = None if is_blank(value) else check_value(name, value, target)
        return body

    def _custom(self, value: Any) -> dict[str, Any]:
        if is_blank(value):
            value = {}
        if not isinstance(value, Mapping):
            raise InvalidValueError("custom", value, "must be a mapping of custom keys to text")
        body: dict[str, Any] = {}
        for key, item in value.items():
            name = self.targets.get(f"custom.{key}")
            if name is None:
                raise InvalidValueError(
                    "custom", {key: item}, f"CorporateMerch has no field for custom.{key}"
                )
            body[name] = None if is_blank(item) else check_value(name, item, "custom")
        for target, name in self.targets.items():  # keys left out of the mapping are cleared
            if target.startswith("custom.") and name not in body:
                body[name] = None
        return body


def secondary_line(raw: Mapping[str, Any]) -> Any:
    """The secondary address line, whichever name the account uses for it."""
    return next((raw[n] for n in SECONDARY_LINE_NAMES if raw.get(n) is not None), None)


def check_value(name: str, value: Any, field_name: str) -> Any:
    """``value`` as CorporateMerch field ``name`` accepts it; else InvalidValueError on ``field_name``."""
    if isinstance(value, bool) or name in SETS:
        return value
    if isinstance(value, date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise InvalidValueError(field_name, value, f"CorporateMerch {name} takes text")
    if len(value) > MAX_LENGTH:
        raise InvalidValueError(field_name, value, f"longer than CorporateMerch's {MAX_LENGTH} characters")
    if name in CHOICES and value not in CHOICES[name]:
        raise InvalidValueError(
            field_name, value, f"CorporateMerch {name} must be one of {', '.join(CHOICES[name])}"
        )
    if name == "country" and value not in COUNTRY_CODES:
        raise InvalidValueError(
            field_name, value, "CorporateMerch country must be an uppercase ISO alpha-2 code"
        )
    if name in DATES and not _is_date(value):
        raise InvalidValueError(field_name, value, f"CorporateMerch {name} must be a date as YYYY-MM-DD")
    return value


def _is_date(text: str) -> bool:
    try:
        return bool(_DATE.match(text)) and bool(date.fromisoformat(text))
    except ValueError:
        return False


def _check_state(body: Mapping[str, Any], canonical_name: Any) -> None:
    """``state`` must be a state/province code when ``country`` is US or CA (both in ``body``)."""
    country, state = body.get("country"), body.get("state")
    codes = STATE_CODES.get(country) if isinstance(country, str) else None
    if codes is not None and isinstance(state, str) and state not in codes:
        raise InvalidValueError(
            canonical_name("state"), state, f"{state!r} is not a {country} state code CorporateMerch accepts"
        )


def check_body(body: Mapping[str, Any], field_map: CorporateMerchMap, *, create: bool) -> None:
    """The whole-record rules of a write: required fields, an address line, every value's format."""
    name_of = field_map.canonical_name
    missing = [name for name in REQUIRED if is_blank(body.get(name))]
    lines = [n for n in (*ADDRESS_LINES, *SECONDARY_LINE_NAMES) if not is_blank(body.get(n))]
    if not lines or (create and is_blank(body.get("address"))):  # an update may do with the unit line
        missing.append("address")
    if missing:
        fields = ", ".join(f"{name_of(n)} ({n})" if name_of(n) != n else n for n in missing)
        raise InvalidValueError(name_of(missing[0]), None, f"CorporateMerch requires {fields}")
    for name, value in body.items():
        if not is_blank(value) and name not in SETS:
            check_value(name, value, name_of(name))
    _check_state(body, name_of)
