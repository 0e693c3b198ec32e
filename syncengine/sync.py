"""One sync run: pull, match, merge, plan, push, commit (DESIGN.md, "Flow of one run").

``Engine.run(dry_run=True)`` stops after the plan and writes nothing anywhere: the records it pulls
are held in memory next to the mirror (``Mirror.preview_records``), and no CRM, link, base,
conflict, history, outbox op, cursor or run row is written.

Which entities a run looks at: those with a record that changed since the last run that
processed its system (the run that set the system's cursor), records still unlinked, entities that
earlier runs owe work (the ``owed`` table: planned, failed, interrupted or deferred, whatever became
of those runs), and entities with a conflict a person settled. Everything else already agrees
with its base.

Only the holder of the state lock (``syncengine.state_lock``) may run it for real: a run still
marked running when another starts is taken for dead and marked interrupted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, cast

from syncengine.canonical import FIELDS, Canonical, is_blank, same
from syncengine.connectors.base import Connector, RemoteRecord
from syncengine.connectors.errors import ConnectorError
from syncengine.match import Candidate, EntityKeys, match, match_values, record_keys
from syncengine.merge import UNCHANGED, EntityMerge, Resolution, Side, merge_entity
from syncengine.mirror import HistoryEntry, Mirror, MirrorError, Owed, RecordProblem, StoredRecord
from syncengine.mirror.values import RunStatus
from syncengine.plan import MatchOutcome, Note, Plan, PlannedConflict, create_ops, update_ops, who
from syncengine.push import Pusher, PushOutcome
from syncengine.rules import Rules

PULL_CHUNK = 1000


class RunFailedError(Exception):
    """A run failed for a reason that is not a system's or the state's (a defect): it is marked
    failed, nothing owed is lost, and this is the one other error ``Engine.run`` raises."""

Progress = Callable[..., None]  # (phase, system, count so far, total or None)


@dataclass
class EntityState:
    """Everything the merge and the plan need about one entity."""

    entity_id: str
    links: dict[str, str]
    records: dict[str, StoredRecord]
    values: dict[str, dict[str, Any]]  # system -> canonical values
    base: dict[str, Any]
    merged: EntityMerge | None = None


@dataclass
class RunReport:
    run_id: int
    dry_run: bool
    plan: Plan
    status: str = "succeeded"
    pulled: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    pull_errors: dict[str, str] = field(default_factory=dict)
    push: PushOutcome | None = None
    resumed: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # phase -> wall seconds
    cpu: dict[str, float] = field(default_factory=dict)  # phase -> CPU seconds of this process
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def open_conflicts(self) -> int:
        return sum(1 for c in self.plan.conflicts if c.conflict.open)

    @property
    def errors(self) -> int:
        """Failed writes, failed pulls and the problems that are failures (a write a system will
        refuse, a write held back): what makes a run ``partial``. Warnings do not count."""
        failed = len(self.push.failed) if self.push else 0
        left_out = sum(len(v) for v in self.push.left_out.values()) if self.push else 0
        return failed + left_out + len(self.pull_errors) + len(self.problems)

    @property
    def problems(self) -> list[RecordProblem]:
        """The plan's problems that are failures, not warnings."""
        return [p for p in self.plan.problems if not self.is_warning(p)]

    @property
    def warnings(self) -> list[RecordProblem]:
        """Values that could not be read (kept as they are, not copied): reported, but the run
        still succeeds, since every write it planned went through."""
        return [p for p in self.plan.problems if self.is_warning(p)]

    @staticmethod
    def is_warning(problem: RecordProblem) -> bool:
        """A value problem of one record's field, as ``Engine._canonical`` words it (also for the
        problems stored in the state, which keep only their text)."""
        return (
            problem.field is not None
            and problem.remote_id is not None
            and problem.message.startswith(f"{problem.field}: ")
            and "(value kept as " in problem.message
        )


class Engine:
    """Syncs the connected systems through one state mirror under one set of rules."""

    def __init__(
        self,
        mirror: Mirror,
        connectors: Mapping[str, Connector],
        rules: Rules,
        *,
        default_region: str = "US",
        progress: Progress | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.mirror = mirror
        self.connectors = {s: connectors[s] for s in rules.systems if s in connectors}
        self.connectors.update({s: c for s, c in connectors.items() if s not in self.connectors})
        self.rules = rules
        self.default_region = default_region
        self.progress = progress or (lambda *_: None)
        self.now = now
        self.holds = {s: c.fields for s, c in self.connectors.items()}
        self.overlay: dict[tuple[str, str], StoredRecord] = {}
        self.invalid: dict[tuple[str, str], frozenset[str]] = {}
        self.deleted_notes: list[tuple[str, str, str]] = []
        # Entities a run could not settle because a system they live in did not answer its pull.
        self.deferred: dict[str, str] = {}  # entity -> why it is looked at again next run
        self.allow_mass_change = False
        self.settling: list[tuple[str, str, list[str]]] = []  # edited too recently: entity, who, where
        self.linked: Counter[str] = Counter()  # system -> linked records, the guard's measure
        self.waiting_creates: set[tuple[str | None, str]] = set()  # entity, system
        self._match_keys_in_memory: dict[tuple[str, str], set[str]] = {}  # a preview of an older state
        self.looked_at: set[str] = set()  # entities this run looked at: their owed work is settled
        self.fresh_links: set[tuple[str, str]] = set()  # (entity, system) linked in this run
        self._unlinked_keys: dict[str, list[tuple[RemoteRecord, set[str]]]] = {}  # for lost creates

    # ------------------------------------------------------------------ the run

    def run(self, *, dry_run: bool = False, full: bool = False, allow_mass_change: bool = False) -> RunReport:
        """One cycle. ``allow_mass_change`` lets through what the mass-change guard (``rules.guard``)
        would stop: a full scan missing many records, or many contacts losing a value at once."""
        if not dry_run:
            # The caller holds the state lock, so a run still marked running died with its process.
            self.mirror.interrupt_unfinished_runs()
        run_id = 0 if dry_run else self.mirror.start_run().id
        report = RunReport(run_id, dry_run, Plan())
        self.overlay, self.invalid, self.deleted_notes, self.deferred = {}, {}, [], {}
        self.allow_mass_change = allow_mass_change
        self.settling, self._match_keys_in_memory, self.looked_at = [], {}, set()
        self.fresh_links = set()
        self._unlinked_keys = {}
        started = self.now()
        try:
            with self._timed(report, "pull"):
                active = self._pull_all(run_id, report, full=full, dry_run=dry_run)
            if not dry_run:
                with self._timed(report, "resume"):
                    # After the pull: a create whose answer was lost is looked for among the records
                    # just pulled, which costs no call of the system's budget.
                    report.resumed = Pusher(self.mirror, self.connectors, run_id=run_id).resume(
                        active, self._find_pulled
                    )
            # Custom-field targets are known once the catalogues are loaded (during the pull).
            self.holds = {s: c.fields for s, c in self.connectors.items()}
            with self._timed(report, "match"):
                states = self._load_states(run_id, active, report, dry_run=dry_run)
            with self._timed(report, "merge"):
                self._merge(states)
            with self._timed(report, "plan"):
                # Creates whose answer was lost and that may still land: none is sent again yet.
                self.waiting_creates = {
                    (op.entity_id, op.system) for op in self.mirror.pending() if op.kind == "create"
                }
                self._plan(states, active, report.plan)
                held = self._guard(report.plan, run_id)
                if dry_run:
                    self._foresee_refusals(report.plan)
            if not dry_run:
                with self._timed(report, "push"):
                    sent = [p for p in report.plan.ops if p.op.system not in held]
                    # Owed until the commit settles them: a kill anywhere in the push leaves the
                    # entities to the next run, including the systems not reached yet.
                    self.mirror.owe(
                        Owed(p.op.entity_id, p.op.system, "planned", f"{p.op.kind} planned in run {run_id}",
                             run_id)
                        for p in sent if p.op.entity_id
                    )  # fmt: skip
                    report.push = Pusher(self.mirror, self.connectors, run_id=run_id).push(
                        sent, on_result=self._push_progress(sent)
                    )
                    for planned in report.plan.ops:
                        if planned.op.system in held:
                            report.push.failed[planned.op.op_id] = held[planned.op.system]
                with self._timed(report, "commit"):
                    self._commit(states, report, run_id)
                    for system in active:
                        self.mirror.set_cursor(system, started, run_id=run_id)
            report.status = "partial" if report.errors else "succeeded"
        except BaseException as exc:
            report.status = "failed"
            if not dry_run:
                error = f"{type(exc).__name__}: {exc}"
                self.mirror.finish_run(
                    run_id, "failed", counts=self._counts(report), timings=report.timings, errors=[error]
                )
            if isinstance(exc, ConnectorError | MirrorError) or not isinstance(exc, Exception):
                raise
            # Anything else is a defect, but the run still ends as documented: owed work is kept
            # (the owed table), the run is marked failed, and the caller gets one known error.
            raise RunFailedError(f"run {run_id or '(preview)'} failed: {type(exc).__name__}: {exc}") from exc
        report.calls = {s: self._stats(c) for s, c in self.connectors.items()}
        if not dry_run:
            self.mirror.finish_run(
                run_id, cast(RunStatus, report.status), counts=self._counts(report), timings=report.timings,
                errors=[f"{s}: {e}" for s, e in report.pull_errors.items()],
            )  # fmt: skip
        return report

    def _find_pulled(self, stored: Any) -> RemoteRecord | None:
        """The unlinked record just pulled into the mirror that a create whose answer was lost made:
        the only one sharing the create's strongest match key (email, then phone, then name and
        company). None when no record, or more than one, holds it."""
        connector = self.connectors[stored.system]
        kinds = self.rules.match_keys
        values = (stored.payload or {}).get("values", {})
        wanted = [record_keys(values, [kind]) for kind in kinds]
        if not any(wanted):
            return None
        cache = self._unlinked_keys.get(stored.system)
        if cache is None:
            cache = []
            for record in self.mirror.unlinked_records(stored.system):
                if record.is_deleted:
                    continue
                remote = RemoteRecord(stored.system, record.remote_id, record.raw, record.remote_updated_at)
                cache.append((remote, record_keys(connector.to_canonical(remote).values, kinds)))
            self._unlinked_keys[stored.system] = cache
        for keys in wanted:
            if not keys:
                continue
            found = [remote for remote, held in cache if held & keys]
            if len(found) == 1:
                cache[:] = [(r, h) for r, h in cache if r.remote_id != found[0].remote_id]
                return found[0]
            if found:
                return None  # several: matching decides, and reports an ambiguity
        return None

    @staticmethod
    def _stats(connector: Connector) -> int:
        client = getattr(connector, "client", None)
        return client.stats.total_calls if client is not None else 0

    def _timed(self, report: RunReport, phase: str) -> _Timer:
        return _Timer(report, phase)

    def _counts(self, report: RunReport) -> dict[str, Any]:
        push = report.push
        return {
            "pulled": report.pulled,
            "changed": report.changed,
            "ops": report.plan.counts(),
            "confirmed": len(push.confirmed) if push else 0,
            "failed": len(push.failed) if push else 0,
            "conflicts_open": report.open_conflicts,
            "conflicts_settled": len(report.plan.conflicts) - report.open_conflicts,
            "match_conflicts": len(report.plan.match.conflicts),
            "deferred": len(self.deferred),
        }

    # ------------------------------------------------------------------ pull

    def _pull_all(self, run_id: int, report: RunReport, *, full: bool, dry_run: bool) -> list[str]:
        """Pull every system into the mirror (a dry run: into ``self.overlay``); returns the systems
        whose pull completed. A system whose pull fails sits this run out: its data may be stale."""
        active = []
        for system, connector in self.connectors.items():
            cursor = self.mirror.get_cursor(system)
            since = None if full or cursor is None else cursor.cursor_at
            try:
                connector.load_catalogue()
                pulled = changed = 0
                records = iter(connector.pull(since, full=full or since is None))
                while chunk := list(islice(records, PULL_CHUNK)):
                    pulled += len(chunk)
                    if dry_run:
                        for record in self.mirror.preview_records(system, chunk):
                            self.overlay[(system, record.remote_id)] = record
                            changed += 1
                    else:
                        changed += len(self.mirror.upsert_records(system, chunk, run_id=run_id).touched)
                    self.progress("pull", system, pulled)
            except ConnectorError as exc:
                report.pull_errors[system] = str(exc)
                if not dry_run:
                    self.mirror.add_record_error(system, f"pull stopped: {exc}", run_id=run_id)
                continue
            report.pulled[system], report.changed[system] = pulled, changed
            if (full or since is None) and not dry_run:
                self._tombstone(system, pulled, run_id, report)
            active.append(system)
        return active

    def _tombstone(self, system: str, pulled: int, run_id: int, report: RunReport) -> None:
        """Mark the records a complete full scan did not see as deleted, unless that would be most of
        them: an empty or truncated listing is never read as deletions (mass-change guard)."""
        missing = self.mirror.not_seen_since(system, run_id)
        if not missing:
            return
        known = pulled + len(missing)
        if self._too_many(len(missing), known):
            share = self.rules.guard.max_share
            message = (
                f"a full scan did not see {len(missing)} of {known} known records; not marking them "
                f"deleted (more than {share:.0%}, the mass-change guard): check the system, then run "
                "`syncengine sync --full` again, with --allow-mass-change if they really were deleted"
            )
            report.plan.problems.append(RecordProblem(system=system, message=message, run_id=run_id))
            return
        for remote_id in missing:
            self.mirror.tombstone(system, remote_id, "full_scan", run_id=run_id)

    def _push_progress(self, ops: list[Any]) -> Callable[[Any, Any], None]:
        totals = Counter(p.op.system for p in ops)
        done: Counter[str] = Counter()

        def step(planned: Any, _result: Any) -> None:
            done[planned.op.system] += 1
            self.progress("push", planned.op.system, done[planned.op.system], totals[planned.op.system])

        return step

    def _foresee_refusals(self, plan: Plan) -> None:
        """A preview lists the writes a system will refuse before anything is sent (a required field
        missing, a value its API cannot take), so it counts the errors the run would report."""
        for planned in plan.ops:
            connector = self.connectors[planned.op.system]
            error = connector.refusal(planned.op)
            if error is not None:
                refused = [(error, f"would be refused: {error}")]
            else:  # written, but for the fields (or set members) the system cannot take
                refused = [(e, f"would leave out {e.field}: {e}") for e in connector.left_out(planned.op)]
            plan.problems.extend(
                RecordProblem(
                    system=planned.op.system,
                    message=f"{planned.op.kind} of {planned.who} {text}",
                    remote_id=planned.op.remote_id,
                    entity_id=planned.op.entity_id,
                    field=e.field,
                )
                for e, text in refused
            )

    def _too_many(self, count: int, out_of: int) -> bool:
        guard = self.rules.guard
        return not self.allow_mass_change and count > max(guard.min_records, guard.max_share * out_of)

    def _guard(self, plan: Plan, run_id: int) -> dict[str, str]:
        """Systems whose ops would clear a value in too many contacts at once: nothing is written to
        them this run (their contacts are looked at again next run). Returns system -> why."""
        clearing: dict[str, set[str]] = {}
        for planned in plan.ops:
            if planned.op.kind == "update" and any(
                is_blank(c.new) and not is_blank(c.old) for c in planned.changes
            ):
                clearing.setdefault(planned.op.system, set()).add(planned.op.entity_id or "")
        held: dict[str, str] = {}
        for system, entities in clearing.items():
            linked = self.linked.get(system, 0)
            if not self._too_many(len(entities), linked):
                continue
            held[system] = (
                f"held by the mass-change guard: this run would clear values in {len(entities)} of "
                f"{linked} {system} contacts (more than {self.rules.guard.max_share:.0%}); nothing was "
                f"written to {system}. Check the changes (syncengine plan), then run "
                "`syncengine sync --allow-mass-change` if they are meant"
            )
            plan.problems.append(RecordProblem(system=system, message=held[system], run_id=run_id))
            self.deferred.update(dict.fromkeys(entities, f"held by the mass-change guard ({system})"))
        return held

    # ------------------------------------------------------------------ match and load

    def _canonical(self, record: StoredRecord, problems: list[RecordProblem], run_id: int) -> dict[str, Any]:
        remote = RemoteRecord(record.system, record.remote_id, record.raw, record.remote_updated_at)
        canonical: Canonical = self.connectors[record.system].to_canonical(remote)
        if canonical.invalid:
            self.invalid[(record.system, record.remote_id)] = frozenset(canonical.invalid)
        for name, invalid in canonical.invalid.items():
            problems.append(
                RecordProblem(
                    system=record.system, remote_id=record.remote_id, entity_id=record.entity_id,
                    field=name, message=f"{name}: {invalid.reason} (value kept as {invalid.raw!r})",
                    run_id=run_id,
                )
            )  # fmt: skip
        return dict(canonical.values)

    def _load_states(
        self, run_id: int, active: list[str], report: RunReport, *, dry_run: bool
    ) -> dict[str, EntityState]:
        problems = report.plan.problems
        touched: set[str] = set()
        values: dict[tuple[str, str], dict[str, Any]] = {}
        unlinked: dict[tuple[str, str], StoredRecord] = {}
        for system in active:
            # Changes since the last run that processed this system (the one that set its cursor):
            # a run whose pull of it stopped part-way stored records it never merged.
            cursor = self.mirror.get_cursor(system)
            since = cursor.run_id + 1 if cursor is not None and cursor.run_id is not None else 0
            changed = {r.remote_id: r for r in self.mirror.changed_records(system, since)}
            changed.update({rid: r for (s, rid), r in self.overlay.items() if s == system})
            for record in changed.values():
                if record.entity_id is not None:
                    touched.add(record.entity_id)
                elif not record.is_deleted:
                    unlinked[(system, record.remote_id)] = record
            for record in self.mirror.unlinked_records(system):
                unlinked.setdefault(
                    (system, record.remote_id), self.overlay.get((system, record.remote_id), record)
                )
        for key, record in unlinked.items():
            values[key] = self._canonical(record, problems, run_id)
        # Whatever earlier runs owe, however they ended (killed, failed, undone, previews between).
        touched.update(self.mirror.owed_entities())
        touched.update(c.entity_id for c in self.mirror.pending_resolutions())
        # Only the links of entities this run looks at are read, not the whole identity map.
        self.linked = Counter(self.mirror.link_counts())
        matched = self._match(list(unlinked.values()), values, report, run_id, dry_run=dry_run)
        links = self.mirror.links_for(touched | {e for e, _, _ in matched if not e.startswith("new-")})
        for entity_id, system, remote_id in matched:
            links.setdefault(entity_id, {})[system] = remote_id
            touched.add(entity_id)
        # Linked in this run, or linked earlier and not yet filled (a write to it failed since).
        self.fresh_links = {(entity_id, system) for entity_id, system, _ in matched}
        self.fresh_links |= {(o.entity_id, o.system) for o in self.mirror.owed(reason="unfilled")}
        self.looked_at = {e for e in touched if not e.startswith("new-")}
        states = self._states(touched, links, values, active, problems, run_id)
        if not dry_run:
            kinds = self.rules.match_keys
            self.mirror.set_match_keys(
                {
                    (system, record.remote_id): record_keys(state.values[system], kinds)
                    for state in states.values()
                    for system, record in state.records.items()
                }
            )
        return states

    def _match(
        self,
        unlinked: list[StoredRecord],
        values: Mapping[tuple[str, str], dict[str, Any]],
        report: RunReport,
        run_id: int,
        *,
        dry_run: bool,
    ) -> list[tuple[str, str, str]]:
        if not unlinked:
            return []
        candidates = [Candidate(r.system, r.remote_id, values[(r.system, r.remote_id)]) for r in unlinked]
        # Only entities sharing a value with some candidate can match: those whose base holds it,
        # and those with a linked record that holds it (a field in conflict is not in the base).
        kinds = self.rules.match_keys
        wanted_keys = set().union(*(record_keys(c.values, kinds) for c in candidates))
        by_records = self._entities_holding(wanted_keys, dry_run)
        nearby = self.mirror.entities_with_values(match_values(candidates, kinds)) | by_records
        links = self.mirror.links_for(nearby)
        bases = self.mirror.get_base(sorted(e for e in nearby if e in links))
        held = self._linked_values({e: links[e] for e in by_records if e in links})
        entities = [
            EntityKeys(e, frozenset(links[e]), [b for b in (bases[e], *held.get(e, [])) if b])
            for e in sorted(bases)
            if bases[e] or held.get(e)
        ]
        result = match(entities, candidates, self.rules)
        wanted = [(link.entity_id, link.system, link.remote_id) for link in result.links]
        fresh = (
            [f"new-{i + 1}" for i in range(len(result.new_entities))]
            if dry_run
            else self.mirror.new_entities(len(result.new_entities))
        )
        for entity_id, members in zip(fresh, result.new_entities, strict=True):
            wanted.extend((entity_id, m.system, m.remote_id) for m in members)
        if not dry_run and wanted:
            with self.mirror.transaction():  # a link is owed its merge until a commit settles it
                self.mirror.link_many(wanted, run_id=run_id)
                # Until a merge fills it, the record's blanks are values it never had, not a
                # person's clearing: kept per system, whatever defers the entity meanwhile.
                self.mirror.owe(
                    Owed(e, s, "unfilled", f"linked in run {run_id}; its blanks are filled from the agreed "
                         "values", run_id)
                    for e, s, _ in wanted
                )  # fmt: skip
        alone = Counter(members[0].system for members in result.new_entities if len(members) == 1)
        report.plan.match = MatchOutcome(
            linked=len(result.links),
            new_entities=len(result.new_entities),
            conflicts=tuple(result.conflicts),
            matched_across=sum(1 for members in result.new_entities if len(members) > 1),
            only_in=dict(alone),
            linked_by=dict(Counter(link.key for link in result.links)),
        )
        return wanted

    def _entities_holding(self, keys: set[str], dry_run: bool) -> set[str]:
        """Entities with a linked record whose match keys include one of ``keys``."""
        if not keys:
            return set()
        if not self.mirror.has_match_keys() and any(self.linked.values()):
            self._fill_match_keys(dry_run)
        if self._match_keys_in_memory:
            found = {ref for ref, held in self._match_keys_in_memory.items() if held & keys}
        else:
            found = self.mirror.records_with_match_keys(keys)
        return {e for s, ids in _by_system(found).items() for e in self.mirror.entities_for(s, ids).values()}

    def _fill_match_keys(self, dry_run: bool) -> None:
        """A state from before records kept their match keys: read every linked record once."""
        kinds = self.rules.match_keys
        refs = [(s, r) for entity_links in self.mirror.all_links().values() for s, r in entity_links.items()]
        keys = {ref: record_keys(values, kinds) for ref, values in self._record_values(refs).items()}
        if dry_run:
            self._match_keys_in_memory = keys  # a preview writes nothing, not even this
        else:
            self.mirror.set_match_keys(keys)

    def _linked_values(self, links: Mapping[str, Mapping[str, str]]) -> dict[str, list[dict[str, Any]]]:
        """Per entity, the canonical values of its live linked records, as matching compares them."""
        values = self._record_values(
            [(s, r) for entity_links in links.values() for s, r in entity_links.items()]
        )
        return {
            entity_id: [values[(s, r)] for s, r in entity_links.items() if (s, r) in values]
            for entity_id, entity_links in links.items()
        }

    def _record_values(self, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Canonical values of the live stored records named ``(system, remote_id)``."""
        values: dict[tuple[str, str], dict[str, Any]] = {}
        for system, remote_ids in _by_system(refs).items():
            connector = self.connectors.get(system)
            if connector is None:
                continue
            for remote_id, record in self.mirror.get_records(system, remote_ids).items():
                if not record.is_deleted:
                    remote = RemoteRecord(system, remote_id, record.raw, record.remote_updated_at)
                    values[(system, remote_id)] = dict(connector.to_canonical(remote).values)
        return values

    def _states(
        self,
        touched: Iterable[str],
        links: Mapping[str, Mapping[str, str]],
        values: dict[tuple[str, str], dict[str, Any]],
        active: list[str],
        problems: list[RecordProblem],
        run_id: int,
    ) -> dict[str, EntityState]:
        touched = sorted(set(touched))
        bases = self.mirror.get_base([e for e in touched if not e.startswith("new-")])
        by_system: dict[str, list[str]] = {}
        for entity_id in touched:
            for system, remote_id in links.get(entity_id, {}).items():
                by_system.setdefault(system, []).append(remote_id)
        stored = {s: self.mirror.get_records(s, ids) for s, ids in by_system.items()}
        for (system, remote_id), previewed in self.overlay.items():
            if remote_id in stored.get(system, {}) or previewed.entity_id is None:
                stored.setdefault(system, {})[remote_id] = previewed
        states = {}
        settle = timedelta(seconds=self.rules.guard.settle_seconds)
        resting_since = self.now() - settle
        waiting = set(self.connectors) - set(active)
        for entity_id in touched:
            if waiting:
                # Looked at again next run: a system whose pull failed may need to receive it.
                self.deferred[entity_id] = f"waits for {', '.join(sorted(waiting))}, whose pull failed"
                if waiting & set(links.get(entity_id, {})):
                    continue  # merging without a system that holds it could move the base past its value
            state = EntityState(entity_id, dict(links.get(entity_id, {})), {}, {}, bases.get(entity_id, {}))
            for system, remote_id in state.links.items():
                record = stored.get(system, {}).get(remote_id)
                if record is not None and record.is_deleted:
                    # Deletions are reported, not propagated: the other systems keep the contact.
                    self.deleted_notes.append((entity_id, system, remote_id))
                if record is None or record.is_deleted or system not in active:
                    continue
                state.records[system] = record
                if (system, remote_id) not in values:
                    values[(system, remote_id)] = self._canonical(record, problems, run_id)
                state.values[system] = values[(system, remote_id)]
            stamps = {s: r.remote_updated_at for s, r in state.records.items()}
            fresh = [s for s, at in stamps.items() if at is not None and at > resting_since]
            if settle and fresh:
                self.deferred[entity_id] = f"edited in {', '.join(sorted(fresh))} moments ago (settle time)"
                label = who(next(iter(state.values.values()), {}))
                self.settling.append((entity_id, label, sorted(fresh)))
                continue
            if state.values:
                states[entity_id] = state
        return states

    # ------------------------------------------------------------------ merge and plan

    def _merge(self, states: Mapping[str, EntityState]) -> None:
        resolutions = self._resolutions(states)
        for state in states.values():
            sides = {
                system: {
                    name: Side(
                        system,
                        value,
                        state.records[system].remote_updated_at,
                        name in self.invalid.get((system, state.records[system].remote_id), ()),
                    )
                    for name, value in state.values[system].items()
                    if name in self.holds[system]
                }
                for system in state.values
            }
            state.merged = merge_entity(
                state.base,
                set(state.base),
                sides,
                self.rules,
                resolutions=resolutions.get(state.entity_id, {}),
                holds={s: self.holds[s] for s in state.values},
                fresh=frozenset(s for s in state.values if (state.entity_id, s) in self.fresh_links),
            )

    def _resolutions(self, states: Mapping[str, EntityState]) -> dict[str, dict[str, Resolution]]:
        out: dict[str, dict[str, Resolution]] = {}
        for conflict in self.mirror.pending_resolutions():
            if conflict.entity_id in states:
                out.setdefault(conflict.entity_id, {})[conflict.field] = Resolution(conflict.resolution_value)
        return out

    def _plan(self, states: Mapping[str, EntityState], active: list[str], plan: Plan) -> None:
        for entity_id, system, remote_id in self.deleted_notes:
            label = who(self._agreed(states[entity_id])) if entity_id in states else entity_id[:8]
            text = f"deleted in {system} ({remote_id}); the other systems keep the contact"
            plan.notes.append(Note(entity_id, label, "", text))
        for entity_id, label, systems in self.settling:
            text = (
                f"edited in {', '.join(systems)} less than {self.rules.guard.settle_seconds} s ago; "
                "waits for a later run (guard.settle_seconds)"
            )
            plan.notes.append(Note(entity_id, label, "", text))
        for state in states.values():
            merged = state.merged
            assert merged is not None
            agreed = self._agreed(state)
            label = who(agreed)
            expected = {
                system: RemoteRecord(system, r.remote_id, r.raw, r.remote_updated_at)
                for system, r in state.records.items()
            }
            plan.ops.extend(update_ops(state.entity_id, merged, state.links, state.values, label, expected))
            for planned in create_ops(
                state.entity_id, agreed, state.links, active, self.holds, self.rules, label
            ):
                if (state.entity_id, planned.op.system) not in self.waiting_creates:
                    plan.ops.append(planned)
                    continue
                self.deferred[state.entity_id] = (
                    f"create in {planned.op.system} held back: an earlier create's answer was lost"
                )
                text = (
                    f"not created in {planned.op.system} yet: an earlier create's answer was lost and it may "
                    "still land; it is looked for before anything is created again"
                )
                plan.notes.append(Note(state.entity_id, label, "", text))
            for name, decision in merged.decisions.items():
                if decision.conflict is not None:
                    plan.conflicts.append(PlannedConflict(state.entity_id, label, decision.conflict))
                plan.notes.extend(Note(state.entity_id, label, name, text) for text in decision.notes)

    @staticmethod
    def _agreed(state: EntityState) -> dict[str, Any]:
        """The entity's values after the run: each field's target, else any system's value."""
        agreed: dict[str, Any] = {}
        for values in state.values.values():
            for name, value in values.items():
                agreed.setdefault(name, value)
        assert state.merged is not None
        for name, decision in state.merged.decisions.items():
            if decision.conflict is None or not decision.conflict.open:
                agreed[name] = decision.target
        return {k: agreed[k] for k in FIELDS if k in agreed}

    # ------------------------------------------------------------------ commit

    def _commit(self, states: Mapping[str, EntityState], report: RunReport, run_id: int) -> None:
        """Move the base for confirmed writes, record history and conflicts, and store what is
        owed (failed writes, deferrals) in place of what this run looked at, in one transaction."""
        push = report.push
        assert push is not None
        owed = [
            Owed(p.op.entity_id, p.op.system, "failed", f"{p.op.kind} failed: {push.failed[p.op.op_id]}",
                 run_id)
            for p in report.plan.ops if p.op.op_id in push.failed and p.op.entity_id
        ]  # fmt: skip
        ops_by_entity: dict[str, list[Any]] = {}
        for planned in report.plan.ops:
            ops_by_entity.setdefault(planned.op.entity_id or "", []).append(planned)
        new_base: dict[str, dict[str, Any]] = {}
        history: list[HistoryEntry] = []
        with self.mirror.transaction():
            for entity_id, state in states.items():
                merged = state.merged
                assert merged is not None
                # Fields a confirmed write left out (the system cannot take the value): the base
                # does not move for them and no history says they were written; they stay owed.
                left: dict[tuple[str, str], Any] = {}
                for planned in ops_by_entity.get(entity_id, []):
                    for name, why in push.left_out.get(planned.op.op_id, {}).items():
                        left[(planned.op.system, name)] = planned
                        owed.append(Owed(entity_id, planned.op.system, "left_out", f"{name}: {why}", run_id))
                for planned in ops_by_entity.get(entity_id, []):
                    if planned.op.op_id in push.confirmed and planned.op.kind == "update":
                        history.extend(
                            HistoryEntry(
                                entity_id, c.field, c.old, c.new, c.reason, planned.op.system, run_id
                            )
                            for c in planned.changes
                            if (planned.op.system, c.field) not in left
                        )
                failed = [p.op for p in ops_by_entity.get(entity_id, []) if p.op.op_id in push.failed]
                failed_systems = {op.system for op in failed}
                fields: dict[str, Any] = {}
                for name, decision in merged.decisions.items():
                    if decision.conflict is not None:
                        self._record_conflict(entity_id, decision, run_id)
                    if set(decision.writes) & failed_systems or decision.new_base is UNCHANGED:
                        continue
                    if any((s, name) in left for s in decision.writes):
                        continue
                    if name in state.base and same(name, state.base[name], decision.new_base):
                        continue
                    fields[name] = decision.new_base
                    history.append(HistoryEntry(entity_id, name, state.base.get(name), decision.new_base,
                                                decision.reason, None, run_id))  # fmt: skip
                for (system, name), planned in left.items():
                    record = push.written.get(planned.op.op_id)
                    if planned.op.kind == "create" and record is not None:
                        # A new record without the value: agree on what it holds, or the next run
                        # would read its blank (or smaller set) as a person's removal and spread it.
                        held = self.connectors[system].to_canonical(record).values.get(name)
                        fields[name] = held
                        why = f"left out of the create in {system}"
                        history.append(HistoryEntry(entity_id, name, state.base.get(name), held, why, None,
                                                    run_id))  # fmt: skip
                if fields:
                    new_base[entity_id] = fields
                open_fields = {n for n, d in merged.decisions.items() if d.conflict and d.conflict.open}
                written = ops_by_entity.get(entity_id, [])
                holders = set(state.links) | {p.op.system for p in written}
                again, own = self._read_back(written, push, {**state.base, **fields}, open_fields, holders)
                if own:
                    new_base.setdefault(entity_id, {}).update(own)
                if again:
                    owed.append(Owed(entity_id, "", "read_back", "a system answered with a value of its own",
                                     run_id))  # fmt: skip
                # A newly linked record whose fill did not go through stays "new" until one does.
                owed.extend(
                    Owed(entity_id, system, "unfilled", f"linked; its blanks are filled once a write to "
                         f"{system} goes through", run_id)
                    for system in failed_systems if (entity_id, system) in self.fresh_links
                )  # fmt: skip
            self.mirror.set_base_many(new_base, run_id=run_id)
            for conflict in self.mirror.pending_resolutions():
                moved = new_base.get(conflict.entity_id, {})
                if conflict.entity_id in states and conflict.field in moved:
                    self.mirror.mark_resolution_applied(conflict.id, run_id=run_id)
            self.mirror.add_history(history)
            self.mirror.add_record_errors(report.plan.problems)
            # A record left unlinked (it matches several people) has no entity to owe work to: it
            # is kept in this run's record errors, so `status` names it until a run links it.
            self.mirror.add_record_errors(
                RecordProblem(
                    system=c.system, remote_id=c.remote_id, field=c.key,
                    message=f"not linked, waits for a person: {c.reason}", run_id=run_id,
                )
                for c in report.plan.match.conflicts
            )  # fmt: skip
            # Entities this run looked at are settled, except for what it leaves owed. One it put
            # off (deferred) keeps what it owed, which this run did not do. Unfinished creates of a
            # system keep their entity owed until they are found or given up.
            self.mirror.settle_owed((self.looked_at | set(states)) - set(self.deferred))
            owed.extend(Owed(e, "", "deferred", why, run_id) for e, why in self.deferred.items())
            owed.extend(
                Owed(op.entity_id, op.system, "unconfirmed_create", "a create whose answer was lost", run_id)
                for op in self.mirror.pending() if op.kind == "create" and op.entity_id
            )
            self.mirror.owe(owed)

    def _read_back(
        self,
        planned: list[Any],
        push: PushOutcome,
        base: Mapping[str, Any],
        skip: set[str],
        holders: set[str],
    ) -> tuple[bool, dict[str, Any]]:
        """Compare what systems answered confirmed writes with the new base. A system may fill in
        values of its own (Apollo's owner and stage on create). Where no other system holds the
        field, that value simply becomes the base (returned); where one does, the entity is looked
        at again next run (True), so the value reaches the others whether or not a reply got back."""
        again, own = False, {}
        for item in planned:
            record = push.written.get(item.op.op_id)
            if record is None:
                continue
            system = item.op.system
            values = self.connectors[system].to_canonical(record).values
            for name in self.holds[system] - skip:
                if (name not in values and name not in base) or same(name, values.get(name), base.get(name)):
                    continue
                if any(name in self.holds.get(other, ()) for other in holders - {system}):
                    again = True
                else:
                    own[name] = values.get(name)
        return again, own

    def _record_conflict(self, entity_id: str, decision: Any, run_id: int) -> None:
        conflict = decision.conflict
        stored = self.mirror.open_conflict(
            entity_id, decision.field, base_value=conflict.base, values=conflict.values,
            policy=conflict.policy, first_seen_at={s: t for s, t in conflict.changed_at.items() if t},
            run_id=run_id,
        )  # fmt: skip
        if not conflict.open:
            self.mirror.resolve_conflict(
                stored.id, decision.target, resolved_by=f"rule:{conflict.policy}", run_id=run_id
            )


def _by_system(refs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for system, remote_id in refs:
        grouped.setdefault(system, []).append(remote_id)
    return grouped


class _Timer:
    def __init__(self, report: RunReport, phase: str) -> None:
        self.report, self.phase = report, phase

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        timings, cpu = self.report.timings, self.report.cpu
        timings[self.phase] = timings.get(self.phase, 0.0) + time.perf_counter() - self.wall
        cpu[self.phase] = cpu.get(self.phase, 0.0) + time.process_time() - self.cpu
