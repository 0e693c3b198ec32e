"""The merge rules in ``rules/*.toml``: a small closed vocabulary, validated with errors that name
the file and the key (``rules/team.toml: fields.tags.policy: 'unoin' is not one of prefer, ...``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncengine.canonical import FIELDS, SET_FIELDS, InvalidValueError, normalize
from syncengine.systems import NAMES

POLICIES = ("prefer", "newest", "union", "manual")
MATCH_KEYS = ("email", "phone", "name_company")
INITIAL = ("fill_then_prefer",)
DELETE_POLICIES = ("report",)
KNOWN_SYSTEMS = NAMES
# The defaults ship inside the package; a source checkout reads its top-level rules/ instead, where
# files added next to default.toml (a link to the packaged one) override it key by key.
PACKAGED_DIR = Path(__file__).resolve().parent / "default_rules"
_CHECKOUT_DIR = Path(__file__).resolve().parents[1] / "rules"
DEFAULT_DIR = _CHECKOUT_DIR if (_CHECKOUT_DIR / "default.toml").is_file() else PACKAGED_DIR


class RulesError(ValueError):
    """A rules file that cannot be read or holds a wrong key or value."""


@dataclass(frozen=True)
class FieldRule:
    policy: str = "newest"
    allow_blank: bool = False
    prefer: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CreateRule:
    system: str
    enabled: bool = True
    when_tags_any: frozenset[str] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Guard:
    """The mass-change guard: a run that would blank a field in, or find deleted, more than
    ``max_share`` of a system's linked contacts (and more than ``min_records``) stops and asks."""

    max_share: float = 0.2
    min_records: int = 5
    # A contact edited less than this long ago waits for a later run, so a value saved while a
    # person is still typing (half an email address) is not copied to the other systems.
    settle_seconds: int = 0


@dataclass(frozen=True)
class Rules:
    systems: tuple[str, ...] = KNOWN_SYSTEMS
    default: FieldRule = FieldRule()
    fields: Mapping[str, FieldRule] = field(default_factory=dict)
    initial: str = "fill_then_prefer"
    match_keys: tuple[str, ...] = MATCH_KEYS
    create: Mapping[str, CreateRule] = field(default_factory=dict)
    deletes: str = "report"
    guard: Guard = Guard()

    def field(self, name: str) -> FieldRule:
        return self.fields.get(name, self.default)

    def order(self, name: str) -> tuple[str, ...]:
        """Systems in order of preference for ``name``."""
        preferred = self.field(name).prefer or ()
        return (*preferred, *(s for s in self.systems if s not in preferred))


def load_rules(path: Path | str | None = None) -> Rules:
    """Rules from ``path``: a directory (``default.toml`` first, then the other ``*.toml`` in name
    order, later keys overriding), a file, or None for the repository's ``rules/``."""
    target = Path(path) if path is not None else DEFAULT_DIR
    if target.is_dir():
        files = sorted(target.glob("*.toml"), key=lambda p: (p.name != "default.toml", p.name))
        if not files:
            raise RulesError(f"{target}: no rules files (*.toml)")
    elif target.is_file():
        files = [target]
    else:
        raise RulesError(f"{target}: no such rules file or directory")
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for file in files:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise RulesError(f"{_shown(file)}: {exc}") from exc
        _merge_into(merged, data, origin, file, "")
    return _build(merged, origin, files[-1])


def _merge_into(
    into: dict[str, Any], data: Mapping[str, Any], origin: dict[str, Path], file: Path, prefix: str
) -> None:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge_into(into[key], value, origin, file, path + ".")
        else:
            into[key] = value
        origin[path] = file
        if isinstance(value, dict):
            for sub in _paths(value, path + "."):
                origin[sub] = file


def _paths(data: Mapping[str, Any], prefix: str) -> list[str]:
    out = []
    for key, value in data.items():
        out.append(prefix + key)
        if isinstance(value, dict):
            out.extend(_paths(value, prefix + key + "."))
    return out


def _shown(file: Path) -> str:
    """The file as staff would type it: relative to the working directory when under it."""
    try:
        return str(file.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(file)


class _Reader:
    def __init__(self, origin: Mapping[str, Path], fallback: Path) -> None:
        self.origin, self.fallback = origin, fallback

    def error(self, key: str, message: str) -> RulesError:
        file = self.origin.get(key) or self.fallback
        return RulesError(f"{_shown(file)}: {key}: {message}")

    def table(self, data: Any, key: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.error(key, f"must be a table, got {data!r}")
        return data

    def only(self, data: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                raise self.error(prefix + key, f"unknown key; known: {', '.join(allowed)}")

    def choice(self, value: Any, choices: tuple[str, ...], key: str) -> str:
        if value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}")
        return str(value)

    def systems(self, value: Any, key: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.error(key, f"must be a list of systems, got {value!r}")
        for item in value:
            self.choice(item, KNOWN_SYSTEMS, key)
        if len(set(value)) != len(value):
            raise self.error(key, "lists a system twice")
        return tuple(value)

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value


def _field_rule(reader: _Reader, data: Any, key: str, base: FieldRule, name: str | None) -> FieldRule:
    table = reader.table(data, key)
    reader.only(table, ("policy", "allow_blank", "prefer"), key + ".")
    policy = reader.choice(table.get("policy", base.policy), POLICIES, key + ".policy")
    if policy == "union" and name is not None and name not in SET_FIELDS:
        raise reader.error(
            key + ".policy", f"'union' merges sets; {name} is not one ({', '.join(sorted(SET_FIELDS))} are)"
        )
    allow_blank = reader.boolean(table.get("allow_blank", base.allow_blank), key + ".allow_blank")
    prefer = reader.systems(table["prefer"], key + ".prefer") if "prefer" in table else base.prefer
    return FieldRule(policy, allow_blank, prefer)


def _create_rule(reader: _Reader, system: str, data: Any, key: str) -> CreateRule:
    table = reader.table(data, key)
    reader.only(table, ("enabled", "when_tags_any", "defaults"), key + ".")
    enabled = reader.boolean(table.get("enabled", True), key + ".enabled")
    tags = table.get("when_tags_any")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags)):
        raise reader.error(key + ".when_tags_any", f"must be a list of tag names, got {tags!r}")
    defaults = reader.table(table.get("defaults", {}), key + ".defaults")
    checked = {}
    for name, value in defaults.items():
        if name not in FIELDS:
            raise reader.error(f"{key}.defaults.{name}", "unknown canonical field")
        try:
            checked[name] = normalize(name, value)
        except InvalidValueError as exc:
            raise reader.error(f"{key}.defaults.{name}", exc.reason) from exc
    return CreateRule(system, enabled, frozenset(tags) if tags is not None else None, checked)


def _guard(reader: _Reader, data: Any) -> Guard:
    table = reader.table(data, "guard")
    reader.only(table, ("max_share", "min_records", "settle_seconds"), "guard.")
    share = table.get("max_share", Guard.max_share)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise reader.error("guard.max_share", f"must be a share between 0 and 1, got {share!r}")
    least = table.get("min_records", Guard.min_records)
    if isinstance(least, bool) or not isinstance(least, int) or least < 0:
        raise reader.error("guard.min_records", f"must be a whole number of 0 or more, got {least!r}")
    settle = table.get("settle_seconds", Guard.settle_seconds)
    if isinstance(settle, bool) or not isinstance(settle, int) or settle < 0:
        raise reader.error("guard.settle_seconds", f"must be a whole number of seconds, got {settle!r}")
    return Guard(float(share), least, settle)


def _deletes(reader: _Reader, data: Any) -> str:
    table = reader.table(data, "deletes")
    reader.only(table, ("policy",), "deletes.")
    return reader.choice(table.get("policy", DELETE_POLICIES[0]), DELETE_POLICIES, "deletes.policy")


def _build(data: Mapping[str, Any], origin: Mapping[str, Path], fallback: Path) -> Rules:
    reader = _Reader(origin, fallback)
    reader.only(
        data, ("systems", "match_keys", "initial", "default", "fields", "create", "deletes", "guard"), ""
    )
    systems = reader.systems(data.get("systems", list(KNOWN_SYSTEMS)), "systems")
    match_keys = data.get("match_keys", list(MATCH_KEYS))
    if not isinstance(match_keys, list) or not match_keys:
        raise reader.error("match_keys", f"must be a list of {', '.join(MATCH_KEYS)}")
    for item in match_keys:
        reader.choice(item, MATCH_KEYS, "match_keys")
    if len(set(match_keys)) != len(match_keys):
        raise reader.error("match_keys", "lists a key twice")
    initial = reader.choice(data.get("initial", INITIAL[0]), INITIAL, "initial")
    default = _field_rule(reader, data.get("default", {}), "default", FieldRule(), None)
    if default.policy == "union":
        raise reader.error("default.policy", "'union' merges sets and cannot be the default for every field")
    fields = {}
    for name, table in reader.table(data.get("fields", {}), "fields").items():
        if name not in FIELDS:
            raise reader.error(f"fields.{name}", f"unknown canonical field; known: {', '.join(FIELDS)}")
        fields[name] = _field_rule(reader, table, f"fields.{name}", default, name)
    create = {}
    for system, table in reader.table(data.get("create", {}), "create").items():
        reader.choice(system, KNOWN_SYSTEMS, f"create.{system}")
        create[system] = _create_rule(reader, system, table, f"create.{system}")
    deletes = _deletes(reader, data.get("deletes", {}))
    guard = _guard(reader, data.get("guard", {}))
    return Rules(systems, default, fields, initial, tuple(match_keys), create, deletes, guard)
