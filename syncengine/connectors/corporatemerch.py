"""The CorporateMerch connector: ``/v2`` contacts with Bearer auth, full scans and whole-record writes.

What is particular to this API (apis.md section 3):

* no filter or sort besides ``page``/``limit`` (at most 50): every pull is a full scan, newest
  created first, and ``since`` only narrows what is yielded, by ``updated_at``;
* an update is a full replacement (``PUT``), so it is a read-modify-write of the whole record,
  refused with ``StaleRecordError`` when the record moved since the op's ``expected`` read;
* ``labels`` (canonical ``tags``) and ``lists`` are int ids named by two catalogues;
* creates are not idempotent and there is no search: a create whose reply was lost is looked up
  by email in the newest records (``find_created``) instead of being sent again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from syncengine.canonical import Canonical, InvalidValueError, is_blank
from syncengine.connectors.base import (
    KNOWN_LIMIT,
    ConnectorOptions,
    HttpCall,
    RemoteRecord,
    ResultCallback,
    WriteOp,
    WriteResult,
    fetch_each,
)
from syncengine.connectors.corporatemerch_writes import create_body, has_moved, update_body
from syncengine.connectors.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    MissingRecordError,
    Outcome,
    OutcomeUnknownError,
    RecordError,
    StaleRecordError,
    StopSystemError,
    Verdict,
    field_in,
    response_body,
)
from syncengine.connectors.http import HttpClient
from syncengine.connectors.partial import Built, errors_for, leave_out, left_out_of, refusal_of, refused_error
from syncengine.connectors.settings import SystemSettings
from syncengine.fieldmaps.corporatemerch import CorporateMerchCatalogue, CorporateMerchMap

PAGE_SIZE = 50  # the documented maximum of ``limit``
CONTACTS = "/contacts"


class CorporateMerchConnector:
    """One CorporateMerch account; see the module docstring."""

    system = "corporatemerch"

    def __init__(
        self,
        settings: SystemSettings,
        *,
        client: HttpClient | None = None,
        options: ConnectorOptions | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or ConnectorOptions()
        self.client = client or HttpClient(settings)
        try:
            self.field_map = CorporateMerchMap(None, self.options)
        except ValueError as exc:  # a custom-field option naming no CorporateMerch field
            raise ConfigError(str(exc), system=self.system) from None
        self.catalogue: CorporateMerchCatalogue | None = None
        self._known: dict[str, Mapping[str, Any]] = {}  # each record as last read, for describe()
        self._sent_at: dict[str, datetime] = {}  # op id -> when its create was first sent

    def __repr__(self) -> str:
        return f"<CorporateMerchConnector {self.settings.base_url}>"

    # ------------------------------------------------------------------ reads

    @property
    def fields(self) -> frozenset[str]:
        return self.field_map.fields

    def check(self) -> None:
        try:
            self.client.request("GET", CONTACTS, params={"page": 1, "limit": 1})
        except AuthError as exc:
            raise AuthError(
                "the API token was refused; check CORPORATEMERCH_TOKEN",
                system=self.system,
                method="GET",
                path=CONTACTS,
                status=exc.status,
            ) from None

    def load_catalogue(self) -> CorporateMerchCatalogue:
        self.catalogue = CorporateMerchCatalogue(
            labels=self._catalogue("labels"), lists=self._catalogue("lists")
        )
        self.field_map = self.field_map.with_catalogue(self.catalogue)
        return self.catalogue

    def _catalogue(self, kind: str) -> dict[int, str]:
        items = _data(self.client.request_json("GET", f"/{kind}"), f"GET /{kind}")
        if not isinstance(items, list):
            raise ConfigError(f"GET /{kind} did not answer a list under 'data'", system=self.system)
        entries = {}
        for item in items:
            number = item.get("id") if isinstance(item, Mapping) else None
            if isinstance(number, int) and not isinstance(number, bool) and isinstance(item.get("name"), str):
                entries[number] = item["name"]
        return entries

    def pull(self, since: datetime | None, *, full: bool = False) -> Iterator[RemoteRecord]:
        floor = None if full or since is None else since - self.options.overlap
        for item in self._scan():
            updated_at = parse_time(item.get("updated_at"))
            if floor is not None and updated_at is not None and updated_at < floor:
                continue
            if "lists" in item and "labels" in item:
                yield self._record(item)
                continue
            try:  # some accounts list contacts without their memberships: read the whole record
                yield self.get(str(item["id"]))
            except MissingRecordError:
                continue  # deleted since it was listed; the next full scan sees it gone

    def _scan(self) -> Iterator[Mapping[str, Any]]:
        """Every contact once, newest created first, page by page until ``has_more`` is false.

        A contact deleted during the scan moves later ones up a page; when ``total`` drops, the
        pages already read that the shift reaches are read again, so no record is missed.
        """
        seen: set[str] = set()
        page, total = 1, None
        while True:
            items, pagination = self._page(page)
            yield from _unseen(items, seen)
            now_total = pagination.get("total")
            if isinstance(total, int) and isinstance(now_total, int) and now_total < total:
                first = max(1, page - math.ceil((total - now_total) / PAGE_SIZE))
                for back in range(first, page):
                    yield from _unseen(self._page(back)[0], seen)
            total = now_total if isinstance(now_total, int) else total
            has_more = pagination.get("has_more")
            if has_more is None:
                has_more = pagination.get("current_page", page) < pagination.get("last_page", page)
            if not has_more or not items:
                return
            page += 1

    def _page(self, page: int) -> tuple[list[Mapping[str, Any]], Mapping[str, Any]]:
        answer = self.client.request_json("GET", CONTACTS, params={"page": page, "limit": PAGE_SIZE})
        items = _data(answer, "GET /contacts")
        pagination = answer.get("pagination") if isinstance(answer, Mapping) else None
        if not isinstance(items, list) or not isinstance(pagination, Mapping):
            raise ConfigError("GET /contacts did not answer 'data' and 'pagination'", system=self.system)
        return [i for i in items if isinstance(i, Mapping) and i.get("id") is not None], pagination

    def get(self, remote_id: str) -> RemoteRecord:
        path = _contact_path(remote_id)
        answer = self.client.request_json("GET", path, remote_id=remote_id)
        return self._record(_data(answer, f"GET {path}"))

    def fetch_many(self, remote_ids: Sequence[str]) -> tuple[list[RemoteRecord], list[str]]:
        """The records with these ids and the ids not found: one ``GET /contacts/{id}`` per id (not in
        CorporateMerch's documents, but the read its replace writes already make)."""
        return fetch_each(self.get, remote_ids)

    def to_canonical(self, record: RemoteRecord) -> Canonical:
        return self.field_map.to_canonical(record.raw)

    def find_created(self, op: WriteOp) -> RemoteRecord | None:
        """The newest record with the op's email, created no earlier than the op was first sent.

        Records come newest first, so the scan stops at the first one created before the send
        (less the overlap, for clock skew); an op this connector did not send is searched for in
        every record.
        """
        email = op.values.get("email")
        if is_blank(email):
            return None
        wanted = str(email).casefold()
        sent_at = self._sent_at.get(op.op_id)
        stop = sent_at - self.options.overlap if sent_at is not None else None
        for item in self._scan():
            created_at = parse_time(item.get("created_at"))
            if stop is not None and created_at is not None and created_at < stop:
                return None
            if str(item.get("email") or "").casefold() == wanted:
                return self.get(str(item["id"]))
        return None

    # ------------------------------------------------------------------ writes

    def describe(self, ops: Sequence[WriteOp]) -> list[HttpCall]:
        """The calls ``push`` makes: an update's PUT body is built on ``op.expected`` or on the record
        as this connector last read it; for a record it never read, only the changed fields show."""
        calls: list[HttpCall] = []
        for op in ops:
            calls.extend(self._calls(op))
        return calls

    def _calls(self, op: WriteOp) -> list[HttpCall]:
        ids = (op.op_id,)
        try:
            if op.kind == "create":
                return [HttpCall("POST", CONTACTS, self._create_body(op).value, op_ids=ids)]
            path = _contact_path(op.remote_id or "")
            if op.kind == "delete":
                return [HttpCall("DELETE", path, op_ids=ids)]
            read = HttpCall("GET", path, op_ids=ids)
        except InvalidValueError:
            return []  # push sends nothing for this op
        try:
            built = self._update_body(op, self._last_read(op))
        except InvalidValueError:
            return [read]  # push reads the record, then refuses to send it
        if not _writes_any(built.op):
            return [read]
        return [read, HttpCall("PUT", path, built.value, op_ids=ids)]

    def _last_read(self, op: WriteOp) -> Mapping[str, Any] | None:
        return op.expected.raw if op.expected is not None else self._known.get(op.remote_id or "")

    def _create_body(self, op: WriteOp) -> Built[dict[str, Any]]:
        return leave_out(op, lambda o: create_body(o, self.field_map))

    def _update_body(self, op: WriteOp, raw: Mapping[str, Any] | None) -> Built[dict[str, Any]]:
        """The PUT body on ``raw``; for a record never read, only the fields that change."""
        if raw is None:
            return leave_out(op, lambda o: self.field_map.update_body(o.values))
        return leave_out(op, lambda o: update_body(raw, o, self.field_map))

    def _built(self, op: WriteOp) -> Built[dict[str, Any]] | None:
        if op.kind == "create":
            return self._create_body(op)
        if op.kind == "update":
            return self._update_body(op, self._last_read(op))
        return None

    def refusal(self, op: WriteOp) -> RecordError | None:
        return refusal_of(self.system, op, self._built)

    def left_out(self, op: WriteOp) -> list[RecordError]:
        return left_out_of(self.system, op, self._built)

    def push(self, ops: Sequence[WriteOp], on_result: ResultCallback | None = None) -> list[WriteResult]:
        if self.catalogue is None and any(op.kind != "delete" for op in ops):
            self.load_catalogue()
        results = []
        for op in ops:
            result = self._push_one(op)
            results.append(result)
            if on_result is not None:
                on_result(result)
        return results

    def _push_one(self, op: WriteOp) -> WriteResult:
        try:
            if op.kind == "create":
                return self._create(op)
            if not op.remote_id:
                raise RecordError(f"{op.kind} without a remote id", system=self.system)
            if op.kind == "update":
                return self._update(op)
            if op.kind == "delete":
                path = _contact_path(op.remote_id)
                self.client.request("DELETE", path, remote_id=op.remote_id)
                self._known.pop(op.remote_id, None)
                return WriteResult(op.op_id, ok=True)
            raise RecordError(f"unknown op kind {op.kind!r}", system=self.system, remote_id=op.remote_id)
        except StopSystemError:
            raise
        except InvalidValueError as exc:
            return WriteResult(op.op_id, ok=False, error=refused_error(self.system, op, exc))
        except ConnectorError as exc:  # record, stale and transient errors fail this op only
            return WriteResult(op.op_id, ok=False, error=exc)

    def _create(self, op: WriteOp) -> WriteResult:
        built = self._create_body(op)
        self._sent_at.setdefault(op.op_id, datetime.now(UTC))
        try:
            answer = self.client.request_json(
                "POST", CONTACTS, json=built.value, idempotent=False, classify=self._classify
            )
        except OutcomeUnknownError:
            found = self.find_created(op)
            if found is None:
                raise
            record, recovered = found, True
        else:
            record, recovered = self._record(_data(answer, "POST /contacts")), False
        left = errors_for(self.system, built, op, remote_id=record.remote_id)
        return WriteResult(op.op_id, ok=True, record=record, recovered=recovered, left_out=left)

    def _update(self, op: WriteOp) -> WriteResult:
        assert op.remote_id is not None
        path = _contact_path(op.remote_id)
        current = self.get(op.remote_id)
        if op.expected is not None and (why := has_moved(op.expected, current)):
            raise StaleRecordError(
                f"record {op.remote_id} moved since it was read ({why}); left for the next run",
                remote_id=op.remote_id,
                system=self.system,
                method="PUT",
                path=path,
            )
        built = self._update_body(op, current.raw)
        left = errors_for(self.system, built, op)
        if not _writes_any(built.op):  # every change was left out: the record stays as it is
            return WriteResult(op.op_id, ok=True, record=current, left_out=left)
        answer = self.client.request_json(
            "PUT", path, json=built.value, remote_id=op.remote_id, classify=self._classify
        )
        record = self._record(_data(answer, f"PUT {path}"))
        return WriteResult(op.op_id, ok=True, record=record, left_out=left)

    def _classify(self, response: httpx.Response) -> Verdict | None:
        """A 422 names CorporateMerch fields; the record error carries the canonical one."""
        if response.status_code != 422:
            return None
        blamed = field_in(response_body(response))
        return Verdict(Outcome.RECORD, field=self.field_map.canonical_name(blamed)) if blamed else None

    def _record(self, raw: Any) -> RemoteRecord:
        if not isinstance(raw, Mapping) or raw.get("id") is None:
            raise ConfigError("a contact without an id in the answer", system=self.system)
        remote_id = str(raw["id"])
        self._known[remote_id] = raw
        if len(self._known) > KNOWN_LIMIT:  # describe()'s fallback: a run's memory must not grow with it
            del self._known[next(iter(self._known))]
        return RemoteRecord(self.system, remote_id, dict(raw), parse_time(raw.get("updated_at")))

    def close(self) -> None:
        self.client.close()


def parse_time(value: Any) -> datetime | None:
    """A CorporateMerch timestamp as UTC (a value without zone is read as UTC); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _writes_any(op: WriteOp) -> bool:
    return bool(op.values or op.add or op.remove)


def _data(answer: Any, where: str) -> Any:
    if not isinstance(answer, Mapping) or "data" not in answer:
        raise ConfigError(f"{where} answered without a 'data' envelope; check the base URL")
    return answer["data"]


def _contact_path(remote_id: str) -> str:
    return f"{CONTACTS}/{quote(str(remote_id), safe='')}"


def _unseen(items: list[Mapping[str, Any]], seen: set[str]) -> Iterator[Mapping[str, Any]]:
    for item in items:
        key = str(item["id"])
        if key not in seen:
            seen.add(key)
            yield item
