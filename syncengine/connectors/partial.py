"""Writing what can be written: a field one system cannot take is left out of the op, not the op.

A connector builds an op's body (or its calls) through its field map, which raises
``InvalidValueError`` naming the canonical field it cannot write. ``leave_out`` takes that field out
of the op (for a set field whose error names one member, only that member) and builds again, until
the body builds. An error about something the op does not carry (a required field the record
lacks, a value of the record as the system holds it) refuses the whole op, since leaving a field
out cannot cure it.

Each field left out becomes a ``RecordError`` on the op's ``WriteResult.left_out``: the write is
confirmed for what was sent, and the engine keeps the left-out field owed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from syncengine.canonical import InvalidValueError
from syncengine.connectors.base import WriteOp, WriteResult
from syncengine.connectors.errors import ConnectorError, RecordError, StopSystemError

T = TypeVar("T")
_SHOWN = 80  # characters of a refused value quoted in a message


@dataclass(frozen=True)
class Built(Generic[T]):
    """What an op built to once its unwritable fields were left out."""

    value: T
    op: WriteOp  # the op without them
    left_out: tuple[InvalidValueError, ...] = ()


def leave_out(op: WriteOp, build: Callable[[WriteOp], T]) -> Built[T]:
    """``build(op)``, leaving out each field (or set member) it refuses; raises the error that no
    leaving out cures (for a field already left out, the first reason given for it)."""
    left: list[InvalidValueError] = []
    current = op
    while True:
        try:
            return Built(build(current), current, tuple(left))
        except InvalidValueError as exc:
            reduced = without(current, exc)
            if reduced is None:
                earlier = next((e for e in left if e.field == exc.field), None)
                raise (earlier or exc) from None
            left.append(exc)
            current = reduced


def without(op: WriteOp, exc: InvalidValueError) -> WriteOp | None:
    """``op`` less what ``exc`` refuses; None when the op does not carry it (nothing to leave out)."""
    name = exc.field
    if name not in op.values and name not in op.add and name not in op.remove:
        return None
    if exc.member is not None:
        reduced = _without_member(op, name, exc.member)
        if reduced is not None:
            return reduced
    return dataclasses.replace(
        op,
        values={k: v for k, v in op.values.items() if k != name},
        add={k: v for k, v in op.add.items() if k != name},
        remove={k: v for k, v in op.remove.items() if k != name},
    )


def _without_member(op: WriteOp, name: str, member: str) -> WriteOp | None:
    gone = member.casefold()
    values: dict[str, Any] = dict(op.values)
    add = dict(op.add)
    found = False
    current = values.get(name)
    if isinstance(current, list | tuple | set | frozenset):
        kept = [m for m in current if not (isinstance(m, str) and m.casefold() == gone)]
        found = len(kept) != len(current)
        values[name] = kept
    if name in add:
        kept_add = frozenset(m for m in add[name] if m.casefold() != gone)
        found = found or len(kept_add) != len(add[name])
        if kept_add:
            add[name] = kept_add
        else:
            del add[name]
    return dataclasses.replace(op, values=values, add=add) if found else None


def shown(value: Any) -> str:
    """A value as a message quotes it: escaped (``repr``), and cut short when long."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 3]}... ({len(str(value))} characters)"


def left_out_error(
    system: str, op: WriteOp, exc: InvalidValueError, *, remote_id: str | None = None, sent: bool = True
) -> RecordError:
    """The report of one field left out of ``op``: system, record, field, value and why."""
    remote_id = remote_id or op.remote_id
    who = f"record {remote_id}" if remote_id else f"new record {op.values.get('email') or op.op_id}"
    value = exc.member if exc.member is not None else exc.raw
    outcome = "left out; the record's other fields were written" if sent else (
        "would be left out; the record's other fields would be written"
    )
    return RecordError(
        f"{who}: field {exc.field}: {exc.reason} (value {shown(value)}); {outcome}",
        remote_id=remote_id,
        field=exc.field,
        system=system,
    )


def refused_error(system: str, op: WriteOp, exc: InvalidValueError) -> RecordError:
    """The report of an op nothing of which can be sent."""
    who = f"record {op.remote_id}" if op.remote_id else f"new record {op.values.get('email') or op.op_id}"
    return RecordError(
        f"{who}: field {exc.field}: {exc.reason}; nothing sent",
        remote_id=op.remote_id,
        field=exc.field,
        system=system,
    )


def with_left_out(result: WriteResult, errors: tuple[RecordError, ...]) -> WriteResult:
    """A successful ``WriteResult`` carrying the fields left out of it."""
    if not errors or not result.ok:
        return result
    return dataclasses.replace(result, left_out=tuple(result.left_out) + errors)


def errors_for(
    system: str, built: Built[Any], original: WriteOp, *, remote_id: str | None = None, sent: bool = True
) -> tuple[RecordError, ...]:
    return tuple(left_out_error(system, original, e, remote_id=remote_id, sent=sent) for e in built.left_out)



def refusal_of(system: str, op: WriteOp, build: Callable[[WriteOp], Built[Any] | None]) -> RecordError | None:
    """Why ``op`` would be refused whole (nothing sent), or None; ``build`` is the connector's."""
    try:
        build(op)
    except InvalidValueError as exc:
        return refused_error(system, op, exc)
    return None


def left_out_of(system: str, op: WriteOp, build: Callable[[WriteOp], Built[Any] | None]) -> list[RecordError]:
    """The fields (or set members) ``op`` would be written without; empty when it is refused
    whole (``refusal_of`` says why) or all would be sent."""
    try:
        built = build(op)
    except InvalidValueError:
        return []
    return list(errors_for(system, built, op, sent=False)) if built is not None else []


def guarded(system: str, op: WriteOp, write: Callable[[], WriteResult]) -> WriteResult:
    """``write()``, with the errors that fail this op only turned into its result: a value the API
    cannot take, a record error, a transient one. A system-wide stop still stops the push."""
    try:
        return write()
    except StopSystemError:
        raise
    except InvalidValueError as exc:
        return WriteResult(op.op_id, ok=False, error=refused_error(system, op, exc))
    except ConnectorError as exc:
        return WriteResult(op.op_id, ok=False, error=exc)
