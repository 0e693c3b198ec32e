"""What every connector offers the engine, and the values that cross that boundary.

A connector is composition, not a class tower: one module per CRM holds only its API's specifics
(paths, body envelopes, page shapes, which list fields the API replaces whole) and builds on the
shared HTTP client (`syncengine.connectors.http`) and the CRM's field map (`syncengine.fieldmap`).

The engine speaks canonical values; a connector translates them to and from its API:

* ``pull`` yields ``RemoteRecord``s (raw JSON in the system's single read shape);
* ``describe`` renders the HTTP calls a list of ``WriteOp``s would make, for the dry-run preview;
* ``push`` performs them and reports one ``WriteResult`` per op, never stopping on a record error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from syncengine.connectors.errors import RecordError

OpKind = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class ConnectorOptions:
    """What a user may tune per connector; credentials and base URLs live in ``SystemSettings``.

    ``custom_fields`` maps a canonical target (a canonical field such as ``shirt_size``, or
    ``custom.<key>``) to the system's own custom-field name or key, overriding the default match
    by name (see ``syncengine.fieldmaps.custom``). ``overlap`` is how far an incremental pull
    looks back before its cursor (clock skew, equal timestamps, search indexes that lag behind).
    """

    default_region: str = "US"
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    overlap: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class RemoteRecord:
    """A contact as one system holds it.

    ``raw`` is always in the system's GET shape, whichever endpoint returned it (a connector
    converts search-result items), so that its content hash only changes when the data does.
    """

    system: str
    remote_id: str
    raw: Mapping[str, Any]
    updated_at: datetime | None


# Records a connector keeps as last read, for describe() when an op carries none (``WriteOp.expected``).
KNOWN_LIMIT = 1000  # an Apollo contact is some 10 KB as Python objects


@dataclass(frozen=True)
class WriteOp:
    """One write to one system, in canonical terms.

    ``values``: canonical fields to set (for a create, the whole canonical record to create).
    ``add`` / ``remove``: for set fields (``tags``, ``lists``), members to add or remove; a
    connector applies them with the API's additive/subtractive endpoints, or by read-modify-write
    of the whole set, so that a member added concurrently in the CRM is not lost.
    ``expected``: the record as last pulled; a replace-mode connector refuses to write when the
    record has moved since (``StaleRecordError``).
    ``op_id``: stable id from the outbox; a create's retry is looked up by it and by its values.
    """

    op_id: str
    system: str
    kind: OpKind
    remote_id: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, frozenset[str]] = field(default_factory=dict)
    remove: Mapping[str, frozenset[str]] = field(default_factory=dict)
    expected: RemoteRecord | None = None
    entity_id: str | None = None


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request as the preview shows it (the body exactly as it will be sent)."""

    method: str
    path: str
    body: Any = None
    params: Mapping[str, Any] | None = None
    op_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one op: the record as the system now holds it, or the error that stopped it.

    ``left_out``: fields (or set members) this system could not take, one ``RecordError`` each
    naming record, field and value; the op is written without them (``ok``), and they were not.
    """

    op_id: str
    ok: bool
    record: RemoteRecord | None = None
    error: Exception | None = None
    recovered: bool = False  # a create found already applied (reply lost earlier), not re-sent
    left_out: tuple[RecordError, ...] = ()


ResultCallback = Callable[[WriteResult], None]


def fetch_each(
    get: Callable[[str], RemoteRecord], remote_ids: Sequence[str]
) -> tuple[list[RemoteRecord], list[str]]:
    """``fetch_many`` for an API without a batch read: one ``get`` per distinct id, in order; an id
    the system no longer holds is reported, not raised. Other errors stop the read as a pull's do."""
    from syncengine.connectors.errors import MissingRecordError

    found: list[RemoteRecord] = []
    missing: list[str] = []
    for remote_id in dict.fromkeys(remote_ids):
        try:
            found.append(get(remote_id))
        except MissingRecordError:
            missing.append(remote_id)
    return found, missing


class Connector(Protocol):
    """The surface the engine uses; see the module docstring."""

    system: str

    @property
    def fields(self) -> frozenset[str]:
        """The canonical fields this system can hold (its field map's ``fields``)."""
        ...

    def check(self) -> None:
        """Verify credentials and reachability with one cheap call; raise AuthError/ConfigError."""
        ...

    def load_catalogue(self) -> Any:
        """Fetch the catalogues the field map needs (labels, tags, stages, custom fields, lists)."""
        ...

    def pull(self, since: datetime | None, *, full: bool = False) -> Iterator[RemoteRecord]:
        """Records changed at or after ``since`` minus the connector's overlap window.

        ``since=None`` or ``full=True`` yields every record (a full scan, which is also how
        deletions are found). The caller owns the cursor: it stores the run's start time, and
        only after the pull completed.
        """
        ...

    def get(self, remote_id: str) -> RemoteRecord:
        """One record; raises ``MissingRecordError`` when it no longer exists."""
        ...

    def fetch_many(self, remote_ids: Sequence[str]) -> tuple[list[RemoteRecord], list[str]]:
        """The records with these ids (a targeted sync reads them instead of pulling), and the ids
        the system no longer holds. No cursor moves. A system that cannot read records by id
        raises ``NotImplementedError``."""
        raise NotImplementedError(f"{self.system} cannot read records by id")

    def to_canonical(self, record: RemoteRecord) -> Any:
        """The record's canonical values and any values that could not be normalised."""
        ...

    def describe(self, ops: Sequence[WriteOp]) -> list[HttpCall]:
        """The calls ``push`` would make for ``ops`` (no I/O beyond cached catalogues)."""
        ...

    def refusal(self, op: WriteOp) -> RecordError | None:
        """The error ``push`` would give ``op`` before sending anything (a required field missing, a
        value of the record the API cannot take back), so a preview can show it; None when it
        would be sent."""
        ...

    def left_out(self, op: WriteOp) -> list[RecordError]:
        """The fields (or set members) ``push`` would leave out of ``op`` while sending the rest
        (``WriteResult.left_out``), so a preview can show them; empty when all would be sent."""
        ...

    def push(self, ops: Sequence[WriteOp], on_result: ResultCallback | None = None) -> list[WriteResult]:
        """Apply ``ops``; one result per op, in order; record errors never stop the batch."""
        ...

    def find_created(self, op: WriteOp) -> RemoteRecord | None:
        """For a create whose reply may have been lost: the record it made, if it exists."""
        ...

    def close(self) -> None: ...
