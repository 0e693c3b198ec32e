"""One sync run: pull, match, merge, plan, push, commit (DESIGN.md, "Flow of one run").

The stages live in ``syncengine.stages``, one module each; ``Engine.run`` strings them together.
After the pull and the matching, entities go through load, merge, plan, push and commit in
batches of ``BATCH`` entities, each committed before the next starts, so a run's memory does not
grow with the account and a kill loses at most the batch in flight (the outbox covers its writes).

``Engine.run(dry_run=True)`` stops after the plan and writes nothing anywhere: the records it pulls
are held in memory next to the mirror (``Mirror.preview_records``), and no CRM, link, base,
conflict, history, outbox op, cursor or run row is written.

Only the holder of the state lock (``syncengine.state_lock``) may run it for real: a run still
marked running when another starts is taken for dead and marked interrupted.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from syncengine.connectors.base import Connector
from syncengine.connectors.errors import ConnectorError
from syncengine.mirror import Mirror, MirrorError, RecordProblem
from syncengine.mirror.values import RunStatus
from syncengine.plan import Plan, PlannedOp
from syncengine.push import PushOutcome
from syncengine.rules import Rules
from syncengine.stages import guard
from syncengine.stages.commit import commit
from syncengine.stages.context import Progress, RunContext
from syncengine.stages.link import Linked, link
from syncengine.stages.load import load
from syncengine.stages.merge import merge
from syncengine.stages.plan import BatchPlan, plan
from syncengine.stages.pull import Pulled, pull
from syncengine.stages.push import absorb, foresee, push
from syncengine.stages.resume import resume
from syncengine.stages.select import Selection, select

BATCH = 500  # entities per batch: bounded memory, one commit each

__all__ = ["BATCH", "Engine", "Progress", "RunFailedError", "RunReport"]


class RunFailedError(Exception):
    """A run failed for a reason that is not a system's or the state's (a defect): it is marked
    failed, nothing owed is lost, and this is the one other error ``Engine.run`` raises."""


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
    batches: int = 0
    waiting_records: int = 0  # unlinked records left waiting: nothing about them changed
    # Open conflicts the state holds after the run (a preview: would hold): the run's own, and
    # those earlier runs opened that it left as they were.
    conflicts_waiting: int = 0
    deferred: dict[str, str] = field(default_factory=dict)  # entity -> why a later run looks again
    rules_digest: str = ""

    @property
    def open_conflicts(self) -> int:
        return sum(1 for c in self.plan.conflicts if c.conflict.open) + self.plan.dropped_conflicts["open"]

    @property
    def settled_conflicts(self) -> int:
        """Disagreements a rule settled in this run."""
        kept = sum(1 for c in self.plan.conflicts if not c.conflict.open)
        return kept + self.plan.dropped_conflicts["settled"]

    @property
    def errors(self) -> int:
        """Failed writes, failed pulls and the problems that are failures (a write a system will
        refuse, a write held back): what makes a run ``partial``. Warnings do not count."""
        failed = len(self.push.failed) if self.push else 0
        left_out = sum(len(v) for v in self.push.left_out.values()) if self.push else 0
        return failed + left_out + len(self.pull_errors) + len(self.problems)

    @property
    def problems(self) -> list[RecordProblem]:
        """The plan's problems that are failures, not warnings (a contact that waits is neither)."""
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
        batch_size: int = BATCH,
    ) -> None:
        self.mirror = mirror
        self.connectors = {s: connectors[s] for s in rules.systems if s in connectors}
        self.connectors.update({s: c for s, c in connectors.items() if s not in self.connectors})
        self.rules = rules
        self.default_region = default_region
        self.progress = progress or (lambda *_: None)
        self.now = now
        self.batch_size = batch_size

    def run(
        self,
        *,
        dry_run: bool = False,
        full: bool = False,
        allow_mass_change: bool = False,
        targets: Mapping[str, Sequence[str]] | None = None,
        keep_ops: bool = True,
    ) -> RunReport:
        """One cycle. ``allow_mass_change`` lets through what the mass-change guard (``rules.guard``)
        would stop: a full scan missing many records, or many contacts losing a value at once.
        ``targets`` (system -> remote ids) makes a targeted run: only those records are read, by
        id; the other systems' mirrored records stand for them, and no cursor moves. Without
        ``keep_ops`` the report keeps only the ops that failed or left something out, and counts
        the others (``Plan.dropped``): a run's memory then does not grow with what it writes."""
        if not dry_run:
            # The caller holds the state lock, so a run still marked running died with its process.
            self.mirror.interrupt_unfinished_runs()
        run_id = 0 if dry_run else self.mirror.start_run().id
        ctx = RunContext(self.mirror, self.connectors, self.rules, run_id, dry_run, self.now, self.progress,
                         allow_mass_change)  # fmt: skip
        report = RunReport(run_id, dry_run, Plan())
        started = self.now()
        try:
            with _timed(report, "pull"):
                pulled = pull(ctx, full=full, targets=targets)
            report.pulled, report.changed = dict(pulled.pulled), dict(pulled.changed)
            report.pull_errors = dict(pulled.errors)
            report.plan.problems.extend(pulled.problems)
            if not dry_run and targets is None:
                with _timed(report, "resume"):
                    report.resumed = resume(ctx, pulled.active)
            ctx = dataclasses.replace(ctx, holds={s: c.fields for s, c in self.connectors.items()})
            with _timed(report, "match"):
                selection = select(ctx, pulled)
                linked = link(ctx, selection.unlinked, pulled)
            report.plan.match, report.waiting_records = linked.outcome, selection.waiting_records
            report.plan.problems.extend(linked.problems)
            report.rules_digest = selection.rules_digest
            self._batches(ctx, pulled, selection, linked, report, keep_ops=keep_ops)
            if not dry_run and targets is None:
                for system in pulled.active:
                    self.mirror.set_cursor(system, started, run_id=run_id)
            report.conflicts_waiting = self._conflicts_waiting(report)
            report.status = "partial" if report.errors else "succeeded"
        except BaseException as exc:
            report.status = "failed"
            if not dry_run:
                error = f"{type(exc).__name__}: {exc}"
                self.mirror.finish_run(run_id, "failed", counts=_counts(report), timings=report.timings,
                                       errors=[error])  # fmt: skip
            if isinstance(exc, ConnectorError | MirrorError) or not isinstance(exc, Exception):
                raise
            # Anything else is a defect, but the run still ends as documented: owed work is kept
            # (the owed table), the run is marked failed, and the caller gets one known error.
            raise RunFailedError(f"run {run_id or '(preview)'} failed: {type(exc).__name__}: {exc}") from exc
        report.calls = {s: _calls(c) for s, c in self.connectors.items()}
        if not dry_run:
            self.mirror.finish_run(
                run_id, cast(RunStatus, report.status), counts=_counts(report), timings=report.timings,
                errors=[f"{s}: {e}" for s, e in report.pull_errors.items()],
            )  # fmt: skip
        return report

    def _conflicts_waiting(self, report: RunReport) -> int:
        earlier = self.mirror.open_conflict_keys()
        if not report.dry_run:
            return len(earlier)  # the run's own are stored by now
        met = {(c.entity_id, c.conflict.field) for c in report.plan.conflicts}
        return len(earlier - met) + report.open_conflicts

    def _batches(
        self,
        ctx: RunContext,
        pulled: Pulled,
        selection: Selection,
        linked: Linked,
        report: RunReport,
        *,
        keep_ops: bool,
    ) -> None:
        """Load, merge, plan, push and commit the selected entities a batch at a time."""
        made: dict[str, dict[str, str]] = {}
        if ctx.dry_run:  # a preview's links exist only here
            for entity_id, system, remote_id in linked.links:
                made.setdefault(entity_id, {})[system] = remote_id
        entities = sorted(selection.entities | linked.entities)
        in_flight = {(op.entity_id, op.system) for op in self.mirror.pending() if op.kind == "create"}
        link_counts = self.mirror.link_counts()
        held: dict[str, str] = {}
        # Only an entity that had a base can lose a value: those selected, and those a record was
        # linked to (a new entity's first merge only fills).
        known = len(selection.entities) + linked.outcome.linked
        if not ctx.dry_run and guard.could_trip(ctx, known, link_counts):
            # Whether a system's writes are held depends on the whole run: plan it once first.
            cleared = Counter[str]()
            for batch in self._planned(ctx, entities, pulled, made, in_flight, report, keep=False):
                cleared.update({s: len(e) for s, e in guard.clearing(batch.plan).items()})
            held = guard.held(ctx, cleared, link_counts)
        cleared = Counter()
        pushed = Counter[str]()
        total = PushOutcome()
        for batch in self._planned(ctx, entities, pulled, made, in_flight, report, keep=True):
            clearing = guard.clearing(batch.plan)
            cleared.update({s: len(e) for s, e in clearing.items()})
            deferred = dict(batch.deferred)
            for system in held:
                deferred.update(
                    dict.fromkeys(clearing.get(system, ()), f"held by the mass-change guard ({system})")
                )
            report.deferred.update(deferred)
            report.batches += 1
            if ctx.dry_run:
                foresee(ctx, batch.plan)
                report.plan.extend(batch.plan)
                continue
            with _timed(report, "push"):
                outcome = push(ctx, batch.plan, held, self._push_progress(batch.plan.ops, pushed))
            with _timed(report, "commit"):
                commit(ctx, batch, outcome, deferred)
            self.progress("commit", "batches", report.batches, None)
            absorb(total, outcome, keep_all=keep_ops)
            report.plan.extend(_kept(batch.plan, outcome, keep_ops))
        if ctx.dry_run:
            held = guard.held(ctx, cleared, link_counts)
        else:
            report.push = total
        report.plan.problems.extend(
            RecordProblem(system=s, message=m, run_id=ctx.run_id) for s, m in held.items()
        )
        if not ctx.dry_run and held:
            self.mirror.add_record_errors(report.plan.problems[-len(held) :])

    def _planned(
        self,
        ctx: RunContext,
        entities: Sequence[str],
        pulled: Pulled,
        made: Mapping[str, Mapping[str, str]],
        in_flight: set[tuple[str | None, str]],
        report: RunReport,
        *,
        keep: bool,
    ) -> Iterator[BatchPlan]:
        for start in range(0, len(entities), self.batch_size):
            batch = entities[start : start + self.batch_size]
            with _timed(report, "match" if keep else "guard"):
                loaded = load(ctx, batch, pulled, made)
            with _timed(report, "merge" if keep else "guard"):
                merged = merge(ctx, loaded.states)
            with _timed(report, "plan" if keep else "guard"):
                planned = plan(ctx, batch, loaded, merged, pulled.active, in_flight)
            yield planned

    def _push_progress(self, ops: list[PlannedOp], done: Counter[str]) -> Callable[[Any, Any], None]:
        totals = Counter(p.op.system for p in ops)
        start = Counter(done)

        def step(planned: Any, _result: Any) -> None:
            system = planned.op.system
            done[system] += 1
            self.progress("push", system, done[system], start[system] + totals[system])

        return step


def _kept(plan: Plan, outcome: PushOutcome, keep_all: bool) -> Plan:
    """The batch's plan as the run's report keeps it. The records as last pulled were for the
    push's checks and are dropped; without ``keep_all``, so are the ops that went through whole,
    the notes, and the conflicts, which are counted (the state holds them: ``conflicts``), so that
    the report of a first sync does not grow with the account."""
    kept = Plan(problems=plan.problems, waiting=plan.waiting)
    if keep_all:
        kept.conflicts, kept.notes = plan.conflicts, plan.notes
    else:
        kept.dropped_conflicts.update("open" if c.conflict.open else "settled" for c in plan.conflicts)
    for p in plan.ops:
        if keep_all or p.op.op_id in outcome.failed or p.op.op_id in outcome.left_out:
            kept.ops.append(dataclasses.replace(p, op=dataclasses.replace(p.op, expected=None)))
        else:
            kept.dropped[(p.op.system, p.op.kind)] += 1
    return kept


def _calls(connector: Connector) -> int:
    client = getattr(connector, "client", None)
    return client.stats.total_calls if client is not None else 0


def _counts(report: RunReport) -> dict[str, Any]:
    outcome = report.push
    return {
        "pulled": report.pulled,
        "changed": report.changed,
        "ops": report.plan.counts(),
        "confirmed": outcome.confirmed_count if outcome else 0,
        "failed": len(outcome.failed) if outcome else 0,
        "conflicts_open": report.open_conflicts,
        "conflicts_settled": report.settled_conflicts,
        "match_conflicts": len(report.plan.match.conflicts),
        "deferred": len(report.deferred),
        "waiting": len(report.plan.waiting) + report.waiting_records,
        "batches": report.batches,
        "rules_digest": report.rules_digest,
    }


class _timed:
    """Adds a block's wall and CPU seconds to the report's phase."""

    def __init__(self, report: RunReport, phase: str) -> None:
        self.report, self.phase = report, phase

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        timings, cpu = self.report.timings, self.report.cpu
        timings[self.phase] = timings.get(self.phase, 0.0) + time.perf_counter() - self.wall
        cpu[self.phase] = cpu.get(self.phase, 0.0) + time.process_time() - self.cpu
