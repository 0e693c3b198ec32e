"""The LeadConnector (GoHighLevel API v2) connector: one location, Bearer token and ``Version`` header.

What is particular to this API (apis.md section 2):

* records are read through ``POST /contacts/search`` (up to 500 a page), sorted on
  ``dateUpdated`` and, for an incremental pull, filtered to ``dateUpdated >= since - overlap``.
  Pages follow the ``searchAfter`` cursor of the last hit rather than ``page`` numbers: the cursor
  has no 10,000-record window, and a record edited during the pull (which moves to the end of
  the sort) cannot shift an unread record onto a page already read. The search index lags a few
  seconds behind writes; the overlap window covers that;
* search hits differ from the GET shape, so every record is kept in one read shape
  (``leadconnector_writes.read_shape``) whichever endpoint returned it;
* ``PUT /contacts/{id}`` is partial with a strict whitelist: only changed fields are sent; tags
  go through the per-contact add/remove endpoints unless the op replaces the whole set;
* a create is not idempotent; a duplicate (email or phone, per the location's setting) is a 400
  naming the existing contact (``DuplicateRecordError.existing_id``); a create whose reply was
  lost is looked up by email/phone (``find_created``) before anything is resent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from syncengine.canonical import Canonical, InvalidValueError, is_blank
from syncengine.connectors.base import (
    ConnectorOptions,
    HttpCall,
    RemoteRecord,
    ResultCallback,
    WriteOp,
    WriteResult,
    fetch_each,
)
from syncengine.connectors.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    DuplicateRecordError,
    OutcomeUnknownError,
    RecordError,
    StopSystemError,
    Verdict,
)
from syncengine.connectors.http import HttpClient
from syncengine.connectors.leadconnector_writes import (
    CONTACTS,
    TAG_BATCH,
    classify,
    contact_id,
    contact_path,
    is_tag_call,
    iso_ms,
    parse_time,
    plan_calls,
    read_shape,
    tag_calls,
    tags_after,
    with_deltas,
)
from syncengine.connectors.partial import (
    Built,
    errors_for,
    guarded,
    leave_out,
    left_out_of,
    refusal_of,
    refused_error,
    with_left_out,
)
from syncengine.connectors.settings import SystemSettings
from syncengine.connectors.stale import MovedSincePull, PullMark, refuse_if_moved, written_fields
from syncengine.fieldmaps.leadconnector import LeadConnectorCatalogue, LeadConnectorMap

PAGE_SIZE = 500  # the documented maximum of ``pageLimit``
SEARCH = "/contacts/search"
DUPLICATE = "/contacts/search/duplicate"
MAX_FILTER_TEXT = 75  # search filter values longer than this are refused


class LeadConnectorConnector:
    """One LeadConnector location; see the module docstring.

    ``update_duplicates``: a create that collides with an existing contact updates that contact
    instead of failing with ``DuplicateRecordError`` (the default leaves linking to the engine).
    """

    system = "leadconnector"

    def __init__(
        self,
        settings: SystemSettings,
        *,
        client: HttpClient | None = None,
        options: ConnectorOptions | None = None,
        update_duplicates: bool = False,
    ) -> None:
        if not settings.location_id:
            raise ConfigError("LEADCONNECTOR_LOCATION_ID is missing", system=self.system)
        self.settings = settings
        self.location_id: str = settings.location_id
        self.options = options or ConnectorOptions()
        self.client = client or HttpClient(settings)
        self.update_duplicates = update_duplicates
        self.field_map = LeadConnectorMap(None, self.options)
        self.catalogue: LeadConnectorCatalogue | None = None
        self._sent_at: dict[str, datetime] = {}  # op id -> when its create was first sent
        self._pull_mark = PullMark()  # writes check the records changed after the last pull
        self._moved: tuple[datetime | None, MovedSincePull] | None = None  # that check, per pull

    def __repr__(self) -> str:
        return f"<LeadConnectorConnector {self.settings.base_url} location {self.location_id}>"

    # ------------------------------------------------------------------ reads

    @property
    def fields(self) -> frozenset[str]:
        return self.field_map.fields

    def check(self) -> None:
        try:
            self._search({"pageLimit": 1})
        except AuthError as exc:
            if exc.status == 403:
                detail = (
                    f"the token has no access to location {self.location_id}; check LEADCONNECTOR_LOCATION_ID"
                )
            else:
                detail = "the token was refused; check LEADCONNECTOR_TOKEN (tokens expire after a day)"
            raise AuthError(
                detail, system=self.system, method="POST", path=SEARCH, status=exc.status
            ) from None

    def load_catalogue(self) -> LeadConnectorCatalogue:
        path = f"/locations/{self.location_id}/customFields"
        answer = self.client.request_json("GET", path, params={"model": "contact"})
        items = answer.get("customFields") if isinstance(answer, Mapping) else None
        if not isinstance(items, list):
            raise ConfigError(f"GET {path} did not answer a 'customFields' list", system=self.system)
        catalogue = LeadConnectorCatalogue.from_json(items)
        try:
            self.field_map = self.field_map.with_catalogue(catalogue)
        except ValueError as exc:  # a custom-field option naming no field of the location
            raise ConfigError(str(exc), system=self.system) from None
        self.catalogue = catalogue
        return catalogue

    def pull(self, since: datetime | None, *, full: bool = False) -> Iterator[RemoteRecord]:
        floor = None if full or since is None else since - self.options.overlap
        yield from self._pull_mark.watch(self._changed_since(floor))

    def _changed_since(self, floor: datetime | None) -> Iterator[RemoteRecord]:
        """Every record updated at or after ``floor`` (all of them without one), oldest first."""
        body: dict[str, Any] = {"sort": [{"field": "dateUpdated", "direction": "asc"}]}
        if floor is not None:
            gte = iso_ms(floor)
            body["filters"] = [{"field": "dateUpdated", "operator": "range", "value": {"gte": gte}}]
        seen: set[str] = set()
        after: list[Any] | None = None
        while True:
            page = self._search({**body, "pageLimit": PAGE_SIZE, **({"searchAfter": after} if after else {})})
            for item in page:
                remote_id = str(item["id"])
                if remote_id not in seen:  # an edit during the pull moves a record to the end
                    seen.add(remote_id)
                    yield self._record(item)
            cursor = page[-1].get("searchAfter") if page else None
            if len(page) < PAGE_SIZE or not isinstance(cursor, list) or cursor == after:
                return
            after = cursor

    def _search(self, body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        answer = self.client.request_json(
            "POST", SEARCH, json={"locationId": self.location_id, **body}, idempotent=True
        )
        contacts = answer.get("contacts") if isinstance(answer, Mapping) else None
        if not isinstance(contacts, list):
            raise ConfigError(f"POST {SEARCH} did not answer a 'contacts' list", system=self.system)
        return [c for c in contacts if isinstance(c, Mapping) and c.get("id")]

    def get(self, remote_id: str) -> RemoteRecord:
        path = contact_path(remote_id)
        answer = self.client.request_json("GET", path, remote_id=remote_id, classify=self._classify)
        return self._record(_contact(answer, f"GET {path}"))

    def fetch_many(self, remote_ids: Sequence[str]) -> tuple[list[RemoteRecord], list[str]]:
        """The records with these ids and the ids not found: one ``GET /contacts/{id}`` per id (the API
        has no batch read by id)."""
        return fetch_each(self.get, remote_ids)

    def to_canonical(self, record: RemoteRecord) -> Canonical:
        return self.field_map.to_canonical(record.raw)

    def find_created(self, op: WriteOp) -> RemoteRecord | None:
        """The contact with the op's email (else phone), as LeadConnector's duplicate check finds it.

        The duplicate lookup reads the database, not the lagging search index. When the op was sent
        by this connector, a match created before the send (less the overlap) is not the op's
        record; then the newest contact created since the send with that email or phone is looked
        for (a location that allows duplicates may hold both).
        """
        email, phone = op.values.get("email"), op.values.get("phone")
        if is_blank(email) and is_blank(phone):
            return None
        sent_at = self._sent_at.get(op.op_id)
        floor = sent_at - self.options.overlap if sent_at is not None else None
        params = {"locationId": self.location_id}
        params.update({"email": str(email)} if not is_blank(email) else {})
        params.update({"number": str(phone)} if not is_blank(phone) else {})
        answer = self.client.request_json("GET", DUPLICATE, params=params)
        found = answer.get("contact") if isinstance(answer, Mapping) else None
        if isinstance(found, Mapping) and found.get("id") and self._same_person(op, found):
            added = parse_time(found.get("dateAdded"))
            if floor is None or added is None or added >= floor:
                return self._record(found)
        if floor is None:
            return None
        return self._newest_since(floor, "email" if not is_blank(email) else "phone", str(email or phone))

    @staticmethod
    def _same_person(op: WriteOp, found: Mapping[str, Any]) -> bool:
        """The duplicate check matches by email or phone; a record found by a phone another person
        shares, or with another email, is not the op's record."""
        email = op.values.get("email")
        if is_blank(email):
            return True
        return str(found.get("email") or "").casefold() == str(email).casefold()

    def _newest_since(self, floor: datetime, field: str, value: str) -> RemoteRecord | None:
        if len(value) > MAX_FILTER_TEXT:
            return None
        filters = [
            {"field": field, "operator": "eq", "value": value},
            {"field": "dateAdded", "operator": "range", "value": {"gte": iso_ms(floor)}},
        ]
        sort = [{"field": "dateAdded", "direction": "desc"}]
        hits = self._search({"pageLimit": 1, "filters": filters, "sort": sort})
        return self._record(hits[0]) if hits else None

    # ------------------------------------------------------------------ writes

    def describe(self, ops: Sequence[WriteOp]) -> list[HttpCall]:
        calls: list[HttpCall] = []
        checked: list[tuple[str, str]] = []  # op id, remote id
        for start in range(0, len(ops), TAG_BATCH):
            tagging: list[HttpCall] = []
            rest: list[HttpCall] = []
            for op in ops[start : start + TAG_BATCH]:
                try:
                    planned = self._plan(op).value
                except InvalidValueError:
                    continue  # push sends nothing for this op
                if self._checks_first(op, planned):
                    checked.append((op.op_id, op.remote_id or ""))
                tagging.extend(c for c in planned if is_tag_call(c))
                rest.extend(c for c in planned if not is_tag_call(c))
                if _reads_back(op, planned):
                    rest.append(HttpCall("GET", contact_path(op.remote_id or ""), op_ids=(op.op_id,)))
            calls.extend(tag_calls(tagging, self.location_id) + rest)
        # Before each batch of updates, one search lists the records changed since the pull; with no
        # pull to start from, each record is read (stale.py).
        if not self._pull_mark.pulled:
            reads = [HttpCall("GET", contact_path(rid), op_ids=(oid,)) for oid, rid in checked]
            return reads + calls
        body = {"locationId": self.location_id, "pageLimit": PAGE_SIZE, "sort": [{"field": "dateUpdated",
                "direction": "asc"}]}  # fmt: skip
        listings = [
            HttpCall("POST", SEARCH, body, op_ids=tuple(op_id for op_id, _ in checked[i : i + PAGE_SIZE]))
            for i in range(0, len(checked), PAGE_SIZE)
        ]
        return listings + calls

    @staticmethod
    def _checks_first(op: WriteOp, calls: Sequence[HttpCall]) -> bool:
        """Whether ``push`` checks that the record has not moved since the pull before writing: an
        update that carries the record as pulled and writes fields with a PUT (tag deltas go through
        add/remove endpoints, which keep a tag a person added meanwhile)."""
        return op.kind == "update" and op.expected is not None and any(c.method == "PUT" for c in calls)

    def _plan(self, op: WriteOp) -> Built[list[HttpCall]]:
        """The op's calls, less the fields LeadConnector cannot take."""
        return leave_out(op, lambda o: plan_calls(o, self.field_map, self.location_id))

    def refusal(self, op: WriteOp) -> RecordError | None:
        return refusal_of(self.system, op, self._plan)

    def left_out(self, op: WriteOp) -> list[RecordError]:
        return left_out_of(self.system, op, self._plan)

    def push(self, ops: Sequence[WriteOp], on_result: ResultCallback | None = None) -> list[WriteResult]:
        if self.catalogue is None and any(op.kind != "delete" for op in ops):
            self.load_catalogue()
        moved = self._moved_since_pull()
        results = []
        for start in range(0, len(ops), TAG_BATCH):
            for result in self._push_batch(ops[start : start + TAG_BATCH], moved):
                results.append(result)
                if on_result is not None:
                    on_result(result)
        return results

    def _push_batch(self, ops: Sequence[WriteOp], moved: MovedSincePull) -> Iterator[WriteResult]:
        """Up to ``TAG_BATCH`` ops: the updates checked and planned, their tag calls grouped
        (``tag_calls``), then each op's own calls in order."""
        done: dict[str, WriteResult] = {}
        staged: dict[str, tuple[WriteOp, Built[list[HttpCall]]]] = {}
        for op in ops:
            if op.kind == "update":
                result = self._guarded(op, functools.partial(self._stage, op, moved, staged))
                if not result.ok:
                    done[op.op_id] = result
        tags, failed = self._send_tags([c for _, b in staged.values() for c in b.value if is_tag_call(c)])
        for op in ops:
            if op.op_id in done:
                yield done[op.op_id]
            elif op.op_id in failed:
                yield WriteResult(op.op_id, ok=False, error=failed[op.op_id])
            elif op.op_id in staged:
                original, built = staged[op.op_id]
                finish = functools.partial(self._finish, original, built, tags.get(op.op_id))
                yield self._guarded(op, finish)
            else:
                yield self._push_one(op, moved)

    def _guarded(self, op: WriteOp, write: Callable[[], WriteResult]) -> WriteResult:
        return guarded(self.system, op, write)

    def _stage(
        self, op: WriteOp, moved: MovedSincePull, staged: dict[str, tuple[WriteOp, Built[list[HttpCall]]]]
    ) -> WriteResult:
        """Check an update against the record as it is now and plan it (into ``staged``)."""
        if not op.remote_id:
            raise RecordError("update without a remote id", system=self.system)
        built = self._plan(op)
        fresh = moved.latest(op.remote_id, _planned_from(op)) if self._checks_first(op, built.value) else None
        if fresh is not None:
            # The PUT would write over a value a person saved since the pull (stale.py).
            path = contact_path(op.remote_id)
            refuse_if_moved(op, fresh, written_fields(op), self.to_canonical, method="PUT", path=path)
        staged[op.op_id] = (op, built)
        return WriteResult(op.op_id, ok=True)

    def _send_tags(self, calls: Sequence[HttpCall]) -> tuple[dict[str, list[str]], dict[str, ConnectorError]]:
        """The batch's tag calls; each op's tags after them, and the ops a call failed for. A tag
        call sets a membership, so resending it is harmless."""
        tags: dict[str, list[str]] = {}
        failed: dict[str, ConnectorError] = {}
        for call in tag_calls(calls, self.location_id):
            todo = [i for i in call.op_ids if i not in failed]
            if not todo:
                continue
            single = None if "/bulk/" in call.path else contact_id(call.path)
            try:
                answer = self.client.request_json(
                    call.method, call.path, json=call.body, remote_id=single, idempotent=True,
                    classify=self._classify,
                )  # fmt: skip
            except StopSystemError:
                raise
            except ConnectorError as exc:
                failed.update({op_id: exc for op_id in todo})
                continue
            if single is not None:
                held = answer.get("tags") if isinstance(answer, Mapping) else None
                if isinstance(held, list):
                    tags.update({op_id: [str(t) for t in held] for op_id in todo})
                continue
            self._read_bulk_tags(call, answer, todo, tags, failed)
        return tags, failed

    def _read_bulk_tags(
        self, call: HttpCall, answer: Any, op_ids: Sequence[str], tags: dict[str, list[str]],
        failed: dict[str, ConnectorError],
    ) -> None:  # fmt: skip
        """The per-contact items of a bulk tag answer: each contact's tags, or why it failed."""
        items = answer.get("responses") if isinstance(answer, Mapping) else None
        by_id = {str(i.get("contactId")): i for i in items or [] if isinstance(i, Mapping)}
        for op_id, remote_id in zip(op_ids, call.body["contacts"], strict=False):
            item = by_id.get(remote_id)
            after = tags_after(item) if item is not None and item.get("type") == "success" else None
            if after is not None:
                tags[op_id] = after
            elif item is not None and item.get("type") == "error":
                failed[op_id] = RecordError(
                    f"tags not changed: {item.get('message')}", remote_id=remote_id, field="tags",
                    system=self.system, method=call.method, path=call.path,
                )  # fmt: skip
            else:
                failed[op_id] = OutcomeUnknownError(
                    f"the bulk tag call answered without contact {remote_id}", system=self.system,
                    method=call.method, path=call.path,
                )  # fmt: skip

    def _finish(self, op: WriteOp, built: Built[list[HttpCall]], tags: list[str] | None) -> WriteResult:
        """The update's PUT, if any; the record as written is its answer, or the record as pulled
        with the tags the tag calls answered (a GET only without that record)."""
        record = None
        for call in built.value:
            if not is_tag_call(call):
                record = self._send(call, op.remote_id) or record
        if record is None:
            base = op.expected.raw if op.expected is not None else None
            if base is None or (tags is None and any(is_tag_call(c) for c in built.value)):
                record = self.get(op.remote_id or "")
            else:
                record = self._record({**base, "tags": tags} if tags is not None else base)
        return WriteResult(op.op_id, ok=True, record=record, left_out=errors_for(self.system, built, op))

    def _moved_since_pull(self) -> MovedSincePull:
        """The check before writes, kept across the pushes of one pull (a run pushes a batch of
        entities at a time): each push lists only what changed since the last listing."""
        if self._moved is None or self._moved[0] != self._pull_mark.started:
            floor = self._pull_mark.floor(self.options.overlap)
            moved = MovedSincePull(self._changed_since, self.get, floor, batch=PAGE_SIZE)
            self._moved = (self._pull_mark.started, moved)
        self._moved[1].relist()
        return self._moved[1]

    def _push_one(self, op: WriteOp, moved: MovedSincePull | None = None) -> WriteResult:
        try:
            if op.kind not in ("create", "update", "delete"):
                raise RecordError(f"unknown op kind {op.kind!r}", system=self.system, remote_id=op.remote_id)
            if op.kind != "create" and not op.remote_id:
                raise RecordError(f"{op.kind} without a remote id", system=self.system)
            built = self._plan(op)
            calls = built.value
            if op.kind == "create":
                result = self._create(built.op, calls[0])
                remote_id = result.record.remote_id if result.record is not None else None
                return with_left_out(result, errors_for(self.system, built, op, remote_id=remote_id))
            fresh = None
            if moved is not None and self._checks_first(op, calls):
                fresh = moved.latest(op.remote_id or "", _planned_from(op))
            if fresh is not None:
                # The PUT would write over a value a person saved since the pull (stale.py).
                path = contact_path(op.remote_id or "")
                refuse_if_moved(op, fresh, written_fields(op), self.to_canonical, method="PUT", path=path)
            record = None
            for call in calls:
                record = self._send(call, op.remote_id) or record
            return WriteResult(op.op_id, ok=True, record=record, left_out=errors_for(self.system, built, op))
        except StopSystemError:
            raise
        except InvalidValueError as exc:
            return WriteResult(op.op_id, ok=False, error=refused_error(self.system, op, exc))
        except ConnectorError as exc:  # record and transient errors fail this op only
            return WriteResult(op.op_id, ok=False, error=exc)

    def _send(self, call: HttpCall, remote_id: str | None) -> RemoteRecord | None:
        """One planned call; the record when the answer carries the contact."""
        answer = self.client.request_json(
            call.method,
            call.path,
            json=call.body,
            remote_id=remote_id,
            idempotent=call.method != "POST" or call.path != CONTACTS,
            classify=self._classify,
        )
        if isinstance(answer, Mapping) and isinstance(answer.get("contact"), Mapping):
            return self._record(answer["contact"])
        return None

    def _create(self, op: WriteOp, call: HttpCall) -> WriteResult:
        self._sent_at.setdefault(op.op_id, datetime.now(UTC))
        try:
            record = self._send(call, None)
        except OutcomeUnknownError as unknown:
            try:
                found = self.find_created(op)
            except StopSystemError:
                raise
            except ConnectorError:
                found = None  # the lookup failed too: the outcome stays unknown, for the outbox to settle
            if found is None:
                raise unknown from None
            return WriteResult(op.op_id, ok=True, record=found, recovered=True)
        except DuplicateRecordError as exc:
            if not self.update_duplicates or not exc.existing_id:
                raise
            return self._push_one(self._as_update(op, exc.existing_id))
        if record is None:
            raise ConfigError(f"POST {CONTACTS} answered without a contact", system=self.system)
        return WriteResult(op.op_id, ok=True, record=record)

    def _as_update(self, op: WriteOp, remote_id: str) -> WriteOp:
        """A create turned into an update of the contact it duplicates; its tags are added, not
        replaced, so the existing contact keeps its own."""
        values = with_deltas(op)
        tags = frozenset(values.pop("tags", None) or ())
        add = {"tags": tags} if tags else {}
        return WriteOp(op.op_id, self.system, "update", remote_id=remote_id, values=values, add=add)

    def _classify(self, response: httpx.Response) -> Verdict | None:
        return classify(response, self.field_map)

    def _record(self, item: Mapping[str, Any]) -> RemoteRecord:
        raw = read_shape(item)
        return RemoteRecord(self.system, str(raw["id"]), raw, parse_time(raw.get("dateUpdated")))

    def close(self) -> None:
        self.client.close()


def _reads_back(op: WriteOp, calls: Sequence[HttpCall]) -> bool:
    """Whether an update reads its record back: no PUT answers it and there is no record as pulled."""
    return op.kind == "update" and op.expected is None and not any(c.method == "PUT" for c in calls)


def _contact(answer: Any, where: str) -> Mapping[str, Any]:
    contact = answer.get("contact") if isinstance(answer, Mapping) else None
    if not isinstance(contact, Mapping) or not contact.get("id"):
        raise ConfigError(f"{where} answered without a 'contact'; check the base URL")
    return contact


def _planned_from(op: WriteOp) -> datetime | None:
    """The update time of the version of the record ``op`` was planned from."""
    return op.expected.updated_at if op.expected is not None else None
