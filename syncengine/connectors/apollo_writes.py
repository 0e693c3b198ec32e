"""The HTTP calls of Apollo writes, built once for both ``describe`` and ``push``.

Apollo updates are partial (``PATCH /contacts/{id}`` changes only the keys sent), with three
exceptions this module handles:

* ``label_names`` replaces the whole list membership, so set deltas (``WriteOp.add``/``remove``)
  go through ``/labels/add_entity_ids_to_label_names`` and ``remove_...`` instead, which leave a
  list added concurrently in the CRM alone; a tags value without deltas is sent whole;
* ``present_raw_address`` holds six canonical fields in one line, so a change to some of them is
  composed with the others as the record holds them (as this run's pull left it);
* the owner is not a create/update field: a create sets it with ``POST /contacts/update_owners``.

Updates go through ``POST /contacts/bulk_update`` (per-contact ``contact_attributes``, at most 100
per call so that Apollo answers them synchronously) as far as its fields reach: the scalars, the
address line, typed custom fields and the owner. Typed phones, the stage and a whole list value
are not bulk_update fields; an update carrying one is sent as one ``PATCH`` (with its scalars,
which costs no extra call), its owner, if any, in the bulk row.

List changes of a push go through the label endpoints with many contacts per call
(``membership_calls``: one call per list, or per set of lists the contacts share, whichever is
fewer). Their answer names the lists, not the contacts, and nothing reads the contacts back: the
record as written is the record as last read (or as the PATCH or bulk answer has it) with the list
changes applied, and the next pull confirms it.

Creates without typed phones go through ``bulk_create``, 100 a call per owner (an item carries
neither typed phones nor lists of its own), then one search page reads the new records back in
the GET shape; their lists go through the label endpoints with the updates' list changes, in one
pass per push (or in ``append_label_names`` when the whole call shares them). A create with a
typed phone is one ``POST /contacts`` with its lists in it: a bulk create followed by a PATCH for
the phone would cost as many calls (one per contact, plus a share of the bulk call) and take them
from the update budget, which updates with phones already draw on.
"""

from __future__ import annotations

import dataclasses
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
BULK_UPDATE = "/contacts/bulk_update"
UPDATE_OWNERS = "/contacts/update_owners"
ADD_LABELS = "/labels/add_entity_ids_to_label_names"
REMOVE_LABELS = "/labels/remove_entity_ids_from_label_names"
MAX_BULK_CREATE = 100  # documented maximum of one bulk_create call
MAX_BULK_UPDATE = 100  # the most bulk_update answers synchronously; above that it only starts a job
MODALITY = "contacts"
# The per-contact fields of ``bulk_update`` (apis.md 1.7).
BULK_UPDATE_FIELDS = frozenset({
    "first_name", "last_name", "email", "title", "organization_name", "owner_id", "account_id",
    "present_raw_address", "linkedin_url", "typed_custom_fields",
})  # fmt: skip
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
    def labels(self) -> tuple[str, ...]:
        return tuple(self.body.get("label_names") or ())


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


def shared_labels(plans: Sequence[CreatePlan]) -> tuple[str, ...]:
    """The lists every create of a bulk call shares, when they all have the same ones."""
    sets = {plan.labels for plan in plans}
    return next(iter(sets)) if len(sets) == 1 else ()


def bulk_body(plans: Sequence[CreatePlan]) -> dict[str, Any]:
    labels, owner_id = shared_labels(plans), plans[0].owner_id
    items = [{k: v for k, v in p.body.items() if k != "label_names"} for p in plans]
    body: dict[str, Any] = {"contacts": items}
    if labels:
        body["append_label_names"] = list(labels)
    if owner_id:
        body["owner_id"] = owner_id
    return body


def created_label_changes(plans: Sequence[CreatePlan], remote_ids: Sequence[str]) -> list[LabelChange]:
    """The lists a bulk call's new contacts join after it, unless the call carried them."""
    if shared_labels(plans):
        return []
    return [
        LabelChange(plan.op.op_id, remote_id, plan.labels)
        for plan, remote_id in zip(plans, remote_ids, strict=True)
        if plan.labels
    ]


def bulk_create_calls(plans: Sequence[CreatePlan]) -> list[HttpCall]:
    """A bulk call and the search page that reads its records back; their lists, unless the call
    carries them, are added with the push's other list changes."""
    ids = tuple(p.op.op_id for p in plans)
    return [HttpCall("POST", BULK_CREATE, bulk_body(plans), op_ids=ids), created_search(ids)]


def create_units(plans: Sequence[CreatePlan]) -> list[list[CreatePlan]]:
    """Creates grouped into calls, for the fewest calls: bulk calls (each with the search that reads
    its records back) for creates with the same owner and lists, which the call carries, when that
    is fewer calls than sending them one by one; the other creates of an owner in shared bulk calls
    followed by label calls when that is fewer calls again; else one ``POST /contacts`` each (as
    every create with a typed phone)."""
    by_owner: dict[str | None, list[CreatePlan]] = {}
    units: list[list[CreatePlan]] = []
    for plan in plans:
        if plan.bulkable:
            by_owner.setdefault(plan.owner_id, []).append(plan)
        else:
            units.append([plan])
    for owner_id, members in by_owner.items():
        alone = 3 if owner_id else 1  # a single create with an owner: POST, update_owners, GET
        by_labels: dict[tuple[str, ...], list[CreatePlan]] = {}
        for plan in members:
            by_labels.setdefault(plan.labels, []).append(plan)
        rest: list[CreatePlan] = []
        for same in by_labels.values():
            chunks = _chunks(same)
            if 2 * len(chunks) < alone * len(same):
                units.extend(chunks)
            else:
                rest.extend(same)
        mixed = _chunks(rest)
        cost = sum(2 + len(created_label_calls(chunk)) for chunk in mixed)
        units.extend(mixed if cost < alone * len(rest) else [[p] for p in rest])
    order = {plan.op.op_id: i for i, plan in enumerate(plans)}
    return sorted(units, key=lambda unit: order[unit[0].op.op_id])


def _chunks(plans: Sequence[CreatePlan]) -> list[list[CreatePlan]]:
    return [list(plans[i : i + MAX_BULK_CREATE]) for i in range(0, len(plans), MAX_BULK_CREATE)]


def created_label_calls(plans: Sequence[CreatePlan]) -> list[HttpCall]:
    return membership_calls(ADD_LABELS, created_label_changes(plans, [NEW_ID] * len(plans)))


# --------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class LabelChange:
    """Lists one contact joins (or leaves) through the label endpoints."""

    op_id: str
    remote_id: str
    names: tuple[str, ...]


def membership_calls(endpoint: str, changes: Sequence[LabelChange]) -> list[HttpCall]:
    """The fewest label calls for ``changes``: the endpoints apply every list named to every contact
    named, so contacts are grouped either by the set of lists they share or by single list,
    whichever makes fewer calls (sets first on a tie)."""
    changes = [c for c in changes if c.names]
    by_set: dict[tuple[str, ...], list[LabelChange]] = {}
    by_name: dict[tuple[str, ...], list[LabelChange]] = {}
    for change in changes:
        by_set.setdefault(tuple(sorted(change.names, key=str.casefold)), []).append(change)
        for name in change.names:
            by_name.setdefault((name,), []).append(change)
    groups = by_set if len(by_set) <= len(by_name) else by_name
    return [
        HttpCall(
            "POST", endpoint,
            {"entity_ids": _unique(c.remote_id for c in members), "label_names": list(names),
             "modality": MODALITY},
            op_ids=tuple(_unique(c.op_id for c in members)),
        )
        for names, members in sorted(groups.items())
    ]  # fmt: skip


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def with_labels(
    raw: Mapping[str, Any], add: Sequence[str], remove: Sequence[str], ids: Mapping[str, str]
) -> dict[str, Any]:
    """``raw`` after its contact joined ``add`` and left ``remove`` (list names; ``ids`` maps a
    case-folded name to its id): what the label endpoints did, without reading the contact."""
    held = [str(i) for i in raw.get("label_ids") or []]
    gone = {ids[n.casefold()] for n in remove if n.casefold() in ids}
    joined = [ids[n.casefold()] for n in add if n.casefold() in ids]
    kept = [i for i in held if i not in gone]
    return {**raw, "label_ids": kept + [i for i in dict.fromkeys(joined) if i not in kept]}


# --------------------------------------------------------------------------- updates


@dataclass(frozen=True)
class UpdatePlan:
    """One update: its row of a ``bulk_update`` call (``bulk``, without the id) and its own calls,
    in order: the GET when the address must be read, then the PATCH and the list changes."""

    op: WriteOp
    needs_read: bool
    body: dict[str, Any]  # the PATCH body
    bulk: dict[str, Any]  # the contact's attributes in a bulk_update call
    add: tuple[str, ...]
    remove: tuple[str, ...]

    @property
    def path(self) -> str:
        return contact_path(self.op.remote_id or "")

    def read_calls(self) -> list[HttpCall]:
        return [HttpCall("GET", self.path, op_ids=(self.op.op_id,))] if self.needs_read else []

    def own_calls(self) -> list[HttpCall]:
        """The call after the bulk_update call: the PATCH, if any (list changes go by batch)."""
        return [HttpCall("PATCH", self.path, self.body, op_ids=(self.op.op_id,))] if self.body else []

    def label_changes(self) -> tuple[LabelChange | None, LabelChange | None]:
        """The lists the contact joins and leaves, for the batch's label calls."""
        remote_id = self.op.remote_id or ""
        add = LabelChange(self.op.op_id, remote_id, self.add) if self.add else None
        remove = LabelChange(self.op.op_id, remote_id, self.remove) if self.remove else None
        return add, remove

    def reads_back(self, base: Mapping[str, Any] | None) -> bool:
        """Whether the record as written is read with a GET at the end: only when neither a PATCH
        answer nor the record as last read (``base``) gives the whole record."""
        return not self.body and base is None


def batch_rows(plans: Sequence[UpdatePlan]) -> list[UpdatePlan]:
    """The plans of one batch of updates as sent: a lone bulk row without an owner goes in a PATCH
    instead (one call either way, and the PATCH answers the whole record)."""
    rows = [p for p in plans if p.bulk]
    if len(rows) != 1 or OWNER_INPUT in rows[0].bulk:
        return list(plans)
    return [dataclasses.replace(p, body={**p.body, **p.bulk}, bulk={}) if p.bulk else p for p in plans]


def bulk_update_body(plans: Sequence[UpdatePlan]) -> dict[str, Any]:
    return {"contact_attributes": [{"id": p.op.remote_id, **p.bulk} for p in plans]}


def bulk_update_call(plans: Sequence[UpdatePlan]) -> HttpCall:
    return HttpCall("POST", BULK_UPDATE, bulk_update_body(plans), op_ids=tuple(p.op.op_id for p in plans))


def split_update(body: dict[str, Any], owner_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The PATCH body and the bulk row of an update body: all in the bulk row when bulk_update takes
    every field, else all in one PATCH; the owner (no PATCH field) always in the bulk row."""
    patch: dict[str, Any] = {}
    bulk: dict[str, Any] = {}
    if any(name not in BULK_UPDATE_FIELDS for name in body):
        patch = body
    else:
        bulk = dict(body)
    if owner_id:
        bulk[OWNER_INPUT] = owner_id
    return patch, bulk


def with_bulk_answer(
    base: Mapping[str, Any], item: Mapping[str, Any], sent: Mapping[str, Any]
) -> dict[str, Any]:
    """The whole record after a bulk update: ``base`` (the record as last read) with the fields the
    bulk answer holds, and the typed custom fields as sent (the answer leaves them out)."""
    raw = {**base, **item}
    custom = sent.get("typed_custom_fields")
    if isinstance(custom, Mapping):
        merged = dict(base.get("typed_custom_fields") or {})
        for field_id, value in custom.items():
            if value in ("", None):
                merged.pop(field_id, None)
            else:
                merged[field_id] = value
        raw["typed_custom_fields"] = merged
    if "first_name" in item or "last_name" in item:
        raw["name"] = " ".join(str(raw[k]) for k in ("first_name", "last_name") if raw.get(k)) or None
    return raw


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
    patch, bulk = split_update(body, owner_id)
    return UpdatePlan(
        op,
        # the other address parts come from the record as pulled, or from a GET without it
        needs_read=needs_address_read(op) and op.expected is None,
        body=patch,
        bulk=bulk,
        add=_names(op.add.get("tags")),
        remove=_names(op.remove.get("tags")),
    )


def _names(members: Any) -> tuple[str, ...]:
    return tuple(sorted(members, key=str.casefold)) if not is_blank(members) else ()
