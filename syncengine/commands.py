"""The commands that sync and inspect: sync, plan, conflicts, resolve, history, show, status, check, run.

Errors become exit codes in one place (``_guard``); see ``syncengine.cli`` for their meaning.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from syncengine import actions, schedule_estimate
from syncengine import report as reports
from syncengine.config import ConfigFileError, environment, load_config
from syncengine.connectors.errors import ConnectorError, StopSystemError
from syncengine.connectors.http import RateLimitWait
from syncengine.connectors.settings import load_settings
from syncengine.mirror import MirrorError
from syncengine.mirror.db import resolve as resolve_location
from syncengine.output import Output, print_schedule
from syncengine.plan import who
from syncengine.progress import SyncProgress
from syncengine.rules import RulesError
from syncengine.state_lock import StateBusyError, hold_state
from syncengine.sync import RunFailedError, RunReport
from syncengine.systems import NAMES as SYSTEM_NAMES
from syncengine.workspace import SIMULATOR_STATE, Workspace, open_workspace

EXIT_OK, EXIT_CONFLICTS, EXIT_USAGE, EXIT_ERRORS, EXIT_FAILED, EXIT_BUSY = 0, 1, 2, 3, 4, 5
HISTORY_SHOWN = 50  # `history` shows the newest entries unless --limit or --all says otherwise

StateOption = typer.Option(
    None, "--state", envvar="SYNCENGINE_STATE_DIR", help="State directory (default ./state)."
)
ConfigOption = typer.Option(None, "--config", help="Config file (default ./syncengine.toml when present).")
StrictOption = typer.Option(
    False, "--strict", help="Warnings (values that could not be read) fail the run too: partial, exit 3."
)
WaitOption = typer.Option(
    0.0, "--wait", min=0.0, metavar="SECONDS",
    help="When another run holds the state, wait up to this long for it (default: exit 5 at once).",
)  # fmt: skip

out = Output()  # tables on a terminal; in a pipe one unwrapped line per row (syncengine.output)
err = Console(stderr=True, soft_wrap=True)  # a message is one line, greppable in a log


@contextmanager
def _guard() -> Iterator[None]:
    """Turn the errors a person can act on into one line and an exit code; no traceback.

    Every message is escaped: it may hold a CRM's text or a value, never rich markup of ours."""
    from syncengine.schedule import IntervalError
    from syncengine.sim.runner import SimClusterError

    try:
        yield
    except (ConfigFileError, RulesError) as exc:
        err.print(f"[red]configuration error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from exc
    except (IntervalError, SimClusterError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from exc
    except StateBusyError as exc:
        err.print(f"[yellow]busy:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_BUSY) from exc
    except (RunFailedError, StopSystemError, MirrorError, ConnectorError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from exc


def _workspace(
    state: Path | None,
    config: Path | None,
    *,
    simulate: bool = False,
    lock: bool = False,
    wait: float = 0.0,
    command: str = "",
) -> Workspace:
    """``lock``: the command writes the state or a CRM (see ``syncengine.state_lock``)."""
    return open_workspace(
        state_dir=state, config_path=config, simulate_when_unconfigured=simulate, lock=lock, wait=wait,
        command=command,
    )  # fmt: skip


def _exit_code(report: RunReport, *, strict: bool = False) -> int:
    # A system that could not be read (unreachable, or refusing the credentials) fails the run,
    # even when the others synced: nothing of it was looked at.
    if report.status == "failed" or report.pull_errors:
        return EXIT_FAILED
    if report.errors or (strict and report.warnings):
        return EXIT_ERRORS
    return EXIT_CONFLICTS if report.open_conflicts or report.conflicts_waiting else EXIT_OK


def _on_wait(wait: RateLimitWait) -> None:
    if sys.stderr.isatty():
        err.print(f"[dim]{wait}[/]")


def _run_once(
    ws: Workspace, *, dry_run: bool, full: bool, allow_mass_change: bool = False, keep_ops: bool = True
) -> tuple[RunReport, dict[str, Any]]:
    with SyncProgress(err) as progress:
        return _run_with(
            ws, progress, dry_run=dry_run, full=full, allow_mass_change=allow_mass_change, keep_ops=keep_ops
        )


def _run_with(
    ws: Workspace,
    progress: SyncProgress,
    *,
    dry_run: bool,
    full: bool,
    allow_mass_change: bool,
    keep_ops: bool = True,
) -> tuple[RunReport, dict[str, Any]]:
    connectors = ws.connectors(on_wait=progress.on_wait)
    previewed = None if dry_run else _stored_schedule(ws)
    if previewed is not None and datetime.now(UTC) - previewed.at < SCHEDULE_SHOWN_FOR:
        progress.show_schedule(previewed)  # a long run shows what its preview expected
    done = actions.run_sync(
        ws, dry_run=dry_run, full=full, allow_mass_change=allow_mass_change, progress=progress,
        connectors=connectors, keep_ops=keep_ops,
    )  # fmt: skip
    if dry_run:  # the preview's schedule, for it and for `status`
        systems = {p.op.op_id: p.op.system for p in done.report.plan.ops}
        schedule = schedule_estimate.of_plan(done.calls, systems, schedule_estimate.limiters_of(connectors),
                                             datetime.now(UTC))  # fmt: skip
        _store_schedule(ws, schedule)
    return done.report, dict(done.calls)


SCHEDULE_FILE = "schedule.json"  # the last preview's schedule, in the state dir
SCHEDULE_SHOWN_FOR = timedelta(hours=1)  # a run shows the schedule of a preview this recent


def _store_schedule(ws: Workspace, schedule: schedule_estimate.Schedule) -> None:
    path = ws.config.state_dir / SCHEDULE_FILE
    reports.write_private(path, json.dumps(schedule.to_dict()))


def _stored_schedule(ws: Workspace) -> schedule_estimate.Schedule | None:
    try:
        stored = json.loads((ws.config.state_dir / SCHEDULE_FILE).read_text())
        return schedule_estimate.Schedule.from_dict(stored)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _strictly(report: RunReport, strict: bool) -> RunReport:
    """With ``--strict`` a warning fails the run as a failed write does (status and exit code)."""
    if strict and report.warnings and report.status == "succeeded":
        report.status = "partial"
    return report


def _emit(
    report: RunReport,
    calls: dict[str, Any],
    *,
    as_json: bool,
    html: Path | None,
    detail: bool,
    ws: Workspace | None = None,
) -> None:
    # The state keeps the field a system named for each failed write.
    stored = ws.mirror.record_errors(run_id=report.run_id) if ws and not report.dry_run else []
    schedule = _stored_schedule(ws) if ws is not None and report.dry_run else None
    if as_json:
        data = reports.run_dict(report, calls, stored)
        if schedule is not None:
            data["schedule"] = schedule.to_dict()
        print(reports.dumps(data))
    else:
        reports.print_run(out, report, detail=detail, stored=stored)
        if schedule is not None and schedule.systems:
            print_schedule(out, schedule)
    if html is not None:
        reports.write_private(html, reports.run_html(report))
        if not as_json:
            out.print(f"report written to {html}", markup=False)


def _more(html: Path | None) -> None:
    """Where the rest of a summed-up run is."""
    report = str(html) if html is not None else "an HTML report (--html FILE)"
    out.print(
        f"More: every change in {report}, or with `syncengine sync --detail` (or --json); the next run "
        "field by field: `syncengine plan`; errors, owed work and runs: `syncengine status`.",
        markup=False,
    )


def sync(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    full: bool = typer.Option(False, "--full", help="Read every record (finds deletions), not only changes."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (documented shape)."),
    html: Path | None = typer.Option(None, "--html", help="Also write an HTML report to this file."),
    detail: bool = typer.Option(
        False, "--detail", help="Show every change (contact, system, field, current and new value, why), "
        "every settled disagreement and every error, instead of the summary."
    ),
    allow_mass_change: bool = typer.Option(
        False,
        "--allow-mass-change",
        help="Let through what the mass-change guard (rules: [guard]) holds back: values cleared in "
        "many contacts at once, or many records a full scan no longer sees.",
    ),
    strict: bool = StrictOption,
    wait: float = WaitOption,
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """Run one sync cycle: pull, match, merge, plan, push, commit; prints a summary (--detail: every change).

    With no credentials set, runs against the bundled simulators (sample data kept in the state
    directory), showing the preview first.
    """
    # A preview writes nothing, so it never waits for the lock.
    locked: dict[str, Any] = {"lock": not dry_run, "wait": wait, "command": "sync"}
    with _guard(), _workspace(state, config, simulate=True, **locked) as ws:
        if ws.simulated and not as_json:
            out.print(
                "[bold]No credentials set: syncing the bundled simulators[/] (sample data in the state dir)."
            )
            preview, calls = _run_once(ws, dry_run=True, full=full)
            _emit(_strictly(preview, strict), calls, as_json=False, html=None, detail=detail, ws=ws)
            if dry_run:
                if not detail:
                    _more(html)
                raise typer.Exit(_exit_code(preview, strict=strict))
        # A summed-up run needs only its counts and what failed: its memory stays flat as it writes.
        keep_ops = dry_run or as_json or detail or html is not None
        report, calls = _run_once(
            ws, dry_run=dry_run, full=full, allow_mass_change=allow_mass_change, keep_ops=keep_ops
        )
        _emit(_strictly(report, strict), calls, as_json=as_json, html=html, detail=detail, ws=ws)
        if not as_json and not detail and not (ws.simulated and not dry_run):
            _more(html)
        if ws.simulated and not as_json and not dry_run:
            open_conflicts = ws.mirror.open_conflicts()
            if open_conflicts:
                reports.print_conflicts(out, open_conflicts)
            # The demo leaves both reports where a new user can open them in a browser.
            preview_file = ws.config.state_dir / "preview.html"
            reports.write_private(preview_file, reports.run_html(preview))
            conflicts_file = ws.config.state_dir / "conflicts.html"
            bases = ws.mirror.get_base(sorted({c.entity_id for c in open_conflicts}))
            names = {e: who(b) for e, b in bases.items() if b}
            reports.write_private(conflicts_file, reports.conflicts_html(open_conflicts, names))
            out.print(
                f"Reports to open in a browser: {preview_file} (the preview) and {conflicts_file} "
                "(the conflicts). Settle one with `syncengine resolve ID --take SYSTEM`.",
                markup=False,
            )
            out.print(
                "See it in the browser, and settle, run or undo from there: `syncengine serve` "
                "(http://127.0.0.1:8700/).",
                markup=False,
            )
            if not detail:
                _more(html or preview_file)
    raise typer.Exit(_exit_code(report, strict=strict))


def plan(
    full: bool = typer.Option(False, "--full", help="Read every record, not only changes."),
    as_json: bool = typer.Option(False, "--json", help="Print the preview as JSON (documented shape)."),
    html: Path | None = typer.Option(None, "--html", help="Also write the preview as HTML to this file."),
    strict: bool = StrictOption,
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """Preview a sync (a dry run): counts, then each contact and field with current value, new value, why."""
    with _guard(), _workspace(state, config, simulate=True) as ws:
        report, calls = _run_once(ws, dry_run=True, full=full)
        _emit(_strictly(report, strict), calls, as_json=as_json, html=html, detail=True, ws=ws)
    raise typer.Exit(_exit_code(report, strict=strict))


def conflicts(
    show_all: bool = typer.Option(False, "--all", help="Include settled conflicts."),
    field: str | None = typer.Option(None, "--field", help="Only conflicts on this canonical field."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV (one row per system value)."),
    html: Path | None = typer.Option(None, "--html", help="Write an HTML report to this file."),
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """List the conflicts that wait for a person (field, base, each system's value, when, which rule)."""
    with _guard(), _workspace(state, config) as ws:
        found = ws.mirror.conflicts(status=None if show_all else "open", field=field)
        bases = ws.mirror.get_base(sorted({c.entity_id for c in found})) if html is not None else {}
    if as_json:
        print(reports.dumps([reports.conflict_dict(c) for c in found]))
    elif as_csv:
        sys.stdout.write(reports.conflicts_csv(found))
    else:
        reports.print_conflicts(out, found)
    if html is not None:
        reports.write_private(html, reports.conflicts_html(found, {e: who(b) for e, b in bases.items() if b}))
    raise typer.Exit(EXIT_CONFLICTS if any(c.status == "open" for c in found) else EXIT_OK)


def resolve(
    conflict_id: int | None = typer.Argument(
        None, help="The conflict to settle (see `syncengine conflicts`)."
    ),
    take: str | None = typer.Option(None, "--take", help="Keep this system's value."),
    value: str | None = typer.Option(
        None, "--value", help="Set this value (JSON for lists, e.g. '[\"a\"]')."
    ),
    field: str | None = typer.Option(None, "--field", help="Settle every open conflict on this field."),
    wait: float = WaitOption,
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """Settle a conflict (or all open ones on a field); the next sync writes the chosen value."""
    if (take is None) == (value is None):
        err.print("give exactly one of --take SYSTEM or --value VALUE")
        raise typer.Exit(EXIT_USAGE)
    if (conflict_id is None) == (field is None):
        err.print("give a conflict id or --field FIELD")
        raise typer.Exit(EXIT_USAGE)
    with _guard(), _workspace(state, config, lock=True, wait=wait, command="resolve") as ws:
        try:
            settled = actions.settle_conflicts(
                ws.mirror, conflict_id=conflict_id, field=field, take=take,
                value=None if value is None else actions.parse_value(value),
            )  # fmt: skip
        except actions.ActionError as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(EXIT_USAGE) from exc
        for done in settled:
            out.print(
                escape(f"conflict {done.conflict_id} ({done.field}) settled: {done.value!r}; ")
                + "the next sync writes it"
            )


def history(
    entity: str | None = typer.Option(None, "--entity", help="Only this entity."),
    run: int | None = typer.Option(None, "--run", help="Only this run."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int = typer.Option(HISTORY_SHOWN, "--limit", min=1, help="Show this many of the newest entries."),
    show_all: bool = typer.Option(False, "--all", help="Show every entry (no limit)."),
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """What the engine changed, when and why: every overwritten or merged value (newest 50 by default)."""
    with _guard(), _workspace(state, config) as ws:
        entries = ws.mirror.history(entity_id=entity, run_id=run)
    total = len(entries)
    if not show_all:
        newest = sorted(entries, key=lambda e: (e.at is not None, e.at, e.run_id), reverse=True)
        entries = newest[:limit][::-1]
    if not as_json and len(entries) < total:
        err.print(f"the newest {len(entries)} of {total} entries (--limit N, --all)", markup=False)
    if as_json:
        print(reports.dumps([e.__dict__ for e in entries]))
        return
    reports.print_history(out, entries)


def show(
    contact: str = typer.Argument(
        ..., help="An entity id (a prefix is enough), an email, or a first and last name (case ignored)."
    ),
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """One contact: each field's agreed value beside each system's; its conflicts, changes, owed work.

    Found by entity id prefix, email or name; when several match, they are listed (exit 2). The
    systems' values are read from the state, as the last sync pulled them: nothing is asked of them.
    """
    from syncengine.contact_view import owed_to, print_candidates, print_contact, read_systems
    from syncengine.find_contact import find_entities

    with _guard():
        env = environment(None)
        # Sandbox: the stored records came from the bundled simulators, whose field maps read them.
        sandbox = not load_settings(env).configured and (
            load_config(config, state_dir=state, env=env).state_dir / SIMULATOR_STATE
        ).exists()
    with _guard(), _workspace(state, config, simulate=sandbox) as ws:
        found = find_entities(ws.mirror, contact)
        if not found:
            err.print(
                f"no contact matches {contact!r}: give an entity id (or its start), an email, or a first "
                "and last name",
                markup=False,
            )
            raise typer.Exit(EXIT_USAGE)
        if len(found) > 1:
            print_candidates(out, contact, ws.mirror.get_base(found), ws.mirror.links_for(found))
            err.print("several contacts match: give one of their ids", markup=False)
            raise typer.Exit(EXIT_USAGE)
        [entity_id] = found
        connectors = ws.connectors()
        if ws.simulated:
            # The simulators answer on this machine: their catalogues name list and tag ids. A real
            # system is never called; its ids a catalogue would name show as not read.
            for connector in connectors.values():
                connector.load_catalogue()
        print_contact(
            out,
            entity_id,
            ws.mirror.get_base([entity_id])[entity_id],
            read_systems(ws.mirror, entity_id, connectors),
            ws.mirror.open_conflicts([entity_id]),
            ws.mirror.history(entity_id=entity_id),
            owed_to(ws.mirror, entity_id),
        )


def status(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (documented shape)."),
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """The systems, their cursors, the last runs, open conflicts and errors."""
    with _guard(), _workspace(state, config) as ws:
        info = ws.mirror.info()
        systems = {
            name: {
                "configured": name in ws.settings.systems,
                "cursor": (
                    c.cursor_at.isoformat() if (c := ws.mirror.get_cursor(name)) and c.cursor_at else None
                ),
            }
            for name in SYSTEM_NAMES
        }
        runs = ws.mirror.recent_runs(5)
        dead = any(r.status == "running" for r in runs) and not _state_in_use(ws)
        open_conflicts = ws.mirror.open_conflicts()
        last = runs[0] if runs else None
        stored = ws.mirror.record_errors(run_id=last.id) if last else []
        errors = [p for p in stored if not RunReport.is_warning(p)]
        warnings = [p for p in stored if RunReport.is_warning(p)]
        # Waiting contacts are listed apart from owed work: they are no run's failure.
        owed_counts = {r: n for r, n in ws.mirror.owed_counts().items() if r != "waiting"}
        owed = [o for o in ws.mirror.owed(limit=OWED_SHOWN + 50) if o.reason != "waiting"][:OWED_SHOWN]
        waiting_counts = ws.mirror.waiting_counts()
        waiting = ws.mirror.waiting(limit=OWED_SHOWN)
        demo = not ws.settings.configured and (ws.config.state_dir / SIMULATOR_STATE).exists()
        schedule = _stored_schedule(ws)
    data = {
        "schema": reports.SCHEMA_VERSION,
        "state": {"backend": info.backend, "location": info.location, "schema_version": info.schema_version},
        "systems": systems,
        "runs": [
            {"id": r.id, "started_at": r.started_at.isoformat(), "dry_run": r.dry_run,
             # A run still marked running while nobody holds the state died with its process; the
             # next run marks it so (status itself writes nothing).
             "status": "interrupted" if dead and r.status == "running" else r.status,
             "counts": {k: v for k, v in r.counts.items() if k != "retry_entities"},
             "errors": list(r.errors) if r.status == "interrupted" else []}
            for r in runs
        ],
        "open_conflicts": len(open_conflicts),
        "errors": [reports.problem_dict(p) for p in errors],
        "warnings": [reports.problem_dict(p) for p in warnings],
        "owed": {"entities_by_reason": owed_counts, "first": [
            {"entity_id": o.entity_id, "system": o.system or None, "reason": o.reason, "detail": o.detail,
             "run_id": o.run_id, "since": o.at.isoformat() if o.at else None} for o in owed]},
        "waiting": {"creates": waiting_counts["create"], "records": waiting_counts["link"], "first": [
            {"system": w.system, "entity_id": w.entity_id, "remote_id": w.remote_id, "reason": w.reason,
             "run_id": w.run_id, "since": w.at.isoformat() if w.at else None} for w in waiting]},
    }  # fmt: skip
    if schedule is not None:
        data["schedule"] = schedule.to_dict()
    if as_json:
        print(reports.dumps(data))
        return
    out.print(f"state: {info.backend} {info.location} (schema {info.schema_version})", markup=False)
    # With no credentials, `sync` talks to the bundled simulators whose data lives in the state dir.
    unconfigured = "bundled simulator" if demo else "not configured"
    for name, s in systems.items():
        shown = "configured" if s["configured"] else unconfigured
        out.print(f"  {name:<15} {shown:<17} cursor {s['cursor']}")
    for r in dict[str, Any](data)["runs"]:
        out.print(f"  run {r['id']} {r['started_at']} {r['status']}{' (dry run)' if r['dry_run'] else ''}")
    out.print(
        f"open conflicts: {len(open_conflicts)}; errors in the last run: {len(errors)}; "
        f"warnings: {len(warnings)}"
    )
    reports.print_problems(out, errors, title="Errors in the last run")
    reports.print_problems(out, warnings, title="Warnings in the last run")
    if owed_counts:
        # What the next runs still owe, whatever happened to the runs that left it.
        shown = ", ".join(f"{reason} {count}" for reason, count in sorted(owed_counts.items()))
        out.print(f"owed to the next run (entities by reason): {shown}")
        for o in owed:
            out.print(f"  {o.entity_id[:8]} {o.system or '-':<15} {o.reason:<18} {escape(o.detail)}")
    if waiting:
        # Not errors: each is looked at again when it, a record sharing its keys, or the rules change.
        out.print(
            f"waiting for a change: {waiting_counts['create']} writes a system refuses, "
            f"{waiting_counts['link']} records matching several people"
        )
        for w in waiting:
            ref = w.remote_id or f"entity {(w.entity_id or '')[:8]}"
            out.print(f"  {w.system:<15} {ref:<22} {escape(w.reason)}")
    if schedule is not None and schedule.systems:
        out.print(f"schedule of the last preview ({schedule.at:%Y-%m-%d %H:%M} UTC):", markup=False)
        print_schedule(out, schedule)


def _state_in_use(ws: Workspace) -> bool:
    """Whether a process holds the state's lock now (probed without waiting, released at once)."""
    try:
        with hold_state(resolve_location(ws.config.database, ws.config.state_dir), command="status"):
            return False
    except StateBusyError:
        return True
OWED_SHOWN = 10


def check(state: Path | None = StateOption, config: Path | None = ConfigOption) -> None:
    """Verify the credentials and reachability of each configured system (one cheap call each).

    With no credentials set, checks the bundled simulators, as `sync` would use them.
    """
    failed = False
    with _guard(), _workspace(state, config, simulate=True) as ws:
        if ws.simulated:
            out.print("No credentials set: checking the bundled simulators (what `sync` would use).")
        connectors = ws.connectors()
        for system in [s for s in ws.settings.configured if s in connectors]:  # not the disabled
            try:
                connectors[system].check()
                out.print(f"[green]ok[/]      {system}")
            except ConnectorError as exc:
                failed = True
                out.print(f"[red]failed[/]  {system}: {escape(str(exc))}")
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def run(
    every: str = typer.Option("5m", "--every", help="Interval: 30s, 5m, 1h."),
    wait: float = WaitOption,
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """Keep syncing on a schedule: one cycle at a time; SIGINT/SIGTERM finishes the cycle, then stops."""
    from syncengine.schedule import parse_interval, run_every

    with _guard():
        seconds = parse_interval(every)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # In sandbox mode the simulators' data is part of the state: the lock is held throughout.
    # Otherwise each cycle takes it, so `resolve` or a manual `sync` can run between cycles.
    with _guard():
        sandbox = not load_settings(environment(None)).configured
    with _guard(), _workspace(state, config, simulate=True, lock=sandbox, wait=wait, command="run") as ws:
        if ws.simulated:
            out.print("[bold]No credentials set: syncing the bundled simulators[/] every cycle.")
        location = resolve_location(ws.config.database, ws.config.state_dir)

        def cycle() -> None:
            try:
                with ExitStack() as held:
                    if not sandbox:
                        held.enter_context(hold_state(location, wait=wait, command="run"))
                    report, _ = _run_once(ws, dry_run=False, full=False, keep_ops=False)
            except StateBusyError as exc:
                err.print(f"[yellow]cycle skipped:[/] {escape(str(exc))}")
                return
            ops = sum(n for kinds in report.plan.counts().values() for n in kinds.values())
            out.print(f"run {report.run_id}: {report.status}, {ops} ops, "
                      f"{report.open_conflicts} open conflicts")  # fmt: skip

        store = ws.config.database or f"sqlite:///{(ws.config.state_dir / 'syncengine.db').resolve()}"
        run_every(seconds, cycle, stop, jobstore_url=store)


def undo(
    run_id: int = typer.Argument(..., help="The run to revert (see `syncengine status` or `history`)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be written back; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the preview (and the result) as JSON."),
    wait: float = WaitOption,
    state: Path | None = StateOption,
    config: Path | None = ConfigOption,
) -> None:
    """Write back the values a run overwrote, where no one changed them since.

    Shows the preview first (each record and field: the value now, the value before the run, and
    what is skipped and why), then writes. The agreed values keep theirs unless every system
    agrees again, so the next sync carries the earlier values on instead of redoing the run. With
    no credentials set, works on the bundled simulators, as `sync` does.
    """
    from syncengine.undo_report import print_result, print_undo, undo_dict

    # It writes the state and the CRMs (in sandbox mode the simulators' data is part of the state);
    # a preview writes nothing.
    locked: dict[str, Any] = {"lock": not dry_run, "wait": wait, "command": "undo"}
    with _guard(), _workspace(state, config, simulate=True, **locked) as ws:
        if ws.simulated and not as_json:
            out.print("[bold]No credentials set: undoing in the bundled simulators[/].")
        try:
            plan = actions.preview_undo(ws, run_id, on_wait=_on_wait)
        except actions.ActionError as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(EXIT_USAGE) from exc
        if not as_json:
            print_undo(out, plan, dry_run=dry_run)
        result = None if dry_run else actions.write_undo(ws, plan, on_wait=_on_wait)
    if as_json:
        print(reports.dumps(undo_dict(plan, result, dry_run=dry_run)))
    elif result is not None:
        print_result(out, plan, result)
    unread = any(r.error for r in plan.records)  # not read, refused, or (written) failed
    raise typer.Exit(EXIT_ERRORS if unread else EXIT_OK)
