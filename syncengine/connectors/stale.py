"""A partial write must not land on a value a person saved after the pull.

A partial update (Apollo ``PATCH``, LeadConnector ``PUT``) cannot be made conditional: both APIs
write whatever is sent. The engine plans an op from the record as pulled (``WriteOp.expected``);
when a person saves another value into a field the op writes between that pull and the write, the
write would replace the person's newer value without a trace. So before writing, the connector
lists the records changed since its pull, with the same search the pull uses (``MovedSincePull``):
one page before every batch of writes rather than a GET before each. An op whose record is in that
list and whose written fields moved is refused with ``StaleRecordError``, sends nothing, and is
planned again by the next run, whose merge sees the person's value as a change (a conflict settled
by the rules and kept in the history) instead of writing over it.

Fields the op does not write are not compared: a partial write leaves them as they are. A short
window between the latest listing and the write remains; neither API offers a way to close it.
Where a search index lags behind writes, an edit made within the lag is not listed yet: the
connector's overlap window covers the pull, not this check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from syncengine.canonical import same
from syncengine.connectors.base import RemoteRecord, WriteOp
from syncengine.connectors.errors import StaleRecordError


def written_fields(op: WriteOp) -> set[str]:
    """The canonical fields an update writes over: its values, less the sets it changes by adding and
    removing members (through endpoints that keep a member a person added meanwhile)."""
    return set(op.values) - set(op.add) - set(op.remove)


def refuse_if_moved(
    op: WriteOp,
    current: RemoteRecord,
    fields: Iterable[str],
    to_canonical: Callable[[RemoteRecord], Any],
    *,
    method: str,
    path: str,
) -> None:
    """Raise ``StaleRecordError`` when one of ``fields`` (canonical names the op writes) holds another
    value in ``current`` than in ``op.expected``, unless it already holds the value the op writes."""
    if op.expected is None:
        return
    before = to_canonical(op.expected).values
    now = to_canonical(current).values
    moved = sorted(
        name
        for name in set(fields)
        if not same(name, before.get(name), now.get(name))
        and not same(name, now.get(name), op.values.get(name))
    )
    if moved:
        raise StaleRecordError(
            f"record {op.remote_id} moved since it was read ({', '.join(moved)} changed); "
            "left for the next run",
            remote_id=op.remote_id,
            system=op.system,
            method=method,
            path=path,
        )


class PullMark:
    """What a connector's last pull saw: the newest update time among its records, in the CRM's own
    clock, which is where the check before writes starts listing."""

    def __init__(self) -> None:
        self.started: datetime | None = None  # local clock, when the pull began
        self.newest: datetime | None = None

    @property
    def pulled(self) -> bool:
        return self.started is not None

    def watch(self, records: Iterable[RemoteRecord]) -> Iterator[RemoteRecord]:
        """``records`` as they are pulled, noting the newest update time."""
        self.started, self.newest = datetime.now(UTC), None
        for record in records:
            if record.updated_at is not None and (self.newest is None or record.updated_at > self.newest):
                self.newest = record.updated_at
            yield record

    def floor(self, overlap: timedelta) -> datetime | None:
        """Where the listing of records changed since the pull starts; with nothing pulled, the local
        clock at the pull less ``overlap`` (clock skew); None without a pull."""
        if self.newest is not None:
            return self.newest
        return self.started - overlap if self.started is not None else None


class MovedSincePull:
    """The records of one system that changed since its connector's pull, listed again before every
    ``batch`` writes. ``list_changed(floor)`` yields the records updated at or after ``floor``;
    the floor moves to the newest update time each listing saw, as the system's own clock tells it,
    so an edit made after a listing is in the next one. Without a floor (no pull in this
    connector's life) each record is read with ``get``."""

    def __init__(
        self,
        list_changed: Callable[[datetime], Iterable[RemoteRecord]],
        get: Callable[[str], RemoteRecord],
        floor: datetime | None,
        *,
        batch: int,
    ) -> None:
        self.list_changed = list_changed
        self.get = get
        self.floor = floor
        self.batch = batch
        # The records listed as changed, by remote id, with their update time: not the records, so
        # that a run's memory does not grow with its own writes (which come back in every listing);
        # a write to one that changed after the version it was planned from reads it first.
        self.moved: dict[str, datetime | None] = {}
        self._left = 0  # writes before the next listing

    def relist(self) -> None:
        """List again before the next write (a new push): the listing starts where the last one
        ended, so it holds only what changed since, not everything since the pull."""
        self._left = 0

    def latest(self, remote_id: str, planned_from: datetime | None = None) -> RemoteRecord | None:
        """The record as it is now when it changed since the pull (or since the last listing), else
        None: the record as pulled is still current. ``planned_from``: the update time of the version
        the write was planned from; a listing that saw no later one means nothing moved."""
        if self.floor is None:
            return self.get(remote_id)
        if self._left <= 0:
            self._list()
            self._left = self.batch
        self._left -= 1
        if remote_id not in self.moved:
            return None
        listed = self.moved[remote_id]
        if planned_from is not None and listed is not None and listed <= planned_from:
            return None
        return self.get(remote_id)

    def _list(self) -> None:
        assert self.floor is not None
        newest = self.floor
        for record in self.list_changed(self.floor):
            self.moved[record.remote_id] = record.updated_at
            if record.updated_at is not None and record.updated_at > newest:
                newest = record.updated_at
        self.floor = newest
