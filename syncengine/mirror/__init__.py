"""The state mirror: what the engine knew about every system, kept in SQLite or PostgreSQL.

Open it with ``Mirror.open()``; everything it returns is a plain frozen value from ``values``.
"""

from __future__ import annotations

from syncengine.mirror.errors import (
    CorruptStateError,
    LinkConflictError,
    MirrorError,
    MirrorValueError,
    NotFoundError,
    SchemaVersionError,
    StateFileError,
    StateTransitionError,
)
from syncengine.mirror.migrations import LATEST_VERSION
from syncengine.mirror.store import Mirror
from syncengine.mirror.values import (
    Conflict,
    Cursor,
    HistoryEntry,
    MirrorInfo,
    NewOp,
    OutboxOp,
    Owed,
    PulledRecord,
    RecordProblem,
    Refusal,
    Run,
    SeenConflict,
    StoredRecord,
    UpsertResult,
    WaitingItem,
)

__all__ = [
    "LATEST_VERSION",
    "Conflict",
    "CorruptStateError",
    "Cursor",
    "HistoryEntry",
    "LinkConflictError",
    "Mirror",
    "MirrorError",
    "MirrorInfo",
    "MirrorValueError",
    "NewOp",
    "NotFoundError",
    "OutboxOp",
    "Owed",
    "PulledRecord",
    "RecordProblem",
    "Refusal",
    "Run",
    "SchemaVersionError",
    "SeenConflict",
    "StateFileError",
    "StateTransitionError",
    "StoredRecord",
    "UpsertResult",
    "WaitingItem",
]
