"""Select: which entities a run looks at, and which unlinked records it tries to match.

An entity is looked at when one of its records changed since the last run that processed its
system (the run that set the system's cursor), when earlier runs owe it work (``owed``: planned,
failed, interrupted, deferred…), or when a person settled one of its conflicts. Everything else
already agrees with its base.

A backlog costs nothing until it changes: an entity whose create a system refuses for a known
reason (owed as ``waiting``) and a record left unlinked because it matches several people are
looked at again only when it changes, when a record sharing one of its match keys changes, or
when the rules change. An entity whose write a system refused as a duplicate is looked at again
when the record it collided with changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from syncengine.connectors.errors import existing_id_of
from syncengine.match import record_keys
from syncengine.stages.context import RunContext
from syncengine.stages.pull import Pulled

WAITING = "waiting"  # owed reason: a create a system refuses for a reason only a change can remove


@dataclass(frozen=True)
class Selection:
    entities: frozenset[str]  # linked entities the run looks at
    unlinked: tuple[tuple[str, str], ...]  # (system, remote id) of the records to match
    waiting_records: int  # unlinked records left as they were: nothing about them changed
    rules_digest: str


def rules_digest(ctx: RunContext) -> str:
    def plain(value: Any) -> Any:
        return sorted(value, key=str) if isinstance(value, set | frozenset) else str(value)

    text = json.dumps(asdict(ctx.rules), default=plain, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def select(ctx: RunContext, pulled: Pulled) -> Selection:
    digest = rules_digest(ctx)
    last = ctx.mirror.last_run(status=("succeeded", "partial"))
    rules_changed = last is None or (last.counts or {}).get("rules_digest") != digest
    touched: set[str] = set()
    unlinked: set[tuple[str, str]] = set()
    changed: dict[str, list[str]] = {}  # system -> remote ids
    for system in pulled.active:
        if pulled.targeted and system not in pulled.pulled:
            continue  # not read in a targeted run: nothing of it changed
        if pulled.targeted:
            since = ctx.run_id
        else:
            # A run whose read of the system stopped part-way stored records it never merged.
            cursor = ctx.mirror.get_cursor(system)
            since = cursor.run_id + 1 if cursor is not None and cursor.run_id is not None else 0
        refs = {rid: (entity, deleted) for rid, entity, deleted in ctx.mirror.changed_refs(system, since)}
        refs.update(
            {rid: (entity, deleted) for rid, entity, deleted in pulled.overlay.refs(system)}
        )
        changed[system] = list(refs)
        for remote_id, (entity_id, deleted) in refs.items():
            if entity_id is not None:
                touched.add(entity_id)
            elif not deleted:
                unlinked.add((system, remote_id))
    waiting = {(s, rid) for s in pulled.active for rid in ctx.mirror.unlinked_ids(s)} - unlinked
    if waiting and (rules_changed or not ctx.mirror.has_match_keys()) and not pulled.targeted:
        unlinked |= waiting  # (a state from before records kept their match keys: nothing to look up)
    elif waiting and any(changed.values()):
        unlinked |= _sharing_a_key(ctx, changed, pulled, waiting)
    if not pulled.targeted:
        # Whatever earlier runs owe, however they ended (killed, failed, undone, previews between).
        touched |= ctx.mirror.owed_entities(besides=() if rules_changed else (WAITING,))
        touched |= _collided_with_changed(ctx, changed)
        touched |= {c.entity_id for c in ctx.mirror.pending_resolutions()}
    return Selection(frozenset(touched), tuple(sorted(unlinked)), len(waiting - unlinked), digest)


def _collided_with_changed(ctx: RunContext, changed: dict[str, list[str]]) -> set[str]:
    """Entities waiting with a write refused as a duplicate of a record that changed since: the
    write may now go through."""
    found: set[str] = set()
    sets = {system: set(ids) for system, ids in changed.items() if ids}
    for owed in ctx.mirror.owed(reason=WAITING) if sets else ():
        holder = existing_id_of(owed.detail)
        if holder is not None and holder in sets.get(owed.system, ()):
            found.add(owed.entity_id)
    return found


def _sharing_a_key(
    ctx: RunContext, changed: dict[str, list[str]], pulled: Pulled, waiting: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The ``waiting`` records that share a match key with a changed record, as it was stored or as
    it is now. The waiting records' keys are few; the changed records are read a chunk at a time."""
    by_key: dict[str, set[tuple[str, str]]] = {}
    for ref, held in ctx.mirror.match_keys_by_record(waiting).items():
        for key in held:
            by_key.setdefault(key, set()).add(ref)
    found: set[tuple[str, str]] = set()
    if not by_key:
        return found
    kinds = ctx.rules.match_keys
    for system, remote_ids in changed.items():
        for start in range(0, len(remote_ids), 500):
            chunk = remote_ids[start : start + 500]
            keys = ctx.mirror.match_keys_of([(system, rid) for rid in chunk])
            stored = ctx.mirror.get_records(system, chunk)
            stored.update(
                {rid: pulled.overlay[(system, rid)] for rid in chunk if (system, rid) in pulled.overlay}
            )
            for record in stored.values():
                if not record.is_deleted:
                    keys |= record_keys(ctx.canonical(record).values, kinds)
            for key in keys & by_key.keys():
                found |= by_key[key]
    return found
