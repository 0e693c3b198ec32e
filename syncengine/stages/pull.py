"""Pull: read each system into the mirror (a preview: into memory beside it).

A scheduled run reads what changed since the system's cursor (everything with ``full``); a
targeted run reads only the records it is given, by id, and leaves cursors alone. A system whose
read fails sits the run out: its data may be stale.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice

from syncengine.connectors.base import RemoteRecord
from syncengine.connectors.errors import ConnectorError
from syncengine.mirror import RecordProblem, StoredRecord, jsoncodec
from syncengine.stages.context import RunContext

PULL_CHUNK = 1000


class Overlay(Mapping[tuple[str, str], StoredRecord]):
    """A preview's records as pulled, by ``(system, remote id)``, held next to the mirror. A first
    preview of an account holds every record, so each is kept packed as the mirror stores it
    (``jsoncodec.pack``: an Apollo contact takes 1.1 KB instead of 10 KB of Python objects) and
    unpacked when read."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], tuple[bytes, StoredRecord]] = {}

    def add(self, record: StoredRecord) -> None:
        text = jsoncodec.dumps(dict(record.raw), what=f"{record.system} record {record.remote_id}")
        self._held[(record.system, record.remote_id)] = (jsoncodec.pack(text), replace(record, raw={}))

    def __getitem__(self, key: tuple[str, str]) -> StoredRecord:
        packed, record = self._held[key]
        return replace(record, raw=jsoncodec.unpack(packed))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, key: object) -> bool:
        return key in self._held

    def refs(self, system: str) -> Iterator[tuple[str, str | None, bool]]:
        """``(remote id, entity id, deleted)`` of the system's records, without unpacking them."""
        for (held_system, remote_id), (_, record) in self._held.items():
            if held_system == system:
                yield remote_id, record.entity_id, record.is_deleted


@dataclass(frozen=True)
class Pulled:
    active: tuple[str, ...]  # systems whose read completed, in the rules' order
    pulled: Mapping[str, int] = field(default_factory=dict)
    changed: Mapping[str, int] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)  # system -> why its read stopped
    problems: tuple[RecordProblem, ...] = ()
    # A preview's records, held in memory next to the mirror: (system, remote id) -> record.
    overlay: Overlay = field(default_factory=Overlay)
    targeted: bool = False


def pull(ctx: RunContext, *, full: bool, targets: Mapping[str, Sequence[str]] | None = None) -> Pulled:
    active: list[str] = []
    pulled: dict[str, int] = {}
    changed: dict[str, int] = {}
    errors: dict[str, str] = {}
    problems: list[RecordProblem] = []
    overlay = Overlay()
    for system, connector in ctx.connectors.items():
        if targets is not None and system not in targets:
            active.append(system)  # not read: its mirrored records stand for it
            continue
        cursor = ctx.mirror.get_cursor(system)
        since = None if full or cursor is None else cursor.cursor_at
        try:
            connector.load_catalogue()
            if targets is not None:
                found, missing = connector.fetch_many(list(targets[system]))
                records = iter(found)
            else:
                missing = []
                records = iter(connector.pull(since, full=full or since is None))
            count = touched = 0
            while chunk := list(islice(records, PULL_CHUNK)):
                count += len(chunk)
                touched += _store(ctx, system, chunk, overlay)
                ctx.progress("pull", system, count)
        except ConnectorError as exc:
            errors[system] = str(exc)
            if not ctx.dry_run:
                ctx.mirror.add_record_error(system, f"pull stopped: {exc}", run_id=ctx.run_id)
            continue
        pulled[system], changed[system] = count, touched
        if not ctx.dry_run:
            for remote_id in missing:
                if ctx.mirror.get_record(system, remote_id) is not None:
                    ctx.mirror.tombstone(system, remote_id, "not found when read by id", run_id=ctx.run_id)
            if targets is None and (full or since is None):
                problems.extend(_tombstone(ctx, system, count))
        active.append(system)
    return Pulled(tuple(active), pulled, changed, errors, tuple(problems), overlay, targets is not None)


def _store(ctx: RunContext, system: str, chunk: list[RemoteRecord], overlay: Overlay) -> int:
    if ctx.dry_run:
        previewed = ctx.mirror.preview_records(system, chunk)
        for record in previewed:
            overlay.add(record)
        return len(previewed)
    return len(ctx.mirror.upsert_records(system, chunk, run_id=ctx.run_id).touched)


def _tombstone(ctx: RunContext, system: str, pulled: int) -> list[RecordProblem]:
    """Mark the records a complete full scan did not see as deleted, unless that would be most of
    them: an empty or truncated listing is never read as deletions (mass-change guard)."""
    missing = ctx.mirror.not_seen_since(system, ctx.run_id)
    if not missing:
        return []
    known = pulled + len(missing)
    if ctx.too_many(len(missing), known):
        share = ctx.rules.guard.max_share
        message = (
            f"a full scan did not see {len(missing)} of {known} known records; not marking them "
            f"deleted (more than {share:.0%}, the mass-change guard): check the system, then run "
            "`syncengine sync --full` again, with --allow-mass-change if they really were deleted"
        )
        return [RecordProblem(system=system, message=message, run_id=ctx.run_id)]
    for remote_id in missing:
        ctx.mirror.tombstone(system, remote_id, "full_scan", run_id=ctx.run_id)
    return []
