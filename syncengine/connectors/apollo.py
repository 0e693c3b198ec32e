"""The Apollo.io connector: ``/api/v1`` contacts with ``x-api-key`` auth, partial writes.

What is particular to this API (apis.md section 1):

* no filter on update times: a pull searches ``POST /contacts/search`` sorted by
  ``contact_updated_at`` newest first, 100 per page, and stops at the first page that reaches
  back past the cursor less the overlap; search shows at most 500 pages (50,000 records), so a
  longer walk continues from the other end (oldest first) until the two meet, and when even that
  leaves a gap, walks each contact stage the same way;
* search items carry embedded ``account``/``organization`` objects: they are dropped so that every
  record has the single GET shape;
* a missing or deleted contact answers 422, read here as a missing record;
* writes are partial, with the exceptions ``apollo_writes`` handles (lists, address, owner);
* updates go 100 at a time through ``bulk_update``, with a PATCH only for what it cannot carry
  (``apollo_writes``); a contact its answer lacks is not confirmed;
* creates are not idempotent and ``run_dedupe`` would silently overwrite another contact, so it is
  never sent; a create whose reply was lost is looked up by email (or name and company) among the
  contacts created since it was first sent (``find_created``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from syncengine.canonical import Canonical, InvalidValueError, is_blank
from syncengine.connectors.apollo_catalogue import read_catalogue, read_labels
from syncengine.connectors.apollo_search import SEARCH, SearchWalk, parse_time, search_body
from syncengine.connectors.apollo_writes import (
    ADD_LABELS,
    BULK_CREATE,
    BULK_UPDATE,
    CONTACTS,
    MAX_BULK_UPDATE,
    NEW_ID,
    REMOVE_LABELS,
    UPDATE_OWNERS,
    CreatePlan,
    LabelChange,
    UpdatePlan,
    batch_rows,
    bulk_body,
    bulk_create_calls,
    bulk_update_body,
    bulk_update_call,
    contact_path,
    create_units,
    created_label_changes,
    created_search,
    membership_calls,
    needs_address_read,
    plan_create,
    plan_update,
    shared_labels,
    single_create_calls,
    with_bulk_answer,
    with_labels,
)
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
from syncengine.connectors.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    Outcome,
    OutcomeUnknownError,
    RecordError,
    StopSystemError,
    TransientError,
    Verdict,
    response_body,
    vendor_message,
)
from syncengine.connectors.http import HttpClient
from syncengine.connectors.partial import (
    Built,
    errors_for,
    guarded,
    leave_out,
    left_out_error,
    left_out_of,
    refusal_of,
    refused_error,
)
from syncengine.connectors.settings import SystemSettings
from syncengine.connectors.stale import MovedSincePull, PullMark, refuse_if_moved, written_fields
from syncengine.fieldmaps.apollo import OWNER_INPUT, ApolloCatalogue, ApolloMap

SEARCH_ONLY_KEYS = ("account", "organization", "contact_job_change_event")
# 422 texts that mean the contact is gone rather than the request wrong (apis.md 1.4, 1.6).
MISSING_TEXTS = ("does not exist", "has been deleted", "as it is deleted")
INVALID_ID = "is not a valid id"  # 422 for an id not in the team's catalogue (apis.md 1.5)


class ApolloConnector:
    """One Apollo team; see the module docstring."""

    system = "apollo"
    page_size = 100  # the documented maximum of ``per_page``
    max_pages = 500  # search shows no page beyond this one

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
        self.field_map = ApolloMap(None, self.options)
        self.catalogue: ApolloCatalogue | None = None
        self._known: dict[str, Mapping[str, Any]] = {}  # each record as last read, for describe()
        self._sent_at: dict[str, datetime] = {}  # op id -> when its create was first sent
        self._stale_labels: set[str] = set()  # list ids met that the catalogue lacked
        self._pull_mark = PullMark()  # writes check the records changed after the last pull
        self._moved: tuple[datetime | None, MovedSincePull] | None = None  # that check, per pull

    def __repr__(self) -> str:
        return f"<ApolloConnector {self.settings.base_url}>"

    # ------------------------------------------------------------------ catalogues

    @property
    def fields(self) -> frozenset[str]:
        return self.field_map.fields

    def check(self) -> None:
        try:
            self.client.request("GET", "/contact_stages")
        except AuthError as exc:
            raise AuthError(
                "the API key was refused (or lacks this endpoint in its scope); check APOLLO_API_KEY",
                system=self.system,
                method="GET",
                path="/contact_stages",
                status=exc.status,
            ) from None

    def load_catalogue(self) -> ApolloCatalogue:
        self.catalogue = read_catalogue(self.client)
        try:
            self.field_map = self.field_map.with_catalogue(self.catalogue)
        except ValueError as exc:  # a custom-field option naming no Apollo field
            raise ConfigError(str(exc), system=self.system) from None
        return self.catalogue

    def _refresh_labels(self, raw: Mapping[str, Any]) -> None:
        """Lists appear whenever a write names a new one: read the list catalogue again when a
        record holds a list id it does not know."""
        if self.catalogue is None:
            return
        unknown = {i for i in raw.get("label_ids") or [] if i not in self.catalogue.labels}
        if unknown - self._stale_labels:
            self._stale_labels |= unknown
            self.catalogue = dataclasses.replace(self.catalogue, labels=read_labels(self.client))
            self.field_map = self.field_map.with_catalogue(self.catalogue)

    # ------------------------------------------------------------------ reads

    def pull(self, since: datetime | None, *, full: bool = False) -> Iterator[RemoteRecord]:
        yield from self._pull_mark.watch(self._pull(since, full=full))

    def _pull(self, since: datetime | None, *, full: bool) -> Iterator[RemoteRecord]:
        floor = None if full or since is None else since - self.options.overlap
        walk = self._walk()
        seen: set[str] = set()
        if (yield from walk.window({}, floor, seen)):
            return
        stages = self.catalogue.stages if self.catalogue is not None else {}
        for stage_id in stages:  # the whole list does not fit in the window: narrow it by stage
            if not (yield from walk.window({"contact_stage_ids": [stage_id]}, floor, seen)):
                raise ConfigError(
                    f"contacts of stage {stage_id} exceed what search shows from both ends "
                    f"({2 * self.max_pages * self.page_size}); some would be skipped",
                    system=self.system,
                )

    def _walk(self) -> SearchWalk:
        return SearchWalk(self.client, self._record, self.page_size, self.max_pages)

    def get(self, remote_id: str) -> RemoteRecord:
        path = contact_path(remote_id)
        answer = self.client.request_json("GET", path, remote_id=remote_id, classify=self._classify)
        return self._record(_contact(answer, f"GET {path}"))

    def fetch_many(self, remote_ids: Sequence[str]) -> tuple[list[RemoteRecord], list[str]]:
        """The records with these ids and the ids not found: one ``GET /contacts/{id}`` per id (a
        missing contact answers 422, read as missing)."""
        return fetch_each(self.get, remote_ids)

    def to_canonical(self, record: RemoteRecord) -> Canonical:
        return self.field_map.to_canonical(record.raw)

    def find_created(self, op: WriteOp) -> RemoteRecord | None:
        """The newest contact matching the op's email (or, without one, its name and company),
        created no earlier than the op was first sent (less the overlap, for clock skew)."""
        values = op.values
        email = values.get("email")
        name = " ".join(str(values[f]) for f in ("first_name", "last_name") if not is_blank(values.get(f)))
        if is_blank(email) and not name:
            return None
        keywords = str(email) if not is_blank(email) else name
        body = {"q_keywords": keywords, **search_body(1, self.page_size, sort_by="contact_created_at")}
        items, _ = self._walk().page(body)
        sent_at = self._sent_at.get(op.op_id)
        stop = sent_at - self.options.overlap if sent_at is not None else None
        for item in items:
            created_at = parse_time(item.get("created_at"))
            if stop is not None and created_at is not None and created_at < stop:
                return None
            if _matches(item, values):
                return self._record(item)
        return None

    # ------------------------------------------------------------------ writes

    def describe(self, ops: Sequence[WriteOp]) -> list[HttpCall]:
        """The calls ``push`` makes, in its order; an update whose address changes in part is built
        on ``op.expected`` (the record as this run pulled it), as ``push`` builds it."""
        calls: list[HttpCall] = []
        updates = [op for op in ops if op.kind != "create"]
        checked = [op for op in updates if checks_first(op)]
        position, left = 0, 0  # checked updates met; of them, those the last listing covers
        written: list[UpdatePlan] = []
        for start in range(0, len(updates), MAX_BULK_UPDATE):
            plans: list[UpdatePlan] = []
            for op in updates[start : start + MAX_BULK_UPDATE]:
                # Before writing, the records changed since the pull are listed, one page before
                # every 100 checked updates; with no pull to start from, each record is read
                # (stale.py).
                if checks_first(op) and op.remote_id:
                    if not self._pull_mark.pulled:
                        calls.append(HttpCall("GET", contact_path(op.remote_id or ""), op_ids=(op.op_id,)))
                    elif left <= 0:
                        ids = tuple(o.op_id for o in checked[position : position + RECHECK])
                        calls.append(HttpCall("POST", SEARCH, search_body(1, self.page_size), op_ids=ids))
                        left = RECHECK
                    position, left = position + 1, left - 1
                if op.kind != "update" or not op.remote_id:
                    continue
                try:
                    plan = self._plan_update(op, self._last_read(op)).value
                except InvalidValueError:
                    continue  # push sends nothing for this op
                calls.extend(plan.read_calls())
                plans.append(plan)
            plans = batch_rows(plans)
            rows = [plan for plan in plans if plan.bulk]
            if rows:
                calls.append(bulk_update_call(rows))
            for plan in plans:
                calls.extend(plan.own_calls())
            written.extend(plans)
        creates: list[CreatePlan] = []
        for op in ops:
            if op.kind == "create":
                try:
                    creates.append(self._plan_create(op).value)
                except InvalidValueError:
                    continue
        # the push's one label pass: the updates' list changes and those of the bulk creates
        adds = [a for a, _ in (p.label_changes() for p in written) if a is not None]
        removes = [r for _, r in (p.label_changes() for p in written) if r is not None]
        for unit in create_units(creates):
            if len(unit) > 1:
                calls.extend(bulk_create_calls(unit))
                adds.extend(created_label_changes(unit, [NEW_ID] * len(unit)))
            else:
                calls.extend(single_create_calls(unit[0]))
        calls.extend(membership_calls(ADD_LABELS, adds) + membership_calls(REMOVE_LABELS, removes))
        for plan in written:
            if plan.reads_back(self._last_read(plan.op)):
                calls.append(HttpCall("GET", plan.path, op_ids=(plan.op.op_id,)))
        return calls

    def _last_read(self, op: WriteOp) -> Mapping[str, Any] | None:
        return op.expected.raw if op.expected is not None else self._known.get(op.remote_id or "")

    def _plan_create(self, op: WriteOp) -> Built[CreatePlan]:
        return leave_out(op, lambda o: plan_create(o, self.field_map))

    def _plan_update(
        self, op: WriteOp, current: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None
    ) -> Built[UpdatePlan]:
        """The update less the fields Apollo cannot take; ``current`` is the record (GET shape) the
        other address parts come from, or a callable that reads it once the address needs it."""

        def read(o: WriteOp) -> Mapping[str, Any] | None:
            if not callable(current):
                return current
            return current() if needs_address_read(o) else None

        return leave_out(op, lambda o: plan_update(o, self.field_map, read(o)))

    def _built(self, op: WriteOp) -> Built[Any] | None:
        if op.kind == "create":
            return self._plan_create(op)
        if op.kind == "update" and op.remote_id:
            return self._plan_update(op, self._last_read(op))
        return None

    def refusal(self, op: WriteOp) -> RecordError | None:
        return refusal_of(self.system, op, self._built)

    def left_out(self, op: WriteOp) -> list[RecordError]:
        return left_out_of(self.system, op, self._built)

    def push(self, ops: Sequence[WriteOp], on_result: ResultCallback | None = None) -> list[WriteResult]:
        if self.catalogue is None:
            self.load_catalogue()
        results: dict[str, WriteResult] = {}

        def report(result: WriteResult) -> None:
            results[result.op_id] = result
            if on_result is not None:
                on_result(result)

        moved = self._moved_since_pull()
        updates = [op for op in ops if op.kind != "create"]
        written: dict[str, _Written] = {}
        for start in range(0, len(updates), MAX_BULK_UPDATE):
            failed, done = self._update_batch(updates[start : start + MAX_BULK_UPDATE], moved)
            for result in failed:
                report(result)
            written.update(done)
        plans: list[CreatePlan] = []
        built: dict[str, tuple[WriteOp, Built[CreatePlan]]] = {}
        for op in ops:
            if op.kind != "create":
                continue
            try:
                plan = self._plan_create(op)
            except InvalidValueError as exc:
                report(WriteResult(op.op_id, ok=False, error=refused_error(self.system, op, exc)))
                continue
            plans.append(plan.value)
            built[op.op_id] = (op, plan)
        created: list[tuple[WriteResult, CreatePlan]] = []  # bulk-created, their lists still to add
        for unit in create_units(plans):
            answers, deferred = self._create_unit(unit)
            for answer in answers:
                op, made = built[answer.op_id]
                remote_id = answer.record.remote_id if answer.record is not None else None
                left = errors_for(self.system, made, op, remote_id=remote_id)
                answer = dataclasses.replace(answer, left_out=left + answer.left_out) if answer.ok else answer
                if answer.ok and answer.op_id in deferred:
                    created.append((answer, deferred[answer.op_id]))
                else:
                    report(answer)
        # One label pass for the whole push: list changes of every update and bulk create share calls.
        label_errors = self._push_labels(written, created)
        for op_id, item in written.items():
            finish = functools.partial(self._finish, item, label_errors.get(op_id, ()))
            report(self._guarded(item.prepared.op, finish))
        for answer, pending in created:
            report(self._with_created_labels(answer, pending, label_errors.get(answer.op_id, ())))
        return [results[op.op_id] for op in ops]

    def _guarded(self, op: WriteOp, write: Callable[[], WriteResult]) -> WriteResult:
        return guarded(self.system, op, write)

    def _moved_since_pull(self) -> MovedSincePull:
        """The check before writes, kept across the pushes of one pull (a run pushes a batch of
        entities at a time): each push lists only what changed since the last listing."""

        def changed(since: datetime) -> Iterator[RemoteRecord]:
            yield from self._walk().window({}, since, set())

        if self._moved is None or self._moved[0] != self._pull_mark.started:
            floor = self._pull_mark.floor(self.options.overlap)
            self._moved = (self._pull_mark.started, MovedSincePull(changed, self.get, floor, batch=RECHECK))
        self._moved[1].relist()
        return self._moved[1]

    def _update_batch(
        self, ops: Sequence[WriteOp], moved: MovedSincePull
    ) -> tuple[list[WriteResult], dict[str, _Written]]:
        """Up to 100 updates: each checked and planned, then one bulk_update call for their bulk
        rows, then each one's PATCH; returns the ops that failed, and the others as written so far
        (their list changes are made with the push's other ones)."""
        prepared: list[_Prepared] = []
        failed: dict[str, WriteResult] = {}
        for op in ops:
            result = self._guarded(op, functools.partial(self._prepare, op, moved, prepared))
            if not result.ok:
                failed[op.op_id] = result
        sent = batch_rows([p.plan for p in prepared])
        prepared = [dataclasses.replace(p, plan=plan) for p, plan in zip(prepared, sent, strict=True)]
        rows = [p for p in prepared if p.plan.bulk]
        answered: dict[str, Mapping[str, Any]] = {}
        if rows:
            items, refused = self._bulk_update(rows)
            answered.update(items)
            failed.update(refused)
        done = {p.op.op_id: p for p in prepared}
        written: dict[str, _Written] = {}
        for op in ops:  # each op's PATCH, if any: the record as written so far
            if op.op_id in done and op.op_id not in failed:
                patch = functools.partial(self._patch, done[op.op_id], answered.get(op.op_id), written)
                result = self._guarded(op, patch)
                if not result.ok:
                    failed[op.op_id] = result
        return [failed[op.op_id] for op in ops if op.op_id in failed], written

    def _prepare(self, op: WriteOp, moved: MovedSincePull, prepared: list[_Prepared]) -> WriteResult:
        """Check the op against the record as it is now and plan it (appended to ``prepared``)."""
        if op.kind != "update":
            raise RecordError(
                f"{op.kind} is not possible: Apollo's API has no contact {op.kind}",
                system=self.system,
                remote_id=op.remote_id,
            )
        if not op.remote_id:
            raise RecordError("update without a remote id", system=self.system)
        remote_id = op.remote_id
        planned_from = op.expected.updated_at if op.expected is not None else None
        fresh = moved.latest(remote_id, planned_from) if checks_first(op) else None
        if fresh is not None:
            # The write would land over a value a person saved since the pull (stale.py).
            path = contact_path(remote_id)
            refuse_if_moved(op, fresh, written_fields(op), self.to_canonical, method="PATCH", path=path)
        read: list[Mapping[str, Any]] = []

        def current() -> Mapping[str, Any]:
            # Apollo keeps the address as one line: the other parts come from the record as it is
            # now (as pulled when it has not moved since; a GET for an op without that record).
            if not read:
                read.append((fresh or op.expected or self.get(remote_id)).raw)
            return read[0]

        built = self._plan_update(op, current)
        base = fresh.raw if fresh is not None else self._last_read(op)
        prepared.append(_Prepared(op, built.value, errors_for(self.system, built, op), base))
        return WriteResult(op.op_id, ok=True)

    def _bulk_update(
        self, rows: list[_Prepared]
    ) -> tuple[dict[str, Mapping[str, Any]], dict[str, WriteResult]]:
        """Send the bulk rows: each op's answered item by op id, and the ops that failed."""
        single = rows[0].op.remote_id if len(rows) == 1 else None
        try:
            answer = self.client.request_json(
                "POST", BULK_UPDATE, json=bulk_update_body([p.plan for p in rows]), remote_id=single,
                classify=self._classify_bulk,
            )  # fmt: skip
        except StopSystemError:
            raise
        except RecordError as exc:
            return self._bulk_refused(rows, exc)
        except ConnectorError as exc:
            # Not applied (503, 429 after the retries) or not known to be (a timeout after sending):
            # each op fails as its PATCH would, and the next run plans it again from fresh data.
            return {}, {p.op.op_id: WriteResult(p.op.op_id, ok=False, error=exc) for p in rows}
        items = answer.get("contacts") if isinstance(answer, Mapping) else None
        if not isinstance(items, list):
            error = OutcomeUnknownError(
                "bulk_update answered without the contacts it updated", system=self.system,
                method="POST", path=BULK_UPDATE,
            )  # fmt: skip
            return {}, {p.op.op_id: WriteResult(p.op.op_id, ok=False, error=error) for p in rows}
        by_id = {str(i.get("id")): i for i in items if isinstance(i, Mapping)}
        return {p.op.op_id: by_id[str(p.op.remote_id)] for p in rows if str(p.op.remote_id) in by_id}, {}

    def _bulk_refused(
        self, rows: list[_Prepared], exc: RecordError
    ) -> tuple[dict[str, Mapping[str, Any]], dict[str, WriteResult]]:
        """A bulk_update refused whole: the contact its error names (or, when it names none, each
        contact sent alone) finds which op is refused; the others are sent again."""
        if len(rows) == 1:
            return {}, {rows[0].op.op_id: WriteResult(rows[0].op.op_id, ok=False, error=exc)}
        details = exc.body.get("error_details") if isinstance(exc.body, Mapping) else None
        named = str(details.get("contact_id")) if isinstance(details, Mapping) else None
        bad = [p for p in rows if str(p.op.remote_id) == named]
        text = exc.vendor_message or exc.detail
        if not bad and INVALID_ID in text.lower():  # "<owner id> is not a valid ID"
            bad = [p for p in rows if p.plan.bulk.get(OWNER_INPUT) and p.plan.bulk[OWNER_INPUT] in text]
        if not bad:  # halves, until the refused contacts are alone
            items: dict[str, Mapping[str, Any]] = {}
            failed: dict[str, WriteResult] = {}
            half = len(rows) // 2
            for part in (rows[:half], rows[half:]):
                answered, refused = self._bulk_update(part)
                items.update(answered)
                failed.update(refused)
            return items, failed
        failed = {
            p.op.op_id: WriteResult(p.op.op_id, ok=False, error=RecordError(
                exc.detail, remote_id=p.op.remote_id, field=exc.field, body=exc.body, system=self.system,
                method="POST", path=BULK_UPDATE, status=exc.status,
            ))
            for p in bad
        }  # fmt: skip
        rest = [p for p in rows if p not in bad]
        items, refused = self._bulk_update(rest) if rest else ({}, {})
        return items, {**refused, **failed}

    def _patch(
        self, prepared: _Prepared, item: Mapping[str, Any] | None, written: dict[str, _Written]
    ) -> WriteResult:
        """The op's PATCH after its bulk row, if any; the record as written so far into ``written``."""
        op, plan = prepared.op, prepared.plan
        remote_id = str(op.remote_id)
        if plan.bulk and item is None:
            # Apollo leaves out of its answer the contacts it did not update (missing, deleted):
            # the GET tells which, and a contact it still holds is not confirmed as written.
            self.get(remote_id)
            raise OutcomeUnknownError(
                f"bulk_update answered without record {remote_id}; not confirmed as written",
                system=self.system, method="POST", path=BULK_UPDATE,
            )  # fmt: skip
        left = prepared.left_out
        raw: Mapping[str, Any] | None = None
        if plan.body:
            path = contact_path(remote_id)
            answer = self.client.request_json(
                "PATCH", path, json=plan.body, remote_id=remote_id, classify=self._classify
            )
            raw = _contact(answer, f"PATCH {path}")
            left += self._custom_field_errors(raw, op, plan.body)
        elif item is not None and prepared.base is not None:
            raw = with_bulk_answer(prepared.base, item, plan.bulk)
        else:
            raw = prepared.base
        written[op.op_id] = _Written(prepared, raw, left)
        return WriteResult(op.op_id, ok=True)

    def _finish(self, written: _Written, label_errors: tuple[RecordError, ...]) -> WriteResult:
        """The record as written: as answered or last read, with its list changes applied; a GET
        only when there is no such record (an op without the record as pulled)."""
        op, plan = written.prepared.op, written.prepared.plan
        left = written.left_out + label_errors
        if written.raw is None:
            return WriteResult(op.op_id, ok=True, record=self.get(str(op.remote_id)), left_out=left)
        raw = written.raw
        if not label_errors and (plan.add or plan.remove):
            raw = with_labels(raw, plan.add, plan.remove, self._label_ids())
        return WriteResult(op.op_id, ok=True, record=self._record(raw), left_out=left)

    def _label_ids(self) -> dict[str, str]:
        labels = self.catalogue.labels if self.catalogue is not None else {}
        return {name.casefold(): label_id for label_id, name in labels.items()}

    def _push_labels(
        self, written: Mapping[str, _Written], created: Sequence[tuple[WriteResult, CreatePlan]]
    ) -> dict[str, tuple[RecordError, ...]]:
        """The push's label calls: the updates' additions and removals and the lists of the
        contacts bulk calls created, grouped for the fewest calls; per op, the list change a failed
        call left undone (the rest of its write stands, so the change is reported as left out)."""
        plans = [w.prepared.plan for w in written.values()]
        adds = [a for a, _ in (p.label_changes() for p in plans) if a is not None]
        removes = [r for _, r in (p.label_changes() for p in plans) if r is not None]
        ops = {p.op.op_id: p.op for p in plans}
        for result, plan in created:
            assert result.record is not None
            adds.append(LabelChange(result.op_id, result.record.remote_id, plan.labels))
            ops[result.op_id] = dataclasses.replace(plan.op, remote_id=result.record.remote_id)
        calls = membership_calls(ADD_LABELS, adds) + membership_calls(REMOVE_LABELS, removes)
        return self._label_calls(calls, ops)

    def _with_created_labels(
        self, result: WriteResult, plan: CreatePlan, errors: tuple[RecordError, ...]
    ) -> WriteResult:
        """A bulk-created record as written: with the lists the label calls added, or without them
        and reported left out when a call failed."""
        assert result.record is not None
        if errors:
            return dataclasses.replace(result, left_out=tuple(result.left_out) + errors)
        raw = with_labels(result.record.raw, plan.labels, (), self._label_ids())
        return dataclasses.replace(result, record=self._record(raw))

    def _label_calls(
        self, calls: Sequence[HttpCall], ops: Mapping[str, WriteOp]
    ) -> dict[str, tuple[RecordError, ...]]:
        errors: dict[str, tuple[RecordError, ...]] = {}
        for call in calls:
            try:
                # Each call sets a membership, so resending it is harmless.
                answer = self.client.request_json(
                    "POST", call.path, json=call.body, idempotent=True, classify=self._blaming("tags")
                )
            except StopSystemError:
                raise
            except ConnectorError as exc:
                for op_id in call.op_ids:
                    op = ops[op_id]
                    errors[op_id] = (*errors.get(op_id, ()), RecordError(
                        f"record {op.remote_id or op_id}: field tags: lists {call.body['label_names']} not "
                        f"changed ({exc.detail}); the record's other fields were written",
                        remote_id=op.remote_id, field="tags", system=self.system,
                    ))  # fmt: skip
                continue
            self._learn_labels(answer)
        return errors

    def _learn_labels(self, answer: Any) -> None:
        """The lists a label call answers with (it creates the names it does not know) join the
        catalogue, so that the records as written name them without reading the catalogue again."""
        labels = answer.get("labels") if isinstance(answer, Mapping) else None
        if self.catalogue is None or not isinstance(labels, list):
            return
        known = dict(self.catalogue.labels)
        for label in labels:
            if isinstance(label, Mapping) and label.get("id") and isinstance(label.get("name"), str):
                known[str(label["id"])] = label["name"]
        if known != self.catalogue.labels:
            self.catalogue = dataclasses.replace(self.catalogue, labels=known)
            self.field_map = self.field_map.with_catalogue(self.catalogue)

    def _create_unit(self, unit: list[CreatePlan]) -> tuple[list[WriteResult], dict[str, CreatePlan]]:
        """The unit's results, and the creates whose lists are still to add (by op id)."""
        if len(unit) > 1:
            try:
                return self._bulk_create(unit)
            except RecordError:  # the batch is refused whole: send each alone to find the bad one
                pass
        return [self._guarded(plan.op, functools.partial(self._create, plan)) for plan in unit], {}

    def _create(self, plan: CreatePlan) -> WriteResult:
        op = plan.op
        self._sent_at.setdefault(op.op_id, datetime.now(UTC))
        try:
            answer = self.client.request_json(
                "POST", CONTACTS, json=plan.body, idempotent=False, classify=self._classify
            )
        except OutcomeUnknownError:
            found = self.find_created(op)
            if found is None:
                raise
            return WriteResult(op.op_id, ok=True, record=found, recovered=True)
        raw = _contact(answer, "POST /contacts")
        remote_id = str(raw["id"])
        left = self._custom_field_errors(raw, op, plan.body)
        if plan.owner_id and plan.owner_id != raw.get("owner_id"):
            params = {"contact_ids[]": [remote_id], "owner_id": plan.owner_id}
            self.client.request(
                "POST", UPDATE_OWNERS, json={}, params=params, remote_id=remote_id, idempotent=True,
                classify=self._blaming("owner"),
            )  # fmt: skip
            return WriteResult(op.op_id, ok=True, record=self.get(remote_id), left_out=left)
        return WriteResult(op.op_id, ok=True, record=self._record(raw), left_out=left)

    def _bulk_create(self, unit: list[CreatePlan]) -> tuple[list[WriteResult], dict[str, CreatePlan]]:
        """One bulk call; its records are read back, their lists (unless the call carried them)
        added with the push's other list changes."""
        now = datetime.now(UTC)
        for plan in unit:
            self._sent_at.setdefault(plan.op.op_id, now)
        try:
            answer = self.client.request_json(
                "POST", BULK_CREATE, json=bulk_body(unit), idempotent=False, classify=self._classify
            )
        except OutcomeUnknownError as exc:
            return self._recover_bulk(unit, exc), {}
        except TransientError as exc:
            # Not applied (no connection, 408, 429 or 503 after the retries): each op fails as it
            # would alone, and is planned again next run.
            return [WriteResult(plan.op.op_id, ok=False, error=exc) for plan in unit], {}
        ids = self._created_ids(unit, answer)
        try:
            records = self._read_created(ids)
        except StopSystemError:
            raise
        except ConnectorError as exc:
            # Created but not read back: the ops stay sent, and the next run looks the records up.
            failed = [
                WriteResult(plan.op.op_id, ok=False, error=self._unread(remote_id, exc))
                for plan, remote_id in zip(unit, ids, strict=True)
            ]
            return failed, {}
        results = [
            WriteResult(
                plan.op.op_id, ok=True, record=records[i],
                left_out=self._custom_field_errors(records[i].raw, plan.op, plan.body),
            )
            for plan, i in zip(unit, ids, strict=True)
        ]  # fmt: skip
        # the lists of a call that did not carry them, added with the push's other list changes
        deferred = {} if shared_labels(unit) else {p.op.op_id: p for p in unit if p.labels}
        return results, deferred

    def _created_ids(self, unit: Sequence[CreatePlan], answer: Any) -> list[str]:
        """The record id of each create of a bulk call, in order. A contact Apollo merged into one it
        held (an email-import placeholder with that email) comes back in ``existing_contacts``: that
        record is the op's, linked, not created again; the others come in ``created_contacts``, in
        the order sent."""
        created = answer.get("created_contacts") if isinstance(answer, Mapping) else None
        existing = answer.get("existing_contacts") if isinstance(answer, Mapping) else None
        existing = existing if isinstance(existing, list) else []
        if not isinstance(created, list) or len(created) + len(existing) != len(unit):
            raise ConfigError("bulk_create answered a different number of contacts", system=self.system)
        merged: dict[str, list[str]] = {}
        for item in existing:
            if isinstance(item, Mapping) and item.get("id"):
                merged.setdefault(str(item.get("email") or "").casefold(), []).append(str(item["id"]))
        fresh = iter(str(item["id"]) for item in created if isinstance(item, Mapping) and item.get("id"))
        ids: list[str] = []
        for plan in unit:
            email = str(plan.body.get("email") or "").casefold()
            found = merged.get(email) if email else None
            ids.append(found.pop(0) if found else next(fresh, ""))
        if "" in ids or any(merged.values()):
            raise ConfigError("bulk_create answered contacts that match none sent", system=self.system)
        return ids

    def _read_created(self, ids: list[str]) -> dict[str, RemoteRecord]:
        """New records in the GET shape: the newest page of search, then GET for any it missed."""
        items, _ = self._walk().page(created_search(()).body)
        wanted = set(ids)
        records = {str(i["id"]): self._record(i) for i in items if str(i.get("id")) in wanted}
        for remote_id in ids:
            if remote_id not in records:
                records[remote_id] = self.get(remote_id)
        return records

    def _unread(self, remote_id: str, exc: ConnectorError) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"created as record {remote_id}, but reading it back failed ({exc.detail})",
            system=self.system,
            method="POST",
            path=BULK_CREATE,
        )

    def _recover_bulk(self, unit: Sequence[CreatePlan], exc: OutcomeUnknownError) -> list[WriteResult]:
        """A bulk create whose answer was lost: one page of the newest contacts tells which of its
        creates landed (by email, or name and company, created since first sent). Those are
        confirmed, with their lists added as the answer would have had them; the others stay
        unknown, for the next run to look for among the records it pulls before anything is sent
        again."""
        try:
            items, _ = self._walk().page(created_search(()).body)
        except StopSystemError:
            raise
        except ConnectorError:
            return [WriteResult(plan.op.op_id, ok=False, error=exc) for plan in unit]
        found: dict[str, Mapping[str, Any]] = {}
        taken: set[str] = set()
        for plan in unit:
            sent_at = self._sent_at.get(plan.op.op_id)
            stop = sent_at - self.options.overlap if sent_at is not None else None
            for item in items:
                created_at = parse_time(item.get("created_at"))
                if stop is not None and created_at is not None and created_at < stop:
                    break
                if _matches(item, plan.op.values) and str(item["id"]) not in taken:
                    found[plan.op.op_id] = item
                    taken.add(str(item["id"]))
                    break
        landed = [plan for plan in unit if plan.op.op_id in found]
        ids = [str(found[plan.op.op_id]["id"]) for plan in landed]
        label_errors = self._label_calls(
            membership_calls(ADD_LABELS, created_label_changes(landed, ids)),
            {p.op.op_id: dataclasses.replace(p.op, remote_id=i) for p, i in zip(landed, ids, strict=True)},
        )  # fmt: skip
        results = []
        for plan in unit:
            item = found.get(plan.op.op_id)
            if item is None:
                results.append(WriteResult(plan.op.op_id, ok=False, error=exc))
                continue
            errors = label_errors.get(plan.op.op_id, ())
            raw = item if errors else with_labels(item, plan.labels, (), self._label_ids())
            results.append(WriteResult(plan.op.op_id, ok=True, record=self._record(raw), recovered=True,
                                       left_out=errors))  # fmt: skip
        return results

    def _recover(self, op: WriteOp, exc: OutcomeUnknownError) -> WriteResult:
        try:
            found = self.find_created(op)
        except ConnectorError as lookup:
            return WriteResult(op.op_id, ok=False, error=lookup)
        if found is None:
            return WriteResult(op.op_id, ok=False, error=exc)
        return WriteResult(op.op_id, ok=True, record=found, recovered=True)

    def _custom_field_errors(
        self, raw: Mapping[str, Any], op: WriteOp, body: Mapping[str, Any]
    ) -> tuple[RecordError, ...]:
        """Apollo answers 200 and reports refused custom-field values in ``custom_field_errors``,
        having written the rest: each refused value is a field left out of the write."""
        errors = raw.get("custom_field_errors")
        if not isinstance(errors, Mapping) or not errors:
            return ()
        sent = body.get("typed_custom_fields")
        sent = sent if isinstance(sent, Mapping) else {}
        remote_id = str(raw.get("id") or op.remote_id or "") or None
        refused = (
            InvalidValueError(
                self.field_map.canonical_name(str(field_id)), sent.get(field_id),
                f"Apollo refused custom field {field_id}: {problem}",
            )
            for field_id, problem in errors.items()
            if field_id in sent  # an error left from an earlier write is not this write's
        )  # fmt: skip
        return tuple(left_out_error(self.system, op, exc, remote_id=remote_id) for exc in refused)

    def _classify(self, response: httpx.Response) -> Verdict | None:
        """422 is Apollo's answer for a missing contact too; validation details name a field."""
        if response.status_code != 422:
            return None
        body = response_body(response)
        message = (vendor_message(body) or "").lower()
        if any(text in message for text in MISSING_TEXTS):
            return Verdict(Outcome.MISSING)
        details = body.get("error_details") if isinstance(body, Mapping) else None
        if isinstance(details, Mapping) and isinstance(details.get("field"), str):
            return Verdict(Outcome.RECORD, field=self.field_map.canonical_name(details["field"]))
        return None

    def _classify_bulk(self, response: httpx.Response) -> Verdict | None:
        """As ``_classify``; an id refused in a bulk_update row can only be its owner."""
        verdict = self._classify(response)
        message = (vendor_message(response_body(response)) or "").lower()
        if verdict is None and response.status_code == 422 and INVALID_ID in message:
            return Verdict(Outcome.RECORD, field="owner")
        return verdict

    def _blaming(self, field: str) -> Any:
        """A classifier for a call that writes one canonical field: a refusal names that field."""

        def classify(response: httpx.Response) -> Verdict | None:
            verdict = self._classify(response)
            if verdict is None and response.status_code == 422:
                return Verdict(Outcome.RECORD, field=field)
            return verdict

        return classify

    def _record(self, raw: Any) -> RemoteRecord:
        if not isinstance(raw, Mapping) or not raw.get("id"):
            raise ConfigError("a contact without an id in the answer", system=self.system)
        shape = {k: v for k, v in raw.items() if k not in SEARCH_ONLY_KEYS}
        self._refresh_labels(shape)
        remote_id = str(shape["id"])
        self._known[remote_id] = shape
        if len(self._known) > KNOWN_LIMIT:  # describe()'s fallback: a run's memory must not grow with it
            del self._known[next(iter(self._known))]
        return RemoteRecord(self.system, remote_id, shape, parse_time(shape.get("updated_at")))

    def close(self) -> None:
        self.client.close()


def _matches(item: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    email = values.get("email")
    if not is_blank(email):
        return str(item.get("email") or "").casefold() == str(email).casefold()
    same = [
        str(item.get(raw) or "").casefold() == str(values.get(field) or "").casefold()
        for raw, field in (
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("organization_name", "company"),
        )
    ]
    return all(same)


@dataclasses.dataclass(frozen=True)
class _Written:
    """An update sent but for its list changes: the record as answered or last read (None: neither)."""

    prepared: _Prepared
    raw: Mapping[str, Any] | None
    left_out: tuple[RecordError, ...]


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """An update checked and planned: its plan, the fields left out, and the record as last read."""

    op: WriteOp
    plan: UpdatePlan
    left_out: tuple[RecordError, ...]
    base: Mapping[str, Any] | None


RECHECK = 100  # updates between two listings of the records changed since the pull: one page


def checks_first(op: WriteOp) -> bool:
    """Whether ``push`` checks that the record has not moved since the pull before writing: an update
    that carries the record as pulled and writes fields (see stale.py)."""
    return op.kind == "update" and op.expected is not None and bool(written_fields(op))


def _contact(answer: Any, where: str) -> Mapping[str, Any]:
    contact = answer.get("contact") if isinstance(answer, Mapping) else None
    if not isinstance(contact, Mapping):
        raise ConfigError(f"{where} answered without a 'contact'; check the base URL", system="apollo")
    return contact
