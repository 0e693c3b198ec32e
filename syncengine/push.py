"""Push a plan through the outbox: every op is stored before it is sent and settled after.

The outbox is what makes a crash harmless. After a run's pull, ops an earlier run left unfinished
are settled first (``resume``): a create that may have reached its system is looked for among the
records just pulled and linked when found, so it is never sent twice; an unfinished update is
dropped, because the base did not move for it and the merge plans it again from fresh data
(resending an old value could overwrite a newer edit). Their entities stay owed (``owed`` table)
until a commit settles them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from syncengine.connectors.base import Connector, RemoteRecord, WriteOp, WriteResult
from syncengine.connectors.errors import (
    DuplicateRecordError,
    OutcomeUnknownError,
    RecordError,
    StaleRecordError,
    StopSystemError,
    TransientError,
)
from syncengine.mirror import LinkConflictError, Mirror, NewOp, NotFoundError, OutboxOp, Owed, RecordProblem
from syncengine.plan import PlannedOp

ResultHook = Callable[[PlannedOp, WriteResult], None]


def op_payload(op: WriteOp) -> dict[str, Any]:
    """The op as the outbox stores it (JSON), enough to rebuild it after a crash."""
    return {
        "values": dict(op.values),
        "add": {k: sorted(v) for k, v in op.add.items()},
        "remove": {k: sorted(v) for k, v in op.remove.items()},
    }


def op_from_outbox(stored: OutboxOp) -> WriteOp:
    payload = stored.payload or {}
    return WriteOp(
        op_id=stored.op_id,
        system=stored.system,
        kind=stored.kind,  # type: ignore[arg-type]
        remote_id=stored.remote_id,
        values=payload.get("values", {}),
        add={k: frozenset(v) for k, v in payload.get("add", {}).items()},
        remove={k: frozenset(v) for k, v in payload.get("remove", {}).items()},
        entity_id=stored.entity_id,
    )


@dataclass
class PushOutcome:
    """What the push did; ``confirmed`` and ``failed`` hold op ids."""

    confirmed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # op id -> error
    created: dict[str, str] = field(default_factory=dict)  # op id -> new remote id
    linked_existing: dict[str, str] = field(default_factory=dict)  # op id -> id of a duplicate found
    stopped: dict[str, str] = field(default_factory=dict)  # system -> why its push stopped
    records: list[RemoteRecord] = field(default_factory=list)  # records as written
    written: dict[str, RemoteRecord] = field(default_factory=dict)  # op id -> record as written
    # op id -> field -> why: what a confirmed write left out because the system cannot take it
    left_out: dict[str, dict[str, str]] = field(default_factory=dict)
    # op ids of failed writes a system refused as a duplicate of another record: only a change to
    # the contact (or the other record) can remove that, so they wait instead of being retried.
    duplicates: set[str] = field(default_factory=set)
    # Ops confirmed whose ids were not kept (a run's total that keeps counts, ``stages.push.absorb``).
    confirmed_not_kept: int = 0

    @property
    def confirmed_count(self) -> int:
        return len(self.confirmed) + self.confirmed_not_kept


STORE_BATCH = 100  # confirmed writes stored per commit
CREATE_PAUSE = 0.5  # seconds without an answer after which the confirmed creates are stored


class PushStoppedError(Exception):
    """Raised inside a writer thread once the push it serves has ended (its caller was interrupted)."""


@dataclass(frozen=True)
class _Answer:
    """What a writer thread hands the settling thread: one op's result, or its own end (``done``:
    True, or the exception that ended it)."""

    system: str
    result: WriteResult | None = None
    done: bool | BaseException = False


class _Writer:
    """One system's share of a push, written by its connector in a thread of its own."""

    def __init__(self, system: str, connector: Connector, items: list[PlannedOp]) -> None:
        self.system, self.connector, self.items = system, connector, items
        self.by_id = {p.op.op_id: p for p in items}
        self.stop = threading.Event()

    def start(self, answers: queue.Queue[_Answer]) -> None:
        # A daemon: an interrupted run does not wait for it; what it sent is settled by the next
        # run's resume, as after a kill.
        thread = threading.Thread(target=self._run, args=(answers,), name=f"push-{self.system}", daemon=True)
        thread.start()

    def _run(self, answers: queue.Queue[_Answer]) -> None:
        def report(result: WriteResult) -> None:
            if self.stop.is_set():
                raise PushStoppedError(self.system)
            answers.put(_Answer(self.system, result=result))

        try:
            self.connector.push([p.op for p in self.items], on_result=report)
        except BaseException as exc:  # handed to the settling thread, which decides
            answers.put(_Answer(self.system, done=exc))
        else:
            answers.put(_Answer(self.system, done=True))


def landing_window(connector: Connector) -> timedelta:
    """How long a create whose answer was lost may still land in the system: a server does not
    work on a request much longer than the client waits for its answer."""
    options = getattr(getattr(connector, "client", None), "options", None)
    return timedelta(seconds=2 * options.read_timeout if options is not None else 60)


def _sent_since(op: OutboxOp, run_ended: datetime | None) -> timedelta:
    """How long ago the op may last have been sent. Ops are marked sent before their push starts,
    and a push sends for a while (one bulk call after another, systems in parallel): the run's end
    (or the moment it was found dead) bounds the last send, so the window counts from the later."""
    sent = _aware(op.updated_at)
    if run_ended is not None:
        sent = max(sent, _aware(run_ended))
    return datetime.now(UTC) - sent


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Pusher:
    """Writes through one run's connectors, keeping the outbox and identity map in step."""

    def __init__(self, mirror: Mirror, connectors: Mapping[str, Connector], *, run_id: int) -> None:
        self.mirror = mirror
        self.connectors = connectors
        self.run_id = run_id
        # Confirmed updates, stored a batch at a time: one that a crash leaves unconfirmed is
        # planned again from fresh data, and rewriting the same values is harmless.
        self._written: dict[str, list[tuple[str, RemoteRecord]]] = {}
        # Confirmed creates, stored as soon as no other answer is waiting (or STORE_BATCH are):
        # one a crash leaves unconfirmed stays sent, and the next run finds its record before
        # anything is created again (``resume``), as after a crash while it was in flight.
        self._created: dict[str, list[tuple[str, WriteOp, RemoteRecord]]] = {}
        self._ended: dict[int, datetime | None] = {}  # run id -> when it ended, for resume

    # ------------------------------------------------------------------ after a crash

    def _run_ended(self, run_id: int | None) -> datetime | None:
        """When the run that sent an op ended (or was found dead); None when unknown."""
        if run_id is None:
            return None
        if run_id not in self._ended:
            try:
                self._ended[run_id] = self.mirror.get_run(run_id).finished_at
            except NotFoundError:
                self._ended[run_id] = None
        return self._ended[run_id]

    def resume(
        self, active: Collection[str], find: Callable[[OutboxOp], RemoteRecord | None]
    ) -> dict[str, int]:
        """Settle the ops an interrupted run left; returns counts by what happened to them.

        Runs after the pull: ``find`` looks for a create's record among the records just pulled
        (``active`` are the systems whose pull completed), so recovery spends no call. Every entity
        with an unfinished op stays owed until a commit settles it."""
        counts = {"recovered": 0, "not_found": 0, "dropped": 0, "waiting": 0}
        owed: list[Owed] = []
        for stored in self.mirror.pending():
            if stored.system not in self.connectors:
                continue  # the system is not configured now; its ops wait for it
            if stored.entity_id:
                why = f"{stored.kind} interrupted in run {stored.run_id}"
                owed.append(Owed(stored.entity_id, stored.system, "interrupted", why, self.run_id))
            if stored.kind != "create" or (stored.state == "pending" and stored.attempts == 0):
                self.mirror.fail(
                    stored.op_id, "not sent before the run stopped; planned again from fresh data"
                )
                counts["dropped"] += 1
                continue
            if stored.system not in active:
                counts["waiting"] += 1  # its system was not read this run: looked for next run
                continue
            found = find(stored)
            ended = self._run_ended(stored.run_id)
            if found is None and _sent_since(stored, ended) < landing_window(self.connectors[stored.system]):
                counts["waiting"] += 1  # it may still land: nothing is created again until then
                continue
            if found is None:
                self.mirror.fail(stored.op_id, "interrupted create not found in the system; planned again")
                counts["not_found"] += 1
                continue
            self._settle_create(stored.op_id, op_from_outbox(stored), found)
            counts["recovered"] += 1
        self.mirror.owe(owed)
        return counts

    # ------------------------------------------------------------------ a run's push

    def push(self, planned: list[PlannedOp], on_result: ResultHook | None = None) -> PushOutcome:
        """Every op is stored and marked sent first; then each system's connector writes in a
        thread of its own, at that system's pace, so the push lasts as long as the slowest system,
        not the sum. Their answers come back through one queue and are settled here, on the
        calling thread, which alone touches the mirror (its sessions are not thread-safe)."""
        outcome = PushOutcome()
        by_system: dict[str, list[PlannedOp]] = {}
        for item in planned:
            by_system.setdefault(item.op.system, []).append(item)
        for system, items in by_system.items():
            stored = self.mirror.enqueue_many(
                [
                    NewOp(
                        system=system,
                        kind=p.op.kind,
                        payload=op_payload(p.op),
                        entity_id=p.op.entity_id,
                        remote_id=p.op.remote_id,
                        op_id=p.op.op_id,
                    )
                    for p in items
                ],
                run_id=self.run_id,
            )
            self.mirror.mark_sent_many([op.op_id for op in stored])  # one commit: sent as one
        writers = [_Writer(system, self.connectors[system], items) for system, items in by_system.items()]
        answers: queue.Queue[_Answer] = queue.Queue()
        for writer in writers:
            writer.start(answers)
        try:
            self._collect(writers, answers, outcome, on_result)
        finally:
            for writer in writers:
                writer.stop.set()  # a writer still running stops at its next answer
        return outcome

    def _collect(
        self,
        writers: list[_Writer],
        answers: queue.Queue[_Answer],
        outcome: PushOutcome,
        on_result: ResultHook | None,
    ) -> None:
        by_system = {w.system: w for w in writers}
        running = len(writers)
        error: BaseException | None = None
        while running:
            try:
                # Creates are stored once answers pause for a moment (or STORE_BATCH are waiting).
                answer = answers.get(timeout=CREATE_PAUSE if self._created else None)
            except queue.Empty:
                for system in list(self._created):
                    self._store_created(system)
                continue
            writer = by_system[answer.system]
            if isinstance(answer.done, BaseException) or answer.done is True:
                running -= 1
                exc = answer.done if isinstance(answer.done, BaseException) else None
                if isinstance(exc, StopSystemError):
                    outcome.stopped[writer.system] = str(exc)
                    for item in writer.items:
                        if item.op.op_id not in outcome.confirmed and item.op.op_id not in outcome.failed:
                            self._fail(item, exc, outcome, retryable=False)
                elif exc is not None and error is None:
                    error = exc  # raised once every writer has ended; their answers are settled
                self._store_created(writer.system)
                self._store_written(writer.system)
                continue
            assert answer.result is not None
            item = writer.by_id[answer.result.op_id]
            self._settle(item, answer.result, outcome)
            if on_result is not None:
                on_result(item, answer.result)
        if error is not None:
            raise error

    def _store_created(self, system: str) -> None:
        created = self._created.pop(system, [])
        if not created:
            return
        with self.mirror.transaction():  # the records, their links and the ops, together
            self.mirror.upsert_records(system, [record for _, _, record in created], run_id=self.run_id)
            wanted = [(op.entity_id, system, record.remote_id) for _, op, record in created if op.entity_id]
            try:
                self.mirror.link_many(wanted, run_id=self.run_id)  # all or none
            except LinkConflictError:
                for _, op, record in created:  # the one taken is reported; the others are linked
                    self._link_created(op, record)
            self.mirror.confirm_created([(op_id, record.remote_id) for op_id, _, record in created])

    def _store_written(self, system: str) -> None:
        written = self._written.pop(system, [])
        if not written:
            return
        with self.mirror.transaction():  # the ops and the records as written, together
            self.mirror.confirm_many([op_id for op_id, _ in written])
            self.mirror.upsert_records(system, [record for _, record in written], run_id=self.run_id)

    def _settle(self, item: PlannedOp, result: WriteResult, outcome: PushOutcome) -> None:
        op = item.op
        if op.op_id in outcome.confirmed or op.op_id in outcome.failed:
            return  # a connector reported the op twice; the first answer stands
        if result.ok and result.record is not None:
            if op.kind == "create":
                created = self._created.setdefault(op.system, [])
                created.append((op.op_id, op, result.record))
                if len(created) >= STORE_BATCH:
                    self._store_created(op.system)
                outcome.created[op.op_id] = result.record.remote_id
            else:
                written = self._written.setdefault(op.system, [])
                written.append((op.op_id, result.record))
                if len(written) >= STORE_BATCH:
                    self._store_written(op.system)
            outcome.confirmed.add(op.op_id)
            outcome.records.append(result.record)
            outcome.written[op.op_id] = result.record
            if result.left_out:
                # The rest was written; each field the system could not take is reported on its own.
                outcome.left_out[op.op_id] = {e.field or "": str(e) for e in result.left_out}
                self.mirror.add_record_errors(
                    RecordProblem(
                        system=op.system, message=f"{op.kind} of {item.who}: {e}",
                        remote_id=e.remote_id or result.record.remote_id, entity_id=op.entity_id,
                        field=e.field, run_id=self.run_id,
                    )
                    for e in result.left_out
                )  # fmt: skip
            return
        error = result.error
        if isinstance(error, DuplicateRecordError) and op.kind == "create" and error.existing_id:
            # The system holds this person already: link that record; the next run merges it.
            try:
                connector = self.connectors[op.system]
                existing = connector.get(error.existing_id)
                theirs = connector.to_canonical(existing).values.get("email")
                ours = op.values.get("email")
                if ours and str(theirs or "").casefold() != str(ours).casefold():
                    raise DuplicateRecordError(
                        f"collides with record {error.existing_id} of another person (email {theirs!r}); "
                        "not linked", remote_id=error.existing_id, existing_id=error.existing_id,
                        field="phone",
                    )  # fmt: skip
                self._settle_create(op.op_id, op, existing)
                outcome.linked_existing[op.op_id] = existing.remote_id
                outcome.confirmed.add(op.op_id)
                return
            except Exception as exc:  # the duplicate could not be linked: report it on the record
                error = exc
        retryable = isinstance(error, TransientError | StaleRecordError)
        self._fail(item, error or "write failed", outcome, retryable=retryable)

    def _settle_create(self, op_id: str, op: WriteOp, record: RemoteRecord) -> None:
        with self.mirror.transaction():
            self.mirror.upsert_records(op.system, [record], run_id=self.run_id)
            self._link_created(op, record)
            self.mirror.confirm(op_id, record.remote_id)

    def _link_created(self, op: WriteOp, record: RemoteRecord) -> None:
        if op.entity_id is None:
            return
        try:
            self.mirror.link(op.entity_id, op.system, record.remote_id, run_id=self.run_id)
        except LinkConflictError as exc:
            self.mirror.add_record_error(
                op.system, f"created record could not be linked: {exc}",
                remote_id=record.remote_id, entity_id=op.entity_id, run_id=self.run_id,
            )  # fmt: skip

    def _fail(
        self, item: PlannedOp, error: Exception | str, outcome: PushOutcome, *, retryable: bool
    ) -> None:
        op = item.op
        text = str(error) or type(error).__name__
        outcome.failed[op.op_id] = text
        if isinstance(error, DuplicateRecordError):
            outcome.duplicates.add(op.op_id)
        if op.kind == "create" and isinstance(error, OutcomeUnknownError):
            # It may have been created all the same: the op stays sent, and the next run looks for
            # the record before anything is created again (``resume``).
            suffix = " (looked up next run before it is sent again)"
        else:
            # A retryable failure is not resent as is: the next run plans it again from fresh data.
            self.mirror.fail(op.op_id, text, retryable=False)
            suffix = " (tried again next run)" if retryable else ""
        self.mirror.add_record_errors(
            [
                RecordProblem(
                    system=op.system,
                    message=f"{op.kind} of {item.who}: {text}{suffix}",
                    remote_id=op.remote_id,
                    entity_id=op.entity_id,
                    field=error.field if isinstance(error, RecordError) else None,
                    run_id=self.run_id,
                )
            ]
        )
