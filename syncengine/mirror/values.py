"""Plain frozen values that the mirror takes and returns; the rest of the engine sees only these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

RunStatus = Literal["running", "succeeded", "failed", "partial", "interrupted"]
OpState = Literal["pending", "sent", "confirmed", "failed"]
ConflictStatus = Literal["open", "resolved"]


class PulledRecord(Protocol):
    """What a pull yields per record; ``syncengine.connectors.base.RemoteRecord`` fits."""

    @property
    def remote_id(self) -> str: ...

    @property
    def raw(self) -> Mapping[str, Any]: ...

    @property
    def updated_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class StoredRecord:
    """A record as the mirror last saw it, with its entity if linked."""

    system: str
    remote_id: str
    raw: Mapping[str, Any]
    content_hash: str
    remote_updated_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    changed_at: datetime  # when the mirror stored this content
    changed_run_id: int
    deleted_at: datetime | None
    deleted_by: str | None
    entity_id: str | None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True)
class RecordProblem:
    """A record (or entity) that could not be processed, kept so it is reported rather than lost."""

    system: str
    message: str
    remote_id: str | None = None
    entity_id: str | None = None
    field: str | None = None
    run_id: int | None = None
    at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class UpsertResult:
    """Remote ids of one ``upsert_records`` call by outcome. Unchanged ones need no further work."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # content hash differs, or a deleted record came back
    unchanged: tuple[str, ...] = ()
    rejected: tuple[RecordProblem, ...] = ()

    @property
    def touched(self) -> tuple[str, ...]:
        """New and changed ids: the records the rest of the run has to look at."""
        return self.new + self.changed


@dataclass(frozen=True)
class HistoryEntry:
    """One value the engine overwrote or merged. ``system`` None means the base itself."""

    entity_id: str
    field: str
    old_value: Any
    new_value: Any
    reason: str
    system: str | None = None
    run_id: int | None = None
    at: datetime | None = None  # filled with the time of storing when None
    id: int | None = None


@dataclass(frozen=True)
class Conflict:
    """Two or more systems changed one field of one entity to different values since the base."""

    id: int
    entity_id: str
    field: str
    base_value: Any
    values: Mapping[str, Any]  # system -> its value
    first_seen_at: Mapping[str, datetime]  # system -> when its value was first seen changed
    policy: str
    status: ConflictStatus
    run_id: int | None
    opened_at: datetime
    updated_at: datetime
    resolution_value: Any = None  # meaningful only when status == "resolved"
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolved_run_id: int | None = None


@dataclass(frozen=True)
class Run:
    """One sync cycle and what it did."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    dry_run: bool
    counts: Mapping[str, Any]
    timings: Mapping[str, float]  # phase -> seconds
    errors: tuple[Any, ...]


@dataclass(frozen=True)
class NewOp:
    """A write to put in the outbox. ``op_id`` is generated when None; a create gets an
    ``idempotency_key`` (its op id when None), and enqueueing a key twice returns the first op."""

    system: str
    kind: str
    payload: Any
    entity_id: str | None = None
    remote_id: str | None = None
    op_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class OutboxOp:
    """A write as the outbox holds it; ``pending`` and ``sent`` ops are unfinished."""

    op_id: str
    run_id: int
    system: str
    kind: str
    entity_id: str | None
    remote_id: str | None
    payload: Any
    state: OpState
    attempts: int
    last_error: str | None
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Cursor:
    """Where the next incremental pull of one system starts."""

    system: str
    cursor_at: datetime | None
    cursor_json: Any
    updated_at: datetime
    run_id: int | None


@dataclass(frozen=True)
class MirrorInfo:
    """What ``syncengine status`` shows about the state database (no secrets)."""

    backend: str  # "sqlite" or "postgresql"
    location: str  # file path, or URL with the password hidden
    schema_version: int
    settings: Mapping[str, str] = field(default_factory=dict)  # e.g. SQLite pragmas in effect


@dataclass(frozen=True)
class Owed:
    """Work a later run owes an entity: ``reason`` is its kind (failed, interrupted, deferred,
    planned, ...), ``detail`` the words a person reads; ``system`` is "" when no one system's."""

    entity_id: str
    system: str
    reason: str
    detail: str
    run_id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class SeenConflict:
    """A disagreement a run met on (entity, field): opens the conflict or updates the open one.
    With ``resolved_by`` a rule settled it at once with ``resolution_value``."""

    entity_id: str
    field: str
    base_value: Any
    values: Mapping[str, Any]
    policy: str
    first_seen_at: Mapping[str, datetime]
    resolved_by: str | None = None
    resolution_value: Any = None


@dataclass(frozen=True)
class Refusal:
    """A write a system refused (a duplicate of another record) and that now waits: the op as the
    outbox stored it, and the owed row's words and run."""

    entity_id: str
    system: str
    kind: str
    payload: Any
    detail: str
    run_id: int


@dataclass(frozen=True)
class WaitingItem:
    """A contact that waits for a change before a run looks at it again: a create a system refuses
    for a known reason (``entity_id`` set), or a record left unlinked because it matches several
    people (``remote_id`` set)."""

    system: str
    reason: str
    entity_id: str | None = None
    remote_id: str | None = None
    run_id: int | None = None
    at: datetime | None = None
