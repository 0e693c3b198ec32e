"""What every stage of a run reads: the mirror, the systems, the rules and the run's identity."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from syncengine.canonical import Canonical
from syncengine.connectors.base import Connector, RemoteRecord
from syncengine.mirror import Mirror, RecordProblem, StoredRecord
from syncengine.rules import Rules

Progress = Callable[..., None]  # (phase, system, count so far, total or None)

# Canonical forms kept per run: a changed record is read to find its match keys, then to merge it,
# close together; reading a contact's values is most of a run's work.
CANONICAL_CACHE = 4096


@dataclass(frozen=True)
class RunContext:
    mirror: Mirror
    connectors: Mapping[str, Connector]
    rules: Rules
    run_id: int  # 0 for a preview
    dry_run: bool
    now: Callable[[], datetime]
    progress: Progress
    allow_mass_change: bool = False
    # The fields each system can hold; custom-field targets are known once catalogues are loaded.
    holds: Mapping[str, frozenset[str]] = field(default_factory=dict)
    _canonicals: OrderedDict[tuple[str, str, str], Canonical] = field(
        default_factory=OrderedDict, compare=False, repr=False
    )

    def too_many(self, count: int, out_of: int) -> bool:
        """Whether ``count`` changes out of ``out_of`` records trip the mass-change guard."""
        guard = self.rules.guard
        return not self.allow_mass_change and count > max(guard.min_records, guard.max_share * out_of)

    def canonical(self, record: StoredRecord) -> Canonical:
        """The record's canonical values (shared: not to be changed in place)."""
        key = (record.system, record.remote_id, record.content_hash)
        cache = self._canonicals
        if record.content_hash and key in cache:
            cache.move_to_end(key)
            return cache[key]
        remote = RemoteRecord(record.system, record.remote_id, record.raw, record.remote_updated_at)
        canonical: Canonical = self.connectors[record.system].to_canonical(remote)
        if record.content_hash:
            cache[key] = canonical
            if len(cache) > CANONICAL_CACHE:
                cache.popitem(last=False)
        return canonical


def value_problems(ctx: RunContext, record: StoredRecord, canonical: Canonical) -> list[RecordProblem]:
    """A value that could not be read is kept as it is and reported as a warning, field by field."""
    return [
        RecordProblem(
            system=record.system,
            remote_id=record.remote_id,
            entity_id=record.entity_id,
            field=name,
            message=f"{name}: {invalid.reason} (value kept as {invalid.raw!r})",
            run_id=ctx.run_id,
        )
        for name, invalid in canonical.invalid.items()
    ]


def by_system(refs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """``(system, remote_id)`` pairs grouped by system, in order."""
    grouped: dict[str, list[str]] = {}
    for system, remote_id in refs:
        grouped.setdefault(system, []).append(remote_id)
    return grouped
