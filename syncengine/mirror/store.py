"""``Mirror``: the engine's memory of records, entities, bases, conflicts, runs and pending writes.

Every method runs in its own transaction, or in the caller's when called inside
``with mirror.transaction():``, which is how a run commits its base, history and outbox
confirmations together or not at all. Transactions nest (an inner block is a savepoint). A Mirror
may be shared by threads; each thread has its own connection and transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from syncengine.mirror import (
    base_values,
    conflicts,
    cursors,
    entities,
    history,
    match_keys,
    migrations,
    outbox,
    owed,
    record_errors,
    records,
    runs,
    waiting,
)
from syncengine.mirror.db import (
    READ_ONLY,
    SQLITE_PRAGMAS,
    Location,
    corruption_error,
    ensure_private_file,
    is_corruption,
    make_engine,
    require_sound_sqlite,
    resolve,
)
from syncengine.mirror.errors import StateFileError
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
    RunStatus,
    SeenConflict,
    StoredRecord,
    UpsertResult,
    WaitingItem,
)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Mirror:
    """The state database. Open it with ``Mirror.open``; see the module docstring."""

    def __init__(self, engine: Engine, location: Location, clock: Clock) -> None:
        self._engine = engine
        self._location = location
        self._now = clock
        self._local = threading.local()  # .conn: this thread's open transaction, if any

    def _active(self) -> Connection | None:
        return getattr(self._local, "conn", None)

    # ------------------------------------------------------------------ opening and transactions

    @classmethod
    def open(
        cls,
        target: str | os.PathLike[str] | None = None,
        *,
        state_dir: str | os.PathLike[str] | None = None,
        clock: Clock = _utc_now,
    ) -> Mirror:
        """Open (creating or upgrading) the state database.

        ``target``: None for ``<state_dir>/syncengine.db`` (``state_dir`` defaults to ``state``),
        a file or directory path, a ``sqlite:///`` URL or a ``postgresql://`` URL. Raises
        ``CorruptStateError`` for a file that is not a readable SQLite database and
        ``SchemaVersionError`` for one from a newer syncengine; in both cases nothing is written.
        """
        location = resolve(target, state_dir)
        where = location.describe()
        if location.path is not None:
            ensure_private_file(location.path)
        engine = make_engine(location)
        try:
            with engine.begin() as conn:
                if location.path is not None:
                    require_sound_sqlite(conn, where)  # never build on, or migrate, a damaged file
                migrations.prepare_schema(conn, where, clock())
        except (DBAPIError, sqlite3.DatabaseError) as exc:
            engine.dispose()
            reason = getattr(exc, "orig", None) or exc
            if is_corruption(exc):
                raise corruption_error(where, reason) from exc
            raise StateFileError(f"{where}: cannot open the state database ({reason})") from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, location, clock)

    def close(self) -> None:
        """Close every pooled connection (SQLite then folds the WAL back into the file)."""
        self._engine.dispose()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All mirror calls inside the block commit together, or none does if it raises."""
        conn = self._active()
        if conn is not None:
            with conn.begin_nested():
                yield
            return
        with self._engine.begin() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """The caller's transaction, or a new one that commits when the block ends."""
        conn = self._active()
        if conn is not None:
            yield conn
            return
        with self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """The caller's transaction, or a new read-only one (a snapshot that takes no write lock)."""
        conn = self._active()
        if conn is not None:
            yield conn
            return
        with self._engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    def info(self) -> MirrorInfo:
        """Backend, location (no password), schema version and, for SQLite, the pragmas in effect."""
        settings: dict[str, str] = {}
        with self._read() as conn:
            version = migrations.current_version(conn)
            if self._location.backend == "sqlite":
                for pragma in SQLITE_PRAGMAS:
                    settings[pragma] = str(conn.exec_driver_sql(f"PRAGMA {pragma}").scalar())
        return MirrorInfo(
            backend=self._location.backend,
            location=self._location.describe(),
            schema_version=version,
            settings=settings,
        )

    def check_integrity(self) -> None:
        """Read every page of a SQLite file again, as ``open`` does; raise ``CorruptStateError``
        naming the file when damage is found. PostgreSQL checks its own pages."""
        if self._location.path is None:
            return
        where = self._location.describe()
        try:
            with self._read() as conn:
                require_sound_sqlite(conn, where)
        except DBAPIError as exc:
            if not is_corruption(exc):
                raise
            raise corruption_error(where, exc.orig) from exc

    # ------------------------------------------------------------------ records

    def upsert_records(self, system: str, pulled: Iterable[PulledRecord], *, run_id: int) -> UpsertResult:
        """Store records pulled from ``system``; see ``records.upsert_records``. Records that cannot
        be stored are also kept in the record errors of ``run_id``."""
        now = self._now()
        with self._write() as conn:
            result = records.upsert_records(conn, system, pulled, run_id=run_id, now=now)
            record_errors.add_record_errors(conn, result.rejected, now=now)
        return result

    def preview_records(self, system: str, pulled: Iterable[PulledRecord]) -> list[StoredRecord]:
        """What ``upsert_records`` would store as new or changed, without writing (dry runs)."""
        with self._read() as conn:
            return records.preview_upsert(conn, system, list(pulled), now=self._now())

    def get_record(self, system: str, remote_id: str) -> StoredRecord | None:
        with self._read() as conn:
            return records.get_record(conn, system, remote_id)

    def get_records(self, system: str, remote_ids: Sequence[str]) -> dict[str, StoredRecord]:
        with self._read() as conn:
            return records.get_records(conn, system, remote_ids)

    def changed_records(self, system: str, since_run: int) -> list[StoredRecord]:
        """Records stored new or changed, or found deleted, in run ``since_run`` or later."""
        with self._read() as conn:
            return records.changed_records(conn, system, since_run)

    def changed_refs(self, system: str, since_run: int) -> list[tuple[str, str | None, bool]]:
        """``(remote_id, entity_id or None, deleted)`` of the records changed since ``since_run``."""
        with self._read() as conn:
            return records.changed_refs(conn, system, since_run)

    def unlinked_ids(self, system: str) -> list[str]:
        with self._read() as conn:
            return records.unlinked_ids(conn, system)

    def unlinked_records(self, system: str) -> list[StoredRecord]:
        """Live records of ``system`` that no entity links (to be matched)."""
        with self._read() as conn:
            return records.unlinked_records(conn, system)

    def records_for_entity(self, entity_id: str) -> dict[str, StoredRecord]:
        with self._read() as conn:
            return records.records_for_entity(conn, entity_id)

    def not_seen_since(self, system: str, run_id: int) -> list[str]:
        """Live records of ``system`` that run ``run_id`` did not see (deletion candidates after a
        complete full scan in that run)."""
        with self._read() as conn:
            return records.not_seen_since(conn, system, run_id)

    def tombstone(self, system: str, remote_id: str, detected_by: str, *, run_id: int) -> StoredRecord:
        """Mark a record deleted; ``detected_by`` says how (``full_scan``, ``webhook``, ``get_404``...)."""
        with self._write() as conn:
            return records.tombstone(
                conn, system, remote_id, detected_by=detected_by, run_id=run_id, now=self._now()
            )

    # ------------------------------------------------------------------ entities

    def new_entity(self) -> str:
        return self.new_entities(1)[0]

    def new_entities(self, count: int) -> list[str]:
        with self._write() as conn:
            return entities.new_entities(conn, count, now=self._now())

    def link(self, entity_id: str, system: str, remote_id: str, *, run_id: int | None = None) -> None:
        """Link a record to an entity; ``LinkConflictError`` if either side is taken."""
        self.link_many([(entity_id, system, remote_id)], run_id=run_id)

    def link_many(self, wanted: Iterable[tuple[str, str, str]], *, run_id: int | None = None) -> None:
        """Link each (entity_id, system, remote_id), all or none."""
        with self._write() as conn:
            entities.link_many(conn, wanted, run_id=run_id, now=self._now())

    def unlink(self, system: str, remote_id: str) -> str | None:
        with self._write() as conn:
            return entities.unlink(conn, system, remote_id)

    def entity_for(self, system: str, remote_id: str) -> str | None:
        with self._read() as conn:
            return entities.entity_for(conn, system, remote_id)

    def entities_for(self, system: str, remote_ids: Sequence[str]) -> dict[str, str]:
        with self._read() as conn:
            return entities.entities_for(conn, system, remote_ids)

    def links_of(self, entity_id: str) -> dict[str, str]:
        """``{system: remote_id}`` of the entity's linked records."""
        with self._read() as conn:
            return entities.links_of(conn, entity_id)

    def links_for(self, entity_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """``{entity_id: {system: remote_id}}`` of the given entities (those with links)."""
        with self._read() as conn:
            return entities.links_for(conn, entity_ids)

    def link_counts(self) -> dict[str, int]:
        """``{system: linked records}``."""
        with self._read() as conn:
            return entities.link_counts(conn)

    def all_links(self) -> dict[str, dict[str, str]]:
        """``{entity_id: {system: remote_id}}`` for every linked entity."""
        with self._read() as conn:
            return entities.all_links(conn)

    def set_match_keys(self, keys: Mapping[tuple[str, str], Iterable[str]]) -> None:
        """Replace the match keys of each ``(system, remote_id)`` (see ``match.record_keys``)."""
        with self._write() as conn:
            match_keys.set_match_keys(conn, keys)

    def records_with_match_keys(self, keys: Collection[str]) -> set[tuple[str, str]]:
        with self._read() as conn:
            return match_keys.records_with_keys(conn, keys)

    def match_keys_of(self, refs: Collection[tuple[str, str]]) -> set[str]:
        """The keys stored for the records ``(system, remote_id)``."""
        with self._read() as conn:
            return match_keys.keys_of_records(conn, refs)

    def match_keys_by_record(self, refs: Collection[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        """The keys stored for each of the records ``(system, remote_id)``."""
        with self._read() as conn:
            return match_keys.keys_by_record(conn, refs)

    def match_key_rows(self) -> Iterator[tuple[str, str, str]]:
        """Every stored ``(key, system, remote_id)`` in key order, streamed: records sharing a key
        come one after another."""
        with self._read() as conn:
            yield from match_keys.rows_by_key(conn)

    def has_match_keys(self) -> bool:
        """False for a state written before records kept their match keys (or before any run)."""
        with self._read() as conn:
            return match_keys.has_match_keys(conn)

    # ------------------------------------------------------------------ base and history

    def get_base(self, entity_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        with self._read() as conn:
            return base_values.get_base(conn, entity_ids)

    def entities_with_values(self, wanted: Mapping[str, Collection[str]]) -> set[str]:
        """Entities whose base holds one of the given values (lower-cased) in the field named."""
        with self._read() as conn:
            return base_values.entities_with_values(conn, wanted)

    def entities_with_names(
        self, names: Collection[tuple[str, str]], keep: Callable[[Mapping[str, Any]], bool]
    ) -> set[str]:
        """Entities whose base holds one of the (first name, last name) pairs (lower-cased) and
        whose name and company ``keep`` takes."""
        with self._read() as conn:
            return base_values.entities_with_names(conn, names, keep)

    def set_base(self, entity_id: str, values: Mapping[str, Any], *, run_id: int | None) -> None:
        self.set_base_many({entity_id: values}, run_id=run_id)

    def set_base_many(self, values: Mapping[str, Mapping[str, Any]], *, run_id: int | None) -> None:
        with self._write() as conn:
            base_values.set_base_many(conn, values, run_id=run_id, now=self._now())

    def add_history(self, entries: Iterable[HistoryEntry]) -> int:
        with self._write() as conn:
            return history.add_history(conn, entries, now=self._now())

    def history(self, *, entity_id: str | None = None, run_id: int | None = None) -> list[HistoryEntry]:
        with self._read() as conn:
            return history.list_history(conn, entity_id=entity_id, run_id=run_id)

    # ------------------------------------------------------------------ conflicts

    def open_conflict(
        self,
        entity_id: str,
        field: str,
        *,
        base_value: Any,
        values: Mapping[str, Any],
        policy: str,
        first_seen_at: Mapping[str, datetime] | None = None,
        run_id: int | None = None,
    ) -> Conflict:
        """Open (or update) the conflict on (entity, field); systems missing from ``first_seen_at``
        are first seen now."""
        with self._write() as conn:
            return conflicts.open_conflict(
                conn,
                entity_id=entity_id,
                field=field,
                base_value=base_value,
                values=values,
                first_seen_at=first_seen_at or {},
                policy=policy,
                run_id=run_id,
                now=self._now(),
            )

    def record_conflicts(self, items: Sequence[SeenConflict], *, run_id: int | None = None) -> None:
        """Open or update the conflicts a run met, settling those a rule settled (``conflicts``)."""
        if items:
            with self._write() as conn:
                conflicts.record_conflicts(conn, items, run_id=run_id, now=self._now())

    def resolve_conflict(
        self, conflict_id: int, value: Any, *, resolved_by: str, run_id: int | None = None
    ) -> Conflict:
        with self._write() as conn:
            return conflicts.resolve_conflict(
                conn, conflict_id, value=value, resolved_by=resolved_by, run_id=run_id, now=self._now()
            )

    def get_conflict(self, conflict_id: int) -> Conflict:
        with self._read() as conn:
            return conflicts.get_conflict(conn, conflict_id)

    def open_conflicts(self, entity_ids: Sequence[str] | None = None) -> list[Conflict]:
        with self._read() as conn:
            return conflicts.open_conflicts(conn, entity_ids)

    def open_conflict_keys(self) -> set[tuple[str, str]]:
        with self._read() as conn:
            return conflicts.open_conflict_keys(conn)

    def pending_resolutions(self) -> list[Conflict]:
        """Conflicts a person settled whose value no run has written yet."""
        with self._read() as conn:
            return conflicts.pending_resolutions(conn)

    def mark_resolution_applied(self, conflict_id: int, *, run_id: int) -> None:
        with self._write() as conn:
            conflicts.mark_applied(conn, conflict_id, run_id=run_id, now=self._now())

    def conflicts(
        self, *, status: str | None = None, run_id: int | None = None, field: str | None = None
    ) -> list[Conflict]:
        """Conflicts of any status, oldest first; filters combine."""
        with self._read() as conn:
            return conflicts.list_conflicts(conn, status=status, run_id=run_id, field=field)

    # ------------------------------------------------------------------ runs

    def start_run(self, *, dry_run: bool = False) -> Run:
        with self._write() as conn:
            return runs.start_run(conn, dry_run=dry_run, now=self._now())

    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        *,
        counts: Mapping[str, Any] | None = None,
        timings: Mapping[str, float] | None = None,
        errors: Sequence[Any] = (),
    ) -> Run:
        with self._write() as conn:
            return runs.finish_run(
                conn,
                run_id,
                status=status,
                counts=counts or {},
                timings=timings or {},
                errors=errors,
                now=self._now(),
            )

    def interrupt_unfinished_runs(self) -> list[int]:
        """Mark runs left ``running`` by a process that died as ``interrupted`` (call it only while
        holding the state lock); returns their ids."""
        with self._write() as conn:
            return runs.interrupt_unfinished(conn, now=self._now())

    def get_run(self, run_id: int) -> Run:
        with self._read() as conn:
            return runs.get_run(conn, run_id)

    def last_run(
        self, *, status: RunStatus | Collection[RunStatus] | None = None, dry_run: bool | None = False
    ) -> Run | None:
        with self._read() as conn:
            return runs.last_run(conn, status=status, dry_run=dry_run)

    def recent_runs(self, limit: int = 20) -> list[Run]:
        with self._read() as conn:
            return runs.recent_runs(conn, limit)

    # ------------------------------------------------------------------ owed work

    def owe(self, items: Iterable[Owed]) -> None:
        with self._write() as conn:
            owed.owe(conn, items, now=self._now())

    def settle_owed(self, entity_ids: Collection[str], *, reasons: Collection[str] | None = None) -> None:
        with self._write() as conn:
            owed.settle(conn, entity_ids, reasons=reasons)

    def owed_entities(self, *, besides: Collection[str] = ()) -> set[str]:
        """Entities owed work (for a reason other than ``besides``)."""
        with self._read() as conn:
            return owed.owed_entities(conn, besides=besides)

    def owed_to(self, entity_ids: Collection[str], *, reason: str) -> list[Owed]:
        with self._read() as conn:
            return owed.owed_to(conn, entity_ids, reason=reason)

    def owed(self, *, limit: int | None = None, offset: int = 0, reason: str | None = None) -> list[Owed]:
        with self._read() as conn:
            return owed.list_owed(conn, limit=limit, offset=offset, reason=reason)

    def waiting(self, *, limit: int | None = None, offset: int = 0) -> list[WaitingItem]:
        """Contacts that wait for a change (``mirror.waiting``)."""
        with self._read() as conn:
            return waiting.list_waiting(conn, limit=limit, offset=offset)

    def refusals(self, entity_ids: Collection[str]) -> list[Refusal]:
        """The refused writes ``entity_ids`` wait with (``mirror.waiting.refusals``)."""
        with self._read() as conn:
            return waiting.refusals(conn, entity_ids)

    def waiting_counts(self) -> dict[str, int]:
        with self._read() as conn:
            return waiting.count_waiting(conn)

    def owed_counts(self) -> dict[str, int]:
        with self._read() as conn:
            return owed.count_owed(conn)

    # ------------------------------------------------------------------ outbox

    def enqueue(self, op: NewOp, *, run_id: int) -> OutboxOp:
        return self.enqueue_many([op], run_id=run_id)[0]

    def enqueue_many(self, ops: Iterable[NewOp], *, run_id: int) -> list[OutboxOp]:
        with self._write() as conn:
            return outbox.enqueue(conn, ops, run_id=run_id, now=self._now())

    def mark_sent(self, op_id: str) -> OutboxOp:
        with self._write() as conn:
            return outbox.mark_sent(conn, op_id, now=self._now())

    def mark_sent_many(self, op_ids: Sequence[str]) -> None:
        """Mark several ops sent at once (see ``outbox.mark_sent_many``)."""
        with self._write() as conn:
            outbox.mark_sent_many(conn, op_ids, now=self._now())

    def confirm_created(self, created: Sequence[tuple[str, str]]) -> None:
        """Confirm several creates, ``(op_id, remote_id)``, at once."""
        with self._write() as conn:
            outbox.confirm_created(conn, created, now=self._now())

    def confirm(self, op_id: str, remote_id: str | None = None) -> OutboxOp:
        with self._write() as conn:
            return outbox.confirm(conn, op_id, remote_id=remote_id, now=self._now())

    def confirm_many(self, op_ids: Sequence[str]) -> None:
        """Confirm several updates at once (see ``outbox.confirm_many``)."""
        with self._write() as conn:
            outbox.confirm_many(conn, op_ids, now=self._now())

    def fail(self, op_id: str, error: str, *, retryable: bool = False) -> OutboxOp:
        with self._write() as conn:
            return outbox.fail(conn, op_id, error=error, retryable=retryable, now=self._now())

    def pending(self, system: str | None = None) -> list[OutboxOp]:
        """Unfinished ops (``pending`` and ``sent``), oldest first."""
        with self._read() as conn:
            return outbox.list_ops(conn, outbox.UNFINISHED, system)

    def failed_ops(self, system: str | None = None) -> list[OutboxOp]:
        with self._read() as conn:
            return outbox.list_ops(conn, ("failed",), system)

    def get_op(self, op_id: str) -> OutboxOp:
        with self._read() as conn:
            return outbox.get_op(conn, op_id)

    def op_by_key(self, idempotency_key: str) -> OutboxOp | None:
        with self._read() as conn:
            return outbox.op_by_key(conn, idempotency_key)

    # ------------------------------------------------------------------ cursors and record errors

    def get_cursor(self, system: str) -> Cursor | None:
        with self._read() as conn:
            return cursors.get_cursor(conn, system)

    def set_cursor(
        self, system: str, cursor_at: datetime | None, *, cursor_json: Any = None, run_id: int | None = None
    ) -> Cursor:
        with self._write() as conn:
            return cursors.set_cursor(
                conn, system, cursor_at, cursor_json=cursor_json, run_id=run_id, now=self._now()
            )

    def add_record_error(
        self,
        system: str,
        message: str,
        *,
        remote_id: str | None = None,
        entity_id: str | None = None,
        field: str | None = None,
        run_id: int | None = None,
    ) -> None:
        problem = RecordProblem(
            system=system,
            message=message,
            remote_id=remote_id,
            entity_id=entity_id,
            field=field,
            run_id=run_id,
        )
        self.add_record_errors([problem])

    def add_record_errors(self, problems: Iterable[RecordProblem]) -> int:
        with self._write() as conn:
            return record_errors.add_record_errors(conn, problems, now=self._now())

    def record_errors(self, *, run_id: int | None = None, system: str | None = None) -> list[RecordProblem]:
        with self._read() as conn:
            return record_errors.list_record_errors(conn, run_id=run_id, system=system)
