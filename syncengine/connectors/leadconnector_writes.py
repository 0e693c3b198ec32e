"""LeadConnector write plans and answers: the calls an op makes, the read shape, error readings.

An op becomes a short list of ``HttpCall``s that both ``describe`` and ``push`` use, so the dry
run shows exactly what is sent:

* create: ``POST /contacts/`` with ``locationId`` and the canonical values (tag deltas folded in);
* update: tag deltas through ``POST``/``DELETE /contacts/{id}/tags`` (a tag a person added in the
  CRM meanwhile survives), then ``PUT /contacts/{id}`` with only the changed fields (``tags`` whole
  when the op replaces the set);
* delete: ``DELETE /contacts/{id}``.

The tag calls of a batch of updates are grouped (``tag_calls``): contacts given the same tags to
add (or remove) share one ``POST /contacts/bulk/tags/update/{add|remove}``, which answers per
contact; a change no other contact shares keeps its per-contact call. Nothing reads a contact back
after its tag calls: their answers give its tags, and the record as written is the record as
pulled (or as the PUT answered) with those tags; the next pull confirms it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

import httpx

from syncengine.canonical import InvalidValueError
from syncengine.connectors.base import HttpCall, WriteOp
from syncengine.connectors.errors import Outcome, Verdict, existing_id_in, response_body
from syncengine.fieldmaps.leadconnector import CUSTOM_FIELDS, SETS, LeadConnectorMap

CONTACTS = "/contacts/"
BULK_TAGS = "/contacts/bulk/tags/update/{kind}"
SETS_TAGS = "tags"
TAG_BATCH = 100  # updates whose tag calls are grouped together
SET_TARGETS = {target: name for name, target in SETS.items()}

# The GET shape's keys that a search hit carries too (search names the street ``address`` and
# gives ``dateOfBirth`` in epoch ms); a record is kept in these keys whichever endpoint read it.
READ_KEYS = (
    "id", "locationId", "firstName", "lastName", "email", "phone", "companyName", "address1", "city",
    "state", "postalCode", "country", "website", "timezone", "source", "type", "assignedTo", "dnd",
    "dndSettings", "tags", "customFields", "dateOfBirth", "dateAdded", "dateUpdated",
    "additionalEmails", "additionalPhones", "businessId", "attributionSource", "lastAttributionSource",
)  # fmt: skip
ALWAYS_LISTED = ("tags", "customFields", "additionalEmails")  # GET answers these even when empty

_NOT_FOUND = re.compile(r"contact with id .* not found", re.IGNORECASE)
_REJECTED = re.compile(r"property ([\w.]+) should not exist")
_CUSTOM_ITEM = re.compile(rf"^{CUSTOM_FIELDS}\.(\d+)")


def contact_path(remote_id: str, suffix: str = "") -> str:
    return f"/contacts/{quote(str(remote_id), safe='')}{suffix}"


def read_shape(item: Mapping[str, Any]) -> dict[str, Any]:
    """A contact from GET, PUT, create or search in one shape: the GET keys both carry, unset left out."""
    values = dict(item)
    if "address1" not in values and "address" in values:
        values["address1"] = values["address"]
    born = values.get("dateOfBirth")
    if isinstance(born, int | float) and not isinstance(born, bool):
        values["dateOfBirth"] = iso_ms(datetime.fromtimestamp(born / 1000, UTC))
    out: dict[str, Any] = {}
    for key in READ_KEYS:
        value = values.get(key)
        if key in ALWAYS_LISTED:
            out[key] = value or []
        elif value is not None and value != [] and value != {}:
            out[key] = value
    return out


def iso_ms(moment: datetime) -> str:
    """LeadConnector's timestamp form: UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    """A LeadConnector timestamp as aware UTC (no zone read as UTC); None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ---------------------------------------------------------------------- planning


def with_deltas(op: WriteOp) -> dict[str, Any]:
    """A create's values with its set deltas applied (a new record has nothing to clobber)."""
    values = dict(op.values)
    for target in set(op.add) | set(op.remove):
        members = {m.casefold(): m for m in values.get(target) or []}
        members.update({m.casefold(): m for m in op.add.get(target, ())})
        for gone in op.remove.get(target, ()):
            members.pop(gone.casefold(), None)
        values[target] = sorted(members.values(), key=lambda m: (m.casefold(), m))
    return values


def plan_calls(op: WriteOp, field_map: LeadConnectorMap, location_id: str) -> list[HttpCall]:
    """The calls that apply ``op``; raises InvalidValueError (nothing is sent) for a value
    LeadConnector cannot hold."""
    ids = (op.op_id,)
    if op.kind == "create":
        body = {"locationId": location_id, **field_map.create_body(with_deltas(op))}
        return [HttpCall("POST", CONTACTS, body, op_ids=ids)]
    path = contact_path(op.remote_id or "")
    if op.kind == "delete":
        return [HttpCall("DELETE", path, op_ids=ids)]
    deltas = set(op.add) | set(op.remove)
    if unknown := sorted(deltas - set(SET_TARGETS)):
        unknown_members = sorted(op.add.get(unknown[0], ()) or op.remove.get(unknown[0], ()))
        raise InvalidValueError(unknown[0], unknown_members, "LeadConnector has no set field for it")
    body = field_map.update_body({k: v for k, v in op.values.items() if k not in deltas})
    calls = []
    for target in sorted(deltas):
        name = SET_TARGETS[target]
        for method, members in (("POST", op.add.get(target)), ("DELETE", op.remove.get(target))):
            if members:
                tags = sorted(members, key=lambda m: (m.casefold(), m))
                calls.append(
                    HttpCall(method, contact_path(op.remote_id or "", f"/{name}"), {name: tags}, op_ids=ids)
                )
    if body:
        calls.append(HttpCall("PUT", path, body, op_ids=ids))
    return calls


def is_tag_call(call: HttpCall) -> bool:
    return call.path.endswith(f"/{SETS_TAGS}")


def tag_calls(calls: Sequence[HttpCall], location_id: str) -> list[HttpCall]:
    """The per-contact tag calls of a batch of updates, with those that share their method and tags
    merged into one bulk call: additions first, then removals, as each op orders them."""
    groups: dict[tuple[str, tuple[str, ...]], list[HttpCall]] = {}
    for call in calls:
        groups.setdefault((call.method, tuple(call.body[SETS_TAGS])), []).append(call)
    out: list[HttpCall] = []
    for (method, tags), members in sorted(groups.items(), key=lambda kv: (kv[0][0] != "POST", kv[0][1])):
        if len(members) == 1:
            out.extend(members)
            continue
        kind = "add" if method == "POST" else "remove"
        ids = [contact_id(c.path) for c in members]
        body = {"contacts": ids, "tags": list(tags), "locationId": location_id}
        out.append(HttpCall("POST", BULK_TAGS.format(kind=kind), body,
                            op_ids=tuple(i for c in members for i in c.op_ids)))  # fmt: skip
    return out


def contact_id(path: str) -> str:
    """The contact id of a ``/contacts/{id}/...`` path."""
    return unquote(path.split("/")[2])


def tags_after(item: Mapping[str, Any]) -> list[str] | None:
    """A contact's tags after a bulk tag call, from its item of the answer (None: not readable)."""
    old, added, removed = item.get("oldTags"), item.get("tagsAdded"), item.get("tagsRemoved")
    if not isinstance(old, list):
        return None
    gone = {str(t).casefold() for t in removed or []}
    kept = [str(t) for t in old if str(t).casefold() not in gone]
    held = {t.casefold() for t in kept}
    return kept + [str(t) for t in added or [] if str(t).casefold() not in held]


# ---------------------------------------------------------------------- reading answers


def classify(response: httpx.Response, field_map: LeadConnectorMap) -> Verdict | None:
    """LeadConnector's error answers: 400 "Contact with id … not found" is a missing record, a 400
    with ``meta.contactId`` a duplicate, and a 422 names the canonical field it blames."""
    status = response.status_code
    if status not in (400, 422):
        return None
    body = response_body(response)
    messages = _messages(body)
    if status == 400 and any(_NOT_FOUND.search(m) for m in messages):
        return Verdict(Outcome.MISSING)
    existing = existing_id_in(body)
    if existing:
        meta = body.get("meta") if isinstance(body, Mapping) else None
        matching = meta.get("matchingField") if isinstance(meta, Mapping) else None
        blamed = field_map.canonical_name(matching) if isinstance(matching, str) else None
        return Verdict(Outcome.DUPLICATE, existing_id=existing, field=blamed)
    blamed = next((b for m in messages if (b := _blamed(m, response, field_map))), None)
    return Verdict(Outcome.RECORD, field=blamed) if blamed else None


def _messages(body: Any) -> list[str]:
    message = body.get("message") if isinstance(body, Mapping) else body
    if isinstance(message, str):
        return [message]
    if isinstance(message, list):
        return [str(m) for m in message]
    return []


def _blamed(message: str, response: httpx.Response, field_map: LeadConnectorMap) -> str | None:
    """The canonical field a validation message is about (the sent body resolves custom-field items)."""
    rejected = _REJECTED.search(message)
    name = rejected.group(1) if rejected else message.split(" ", 1)[0]
    if item := _CUSTOM_ITEM.match(name):
        try:
            sent = json.loads(response.request.content or b"null")
            field_id = sent[CUSTOM_FIELDS][int(item.group(1))]["id"]
        except (ValueError, TypeError, KeyError, IndexError):
            return "custom"
        return field_map.custom_target(str(field_id)) or "custom"
    head = name.split(".", 1)[0]
    if not head or not head[0].isalpha():
        return None
    canonical = field_map.canonical_name(head)
    return canonical if canonical != head or rejected else None
