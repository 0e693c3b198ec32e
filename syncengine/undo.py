"""``syncengine undo RUN``: write back the values a run overwrote, where nobody changed them since.

The history keeps, per run, the value each system held before the engine wrote to it. ``plan_undo``
reads each of those records from its system as it is now and plans an update that sets the earlier
values again, field by field: a field that no longer holds what the run wrote (a person or a later
run changed it) is skipped and says why, so no later edit is overwritten. Nothing is written while
planning, which is the whole of ``undo --dry-run``. ``apply_undo`` pushes the updates through the
outbox under a run of its own (marked ``undo_of`` in its counts) and records each write-back in the
history, in the transaction that confirms its op. Records the run created are not removed.

What happens to the base. The base is the last value every linked system agreed on. Writing an
earlier value back into some systems does not make the systems agree again: the ones the run did
not write to (usually the one whose change the run spread) still hold the run's value. So the base
keeps the run's value, and a write-back reads to the next sync exactly like a person's edit in
that system made after the run:

* a value written back is carried to the systems that still hold the run's value, so the next sync
  completes the undo everywhere instead of redoing the run. Restoring the base to its value before
  the run would do the opposite: the system that still holds the run's value would count as
  changed, and the next sync would silently write the run's value over the undo;
* a blank written back (the run had filled an empty field, as an initial run does) is "no opinion"
  under the default rules (``allow_blank = false``): the next sync leaves it blank and writes
  nothing, and the base keeps the value. A base set to blank would make every system holding a
  value count as changed: conflicts on the next sync, and the run's values written again;
* a set field (tags, lists) the run merged into every system that holds it is not written back:
  no system would hold the merged set any more, and the next sync's three-way union would take from
  every system the members the others had brought (or merge them all again). It keeps the merged
  set, and the preview says so;
* no conflict is reported for an undone field unless two systems written back held different values
  before the run, or a person changed the field in another system since: real disagreements, settled
  by the field's rule like any other. A field whose rule allows blanking carries a blank written
  back as a clear (the mass-change guard holds back many at once).

The base moves only when a confirmed write-back makes every linked system that holds the field hold
the same value (the systems agree again, so that value is the agreed one); it moves in the
transaction that confirms the op, is never set to blank, and a field whose write-back failed or was
skipped keeps its base.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncengine.canonical import SET_FIELDS, is_blank, same
from syncengine.connectors.base import Connector, RemoteRecord, WriteOp, WriteResult
from syncengine.connectors.errors import ConnectorError, MissingRecordError, RecordError, StopSystemError
from syncengine.mirror import HistoryEntry, Mirror, NewOp, Owed, RecordProblem
from syncengine.plan import who
from syncengine.push import op_payload

Values = Mapping[str, Any]
MERGED_SET = "merged from every system by the run; kept (written back, the next sync would drop members)"


@dataclass(frozen=True)
class FieldUndo:
    """One field a run wrote to one record: what the record holds now and what it held before."""

    field: str
    current: Any
    restore: Any  # the value before the run: what undo writes back
    skipped: str | None = None  # why it is not written back; None when it is


@dataclass
class RecordUndo:
    """One record a run wrote to, and the update that writes its earlier values back."""

    entity_id: str
    system: str
    remote_id: str | None
    who: str
    fields: tuple[FieldUndo, ...] = ()
    skipped: str | None = None  # why nothing is written to this record (deliberately)
    error: str | None = None  # it could not be read, or its write would be or was refused
    op: WriteOp | None = None
    written: bool = False

    @property
    def read(self) -> bool:
        """Whether the record was read from its system (so ``current`` values are known)."""
        return not self.skipped and not (self.error and self.op is None)

    @property
    def restores(self) -> dict[str, Any]:
        return {f.field: f.restore for f in self.fields if f.skipped is None}


@dataclass
class UndoPlan:
    """What undoing ``run_id`` writes, per record and field, and what it skips and why."""

    run_id: int
    records: list[RecordUndo] = field(default_factory=list)
    # entity -> linked system -> its canonical values now (None: not known, so never "agreeing")
    held: dict[str, dict[str, Values | None]] = field(default_factory=dict)
    holds: dict[str, frozenset[str]] = field(default_factory=dict)  # system -> fields it can hold

    @property
    def writes(self) -> list[RecordUndo]:
        return [r for r in self.records if r.op is not None]


@dataclass
class UndoResult:
    undo_run_id: int | None = None
    confirmed: int = 0
    failed: int = 0
    base: list[HistoryEntry] = field(default_factory=list)  # the base values the undo moved


# ---------------------------------------------------------------------- planning (reads only)


def plan_undo(mirror: Mirror, connectors: Mapping[str, Connector], run_id: int) -> UndoPlan:
    """The updates that revert ``run_id``; reads the records from their systems, writes nothing.
    Raises ``NotFoundError`` for an unknown run."""
    mirror.get_run(run_id)
    wrote: dict[tuple[str, str], dict[str, tuple[Any, Any]]] = {}
    for entry in mirror.history(run_id=run_id):
        if entry.system is None:
            continue
        fields = wrote.setdefault((entry.entity_id, entry.system), {})
        earlier = fields[entry.field][0] if entry.field in fields else entry.old_value
        fields[entry.field] = (earlier, entry.new_value)  # before the run's first write, after its last
    entity_ids = sorted({entity_id for entity_id, _ in wrote})
    bases = mirror.get_base(entity_ids)
    links = mirror.links_for(entity_ids)
    plan = UndoPlan(run_id)
    linked = {system for entity_links in links.values() for system in entity_links}
    unreadable = _load_catalogues(connectors, {system for _, system in wrote} | linked)
    plan.holds = {s: c.fields for s, c in connectors.items() if s not in unreadable}
    merged = _merged_everywhere(wrote, links, plan.holds)
    live: dict[tuple[str, str], RemoteRecord] = {}
    for (entity_id, system), fields in wrote.items():
        record = RecordUndo(entity_id, system, links.get(entity_id, {}).get(system), who(bases[entity_id]))
        plan.records.append(record)
        now = _read(record, connectors.get(system), unreadable.get(system))
        if now is None:
            # Not read: each field shows the value it would get back, and why it does not.
            why = record.skipped or record.error
            record.fields = tuple(
                FieldUndo(n, None, before, why) for n, (before, _) in sorted(fields.items())
            )
            continue
        live[(system, now.remote_id)] = now
        current = connectors[system].to_canonical(now).values
        record.fields = tuple(
            FieldUndo(name, current.get(name), before, MERGED_SET)
            if (entity_id, name) in merged
            else _field_undo(name, current.get(name), before, after, run_id)
            for name, (before, after) in sorted(fields.items())
        )
        if record.restores:
            record.op = _update(record, current, now)
            refused = connectors[system].refusal(record.op)
            if refused is not None:
                record.error = f"would be refused: {refused}"
    plan.records.sort(key=lambda r: (r.who.casefold(), r.entity_id, r.system))
    readable = {s: c for s, c in connectors.items() if s not in unreadable}
    plan.held = _held(readable, links, live, {r.entity_id for r in plan.writes})
    return plan


def _read(record: RecordUndo, connector: Connector | None, unreadable: str | None) -> RemoteRecord | None:
    """The record as its system holds it now; None (with ``skipped`` or ``error`` set) if not read."""
    if record.remote_id is None:
        record.skipped = f"no longer linked to a {record.system} record"
    elif connector is None:
        record.skipped = f"{record.system} is not configured"
    elif unreadable is not None:
        record.error = unreadable
    else:
        try:
            return connector.get(record.remote_id)
        except StopSystemError:
            raise
        except MissingRecordError:
            record.skipped = f"deleted in {record.system}"
        except ConnectorError as exc:
            record.error = f"could not be read: {exc}"
    return None


def _load_catalogues(connectors: Mapping[str, Connector], systems: set[str]) -> dict[str, str]:
    """Load what ``to_canonical`` needs; returns system -> why it cannot be read."""
    failed = {}
    for system in sorted(systems & set(connectors)):
        try:
            connectors[system].load_catalogue()
        except StopSystemError:
            raise
        except ConnectorError as exc:
            failed[system] = f"{system} could not be read: {exc}"
    return failed


def _merged_everywhere(
    wrote: Mapping[tuple[str, str], Mapping[str, Any]],
    links: Mapping[str, Mapping[str, str]],
    holds: Mapping[str, frozenset[str]],
) -> set[tuple[str, str]]:
    """(entity, set field) where the run wrote to every linked system that can hold the field: a
    union merged each system's members into all of them. Written back everywhere, no system would
    hold the merged set any more, and the next sync's three-way union would read each system's
    earlier set as removals of the others' members and take them from every system (or, from any
    other base, merge them all again). So such a field keeps the merged set."""
    written: dict[tuple[str, str], set[str]] = {}
    for (entity_id, system), fields in wrote.items():
        for name in SET_FIELDS & set(fields):
            written.setdefault((entity_id, name), set()).add(system)
    return {
        (entity_id, name)
        for (entity_id, name), systems in written.items()
        if len(systems) > 1
        and all(s in systems for s in links.get(entity_id, {}) if s not in holds or name in holds[s])
    }


def _field_undo(name: str, current: Any, before: Any, after: Any, run_id: int) -> FieldUndo:
    if same(name, current, before):
        return FieldUndo(name, current, before, "already holds the earlier value")
    if not same(name, current, after):
        return FieldUndo(name, current, before, f"changed since run {run_id}; kept")
    return FieldUndo(name, current, before)


def _update(record: RecordUndo, current: Values, now: RemoteRecord) -> WriteOp:
    """The update that writes the earlier values; a set field is changed by adding and removing
    members, so a member added meanwhile through another path is not dropped by a whole-list write."""
    values = record.restores
    add: dict[str, frozenset[str]] = {}
    remove: dict[str, frozenset[str]] = {}
    for name in SET_FIELDS & set(values):
        have = {str(m).casefold(): m for m in current.get(name) or []}
        want = {str(m).casefold(): m for m in values[name] or []}
        if want.keys() - have.keys():
            add[name] = frozenset(want[k] for k in want.keys() - have.keys())
        if have.keys() - want.keys():
            remove[name] = frozenset(have[k] for k in have.keys() - want.keys())
    return WriteOp(
        op_id=uuid.uuid4().hex, system=record.system, kind="update", remote_id=record.remote_id,
        values=values, add=add, remove=remove, expected=now, entity_id=record.entity_id,
    )  # fmt: skip


def _held(
    connectors: Mapping[str, Connector],
    links: Mapping[str, Mapping[str, str]],
    live: Mapping[tuple[str, str], RemoteRecord],
    entities: set[str],
) -> dict[str, dict[str, Values | None]]:
    """Per entity with something to write back and per linked system, its values now: the records
    read for the plan, and the entity's other records read too (a record not read is not known,
    and a base only moves where every system is known to agree)."""
    held: dict[str, dict[str, Values | None]] = {}
    for entity_id in sorted(entities):
        for system, remote_id in links.get(entity_id, {}).items():
            connector = connectors.get(system)
            record = live.get((system, remote_id))
            if record is None and connector is not None:
                try:
                    record = connector.get(remote_id)
                except ConnectorError:
                    record = None
            values = connector.to_canonical(record).values if connector and record else None
            held.setdefault(entity_id, {})[system] = values
    return held


# ---------------------------------------------------------------------- writing


def apply_undo(
    mirror: Mirror,
    connectors: Mapping[str, Connector],
    plan: UndoPlan,
    *,
    on_result: Callable[[RecordUndo], None] | None = None,
) -> UndoResult:
    """Push the plan's updates under a new run; each confirmed write-back is stored with its op's
    confirmation, its history and any base it moves, in one transaction."""
    result = UndoResult()
    todo = plan.writes  # one a system would refuse is sent too: the connector refuses it, sending nothing
    if not todo:
        return result
    run = mirror.start_run()
    result.undo_run_id = run.id
    try:
        for system in sorted({r.system for r in todo}):
            _push(mirror, connectors[system], [r for r in todo if r.system == system], plan, result, run.id,
                  on_result)  # fmt: skip
    except BaseException as exc:
        mirror.finish_run(run.id, "failed", counts=_counts(mirror, plan, result),
                          errors=[f"{type(exc).__name__}: {exc}"])  # fmt: skip
        raise
    failed = result.failed or any(r.error for r in plan.records)
    # The next sync merges every entity written back (what the systems now hold moves on from
    # there); owed work other runs left stays as it is.
    mirror.owe(
        Owed(r.entity_id, "", "undone", f"values written back by the undo of run {plan.run_id}", run.id)
        for r in plan.records if r.written and r.entity_id
    )  # fmt: skip
    mirror.finish_run(run.id, "partial" if failed else "succeeded", counts=_counts(mirror, plan, result))
    return result


def _push(
    mirror: Mirror,
    connector: Connector,
    records: list[RecordUndo],
    plan: UndoPlan,
    result: UndoResult,
    run_id: int,
    on_result: Callable[[RecordUndo], None] | None,
) -> None:
    by_op = {r.op.op_id: r for r in records if r.op is not None}
    stored = mirror.enqueue_many(
        [
            NewOp(system=r.system, kind="update", payload=op_payload(r.op), entity_id=r.entity_id,
                  remote_id=r.remote_id, op_id=op_id)
            for op_id, r in by_op.items() if r.op is not None
        ],
        run_id=run_id,
    )  # fmt: skip
    with mirror.transaction():  # sent as one batch
        for op in stored:
            mirror.mark_sent(op.op_id)
    settled: set[str] = set()

    def settle(answer: WriteResult) -> None:
        record = by_op.get(answer.op_id)
        if record is None or answer.op_id in settled:
            return  # not ours, or reported twice: the first answer stands
        settled.add(answer.op_id)
        if answer.ok and answer.record is not None:
            _confirm(mirror, connector, record, answer.record, plan, result, run_id,
                     left_out={e.field or "" for e in answer.left_out})  # fmt: skip
            if answer.left_out:  # written without the fields the system cannot take: say which
                mirror.add_record_errors(
                    RecordProblem(system=record.system, message=f"undo: {e}", field=e.field, run_id=run_id,
                                  remote_id=answer.record.remote_id, entity_id=record.entity_id)
                    for e in answer.left_out
                )  # fmt: skip
        else:
            _fail(mirror, record, answer.error or "write failed", result, run_id)
        if on_result is not None:
            on_result(record)

    try:
        connector.push([r.op for r in records if r.op is not None], on_result=settle)
    except StopSystemError as exc:
        for op_id, record in by_op.items():
            if op_id not in settled:
                settled.add(op_id)
                _fail(mirror, record, exc, result, run_id)


def _confirm(
    mirror: Mirror,
    connector: Connector,
    record: RecordUndo,
    written: RemoteRecord,
    plan: UndoPlan,
    result: UndoResult,
    run_id: int,
    *,
    left_out: frozenset[str] | set[str] = frozenset(),
) -> None:
    assert record.op is not None
    reason = f"undo of run {plan.run_id}"
    held = plan.held.setdefault(record.entity_id, {})
    held[record.system] = connector.to_canonical(written).values
    with mirror.transaction():
        mirror.confirm_many([record.op.op_id])
        mirror.upsert_records(record.system, [written], run_id=run_id)
        mirror.add_history(
            HistoryEntry(record.entity_id, f.field, f.current, f.restore, reason, record.system, run_id)
            for f in record.fields
            if f.skipped is None and f.field not in left_out
        )
        base = mirror.get_base([record.entity_id])[record.entity_id]
        moved = {
            name: value
            for name, value in record.restores.items()
            if not is_blank(value)
            and not same(name, base.get(name), value)
            and _all_hold(name, value, held, plan.holds)
        }
        if moved:
            mirror.set_base_many({record.entity_id: moved}, run_id=run_id)
            entries = [
                HistoryEntry(record.entity_id, name, base.get(name), value,
                             f"{reason}: every linked system holds it", None, run_id)
                for name, value in moved.items()
            ]  # fmt: skip
            mirror.add_history(entries)
            result.base.extend(entries)
    record.written = True
    result.confirmed += 1


def _all_hold(
    name: str, value: Any, held: Mapping[str, Values | None], holds: Mapping[str, frozenset[str]]
) -> bool:
    """Whether every linked system that can hold ``name`` holds ``value`` (a system whose values or
    fields are not known counts as holding something else)."""
    for system, values in held.items():
        if system in holds and name not in holds[system]:
            continue
        if values is None or not same(name, values.get(name), value):
            return False
    return True


def _fail(
    mirror: Mirror, record: RecordUndo, error: Exception | str, result: UndoResult, run_id: int
) -> None:
    assert record.op is not None
    text = str(error) or type(error).__name__
    record.error = f"write failed: {text}"
    result.failed += 1
    with mirror.transaction():
        mirror.fail(record.op.op_id, text)
        mirror.add_record_errors(
            [
                RecordProblem(
                    system=record.system,
                    message=f"undo of {record.who}: {text}",
                    remote_id=record.remote_id,
                    entity_id=record.entity_id,
                    field=error.field if isinstance(error, RecordError) else None,
                    run_id=run_id,
                )
            ]
        )


def _counts(mirror: Mirror, plan: UndoPlan, result: UndoResult) -> dict[str, Any]:
    counts: dict[str, Any] = {
        "undo_of": plan.run_id,
        "confirmed": result.confirmed,
        "failed": result.failed,
        "unread": sum(1 for r in plan.records if r.error and r.op is None),
        "skipped_fields": sum(1 for r in plan.records for f in r.fields if f.skipped),
        "skipped_records": sum(1 for r in plan.records if r.skipped),
        "base_moved": len(result.base),
    }
    return counts
