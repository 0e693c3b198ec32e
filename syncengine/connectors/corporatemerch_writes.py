"""CorporateMerch write bodies: a create from canonical values, an update as a whole-record replacement.

An update (``PUT /contacts/{id}``) replaces the record: every field it leaves out is cleared. So
the body starts from the record as just read, takes the op's changes, applies set deltas to the
freshly read memberships (a member added in the CRM meanwhile survives), and is checked against
the vendor's rules before it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncengine.canonical import InvalidValueError
from syncengine.connectors.base import RemoteRecord, WriteOp
from syncengine.fieldmaps.corporatemerch import (
    BODY_FIELDS,
    SECONDARY_LINE_NAMES,
    SETS,
    CorporateMerchMap,
    check_body,
    secondary_line,
)

SET_TARGETS = {target: kind for kind, target in SETS.items()}


def record_body(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every writable field of a contact in the read shape, as a PUT sends it (nulls included)."""
    line = line_name(raw)
    body: dict[str, Any] = {}
    for name in BODY_FIELDS:
        if name == "unit":
            body[line] = secondary_line(raw)
        elif name in SETS:
            body[name] = [_int(i) for i in raw.get(name) or []]
        else:
            body[name] = raw.get(name)
    return body


def line_name(raw: Mapping[str, Any]) -> str:
    """The secondary address line's name in this account (``unit`` unless the record says ``address2``)."""
    return next((n for n in SECONDARY_LINE_NAMES if n in raw), "unit")


def _int(item: Any) -> Any:
    return int(item) if isinstance(item, str) and item.isdigit() else item


def create_body(op: WriteOp, field_map: CorporateMerchMap) -> dict[str, Any]:
    """The ``POST /contacts`` body; raises InvalidValueError when a value or required field is wrong."""
    values = dict(op.values)
    for target in set(op.add) | set(op.remove):
        members = {m.casefold(): m for m in values.get(target) or []}
        members.update({m.casefold(): m for m in op.add.get(target, ())})
        for gone in op.remove.get(target, ()):
            members.pop(gone.casefold(), None)
        values[target] = sorted(members.values(), key=str.casefold)
    body = field_map.create_body(values)
    check_body(body, field_map, create=True)
    return body


def update_body(current: Mapping[str, Any], op: WriteOp, field_map: CorporateMerchMap) -> dict[str, Any]:
    """The ``PUT /contacts/{id}`` body: ``current`` (read shape) with the op's changes applied."""
    body = record_body(current)
    deltas = set(op.add) | set(op.remove)
    for target in deltas - set(SET_TARGETS):
        raise InvalidValueError(target, sorted(op.add.get(target, ())), "not a CorporateMerch set field")
    changes = field_map.update_body({k: v for k, v in op.values.items() if k not in deltas})
    if "unit" in changes:
        body[line_name(current)] = changes.pop("unit")
    for kind in SETS:
        if kind in changes:  # ids no catalogue names cannot have been meant to go: they stay
            unnamed = [i for i in body[kind] if i not in field_map.catalogue.entries(kind)]
            changes[kind] = changes[kind] + [i for i in unnamed if i not in changes[kind]]
    body.update(changes)
    for target in deltas:
        kind = SET_TARGETS[target]
        names = field_map.catalogue.entries(kind)
        removed = {name.casefold() for name in op.remove.get(target, ())}
        # Ids the catalogue does not know stay: they may name a list created after it was read.
        ids = [i for i in body[kind] if names.get(i, "").casefold() not in removed]
        added = field_map.set_ids(kind, sorted(op.add.get(target, ()), key=str.casefold))
        body[kind] = ids + [i for i in added if i not in ids]
    check_body(body, field_map, create=False)
    return body


def has_moved(expected: RemoteRecord, current: RemoteRecord) -> str | None:
    """Why ``current`` is not the record ``expected`` was read as (None when it is the same)."""
    was, now_at = expected.updated_at, current.updated_at
    if was is not None and now_at is not None and was != now_at:
        return f"updated at {now_at.isoformat()}, expected {was.isoformat()}"
    before, now = record_body(expected.raw), record_body(current.raw)
    changed = [
        name
        for name in before
        if name in now and name in expected.raw and before[name] != now[name] and name != "id"
    ]
    return f"{', '.join(changed)} changed" if changed else None
