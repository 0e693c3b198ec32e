"""The HTTP calls of Apollo writes, built once for both ``describe`` and ``push``.

Apollo updates are partial (``PATCH /contacts/{id}`` changes only the keys sent), with three
exceptions this module handles:

* ``label_names`` replaces the whole list membership, so set deltas (``WriteOp.add``/``remove``)
  go through ``/labels/add_entity_ids_to_label_names`` and ``remove_...`` instead, which leave a
  list added concurrently in the CRM alone; a tags value without deltas is sent whole;
* ``present_raw_address`` holds six canonical fields in one line, so a change to some of them is
  composed with the others as the record holds them (as this run's pull left it);
* the owner is not a create/update field: it is set with ``POST /contacts/update_owners``.

Creates without typed phones that share their lists and owner go through ``bulk_create`` (its
items carry neither typed phones nor per-contact lists), followed by one search that reads the
new records back in the GET shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from syncengine.canonical import InvalidValueError, is_blank
from syncengine.connectors.apollo_search import SEARCH, search_body
from syncengine.connectors.base import HttpCall, WriteOp
from syncengine.fieldmaps.apollo import ADDRESS, OWNER_INPUT, PHONES, ApolloMap

CONTACTS = "/contacts"
BULK_CREATE = "/contacts/bulk_create"
UPDATE_OWNERS = "/contacts/update_owners"
ADD_LABELS = "/labels/add_entity_ids_to_label_names"
REMOVE_LABELS = "/labels/remove_entity_ids_from_label_names"
MAX_BULK_CREATE = 100  # documented maximum of one bulk_create call
SET_FIELDS_HELD = ("tags",)
NEW_ID = "{new id}"  # stands for the id a create returns, in a preview


def contact_path(remote_id: str) -> str:
    return f"{CONTACTS}/{quote(str(remote_id), safe='')}"


def owner_call(remote_ids: Sequence[str], owner_id: str, op_ids: tuple[str, ...]) -> HttpCall:
    # The current spec takes both parameters in the query string, with an empty JSON body.
    params = {"contact_ids[]": list(remote_ids), "owner_id": owner_id}
    return HttpCall("POST", UPDATE_OWNERS, {}, params, op_ids)


def created_search(op_ids: tuple[str, ...]) -> HttpCall:
    body = search_body(1, MAX_BULK_CREATE, sort_by="contact_created_at")
    return HttpCall("POST", SEARCH, body, op_ids=op_ids)


def create_values(op: WriteOp, fields: frozenset[str]) -> dict[str, Any]:
    """The op's values that this system holds, with set deltas applied (a create is whole)."""
    values = {k: v for k, v in op.values.items() if k in fields}
    for target in set(op.add) | set(op.remove):
        if target not in fields:
            continue
        members = {m.casefold(): m for m in values.get(target) or []}
        members.update({m.casefold(): m for m in op.add.get(target, ())})
        for gone in op.remove.get(target, ()):
            members.pop(gone.casefold(), None)
        values[target] = sorted(members.values(), key=str.casefold)
    return values


@dataclass(frozen=True)
class CreatePlan:
    """One create: its POST body and the owner to set afterwards."""

    op: WriteOp
    body: dict[str, Any]
    owner_id: str | None

    @property
    def bulkable(self) -> bool:
        return not any(name in self.body for name in PHONES)

    @property
    def group(self) -> tuple[tuple[str, ...], str | None]:
        return tuple(self.body.get("label_names") or ()), self.owner_id


def plan_create(op: WriteOp, field_map: ApolloMap) -> CreatePlan:
    body = field_map.create_body(create_values(op, field_map.fields))
    owner_id = body.pop(OWNER_INPUT, None) or None
    return CreatePlan(op, body, owner_id)


def single_create_calls(plan: CreatePlan) -> list[HttpCall]:
    ids = (plan.op.op_id,)
    calls = [HttpCall("POST", CONTACTS, plan.body, op_ids=ids)]
    if plan.owner_id:
        calls.append(owner_call([NEW_ID], plan.owner_id, ids))
    return calls


def bulk_body(plans: Sequence[CreatePlan]) -> dict[str, Any]:
    labels, owner_id = plans[0].group
    items = [{k: v for k, v in p.body.items() if k != "label_names"} for p in plans]
    body: dict[str, Any] = {"contacts": items}
    if labels:
        body["append_label_names"] = list(labels)
    if owner_id:
        body["owner_id"] = owner_id
    return body


def bulk_create_calls(plans: Sequence[CreatePlan]) -> list[HttpCall]:
    ids = tuple(p.op.op_id for p in plans)
    return [HttpCall("POST", BULK_CREATE, bulk_body(plans), op_ids=ids), created_search(ids)]


def create_units(plans: Sequence[CreatePlan]) -> list[list[CreatePlan]]:
    """Creates grouped into bulk calls (same lists and owner, no typed phones, at least two)."""
    groups: dict[tuple[tuple[str, ...], str | None], list[CreatePlan]] = {}
    units: list[list[CreatePlan]] = []
    for plan in plans:
        if plan.bulkable:
            groups.setdefault(plan.group, []).append(plan)
        else:
            units.append([plan])
    for members in groups.values():
        for start in range(0, len(members), MAX_BULK_CREATE):
            chunk = members[start : start + MAX_BULK_CREATE]
            units.extend([[p] for p in chunk] if len(chunk) == 1 else [chunk])
    order = {plan.op.op_id: i for i, plan in enumerate(plans)}
    return sorted(units, key=lambda unit: order[unit[0].op.op_id])


# --------------------------------------------------------------------------- updates


@dataclass(frozen=True)
class UpdatePlan:
    """The calls of one update, in order (the GET first when the address must be read)."""

    op: WriteOp
    needs_read: bool
    body: dict[str, Any]
    owner_id: str | None
    add: tuple[str, ...]
    remove: tuple[str, ...]

    def calls(self) -> list[HttpCall]:
        ids = (self.op.op_id,)
        remote_id = self.op.remote_id or ""
        path = contact_path(remote_id)
        calls = [HttpCall("GET", path, op_ids=ids)] if self.needs_read else []
        if self.body:
            calls.append(HttpCall("PATCH", path, self.body, op_ids=ids))
        if self.owner_id:
            calls.append(owner_call([remote_id], self.owner_id, ids))
        for endpoint, names in ((ADD_LABELS, self.add), (REMOVE_LABELS, self.remove)):
            if names:
                body = {"entity_ids": [remote_id], "label_names": list(names), "modality": "contacts"}
                calls.append(HttpCall("POST", endpoint, body, op_ids=ids))
        return calls


def needs_address_read(op: WriteOp) -> bool:
    """Whether some, but not all, address parts change: the others must come from the record."""
    changed = [name for name in ADDRESS if name in op.values]
    return 0 < len(changed) < len(ADDRESS)


def plan_update(op: WriteOp, field_map: ApolloMap, current: Mapping[str, Any] | None) -> UpdatePlan:
    """The update of ``op``; ``current`` is the record (GET shape) the other address parts come from."""
    deltas = set(op.add) | set(op.remove)
    for target in deltas - set(SET_FIELDS_HELD):
        raise InvalidValueError(target, sorted(op.add.get(target, ())), "Apollo has no set field for it")
    values = {k: v for k, v in op.values.items() if k not in deltas}
    if needs_address_read(op) and current is not None:
        held = field_map.to_canonical(current).values
        values = {**{name: held.get(name) for name in ADDRESS}, **values}
    body = field_map.update_body(values)
    owner_id = body.pop(OWNER_INPUT, None)
    if owner_id == "":
        raise InvalidValueError("owner", None, "Apollo keeps an owner on every contact; it cannot be cleared")
    return UpdatePlan(
        op,
        needs_read=needs_address_read(op),
        body=body,
        owner_id=owner_id,
        add=_names(op.add.get("tags")),
        remove=_names(op.remove.get("tags")),
    )


def _names(members: Any) -> tuple[str, ...]:
    return tuple(sorted(members, key=str.casefold)) if not is_blank(members) else ()
