"""How a sync's cost grows: initial sync and steady state at several sizes, against two plain baselines.

    python3 -m pip install -e '.[bench]'                    # dlt, for baseline (b); the rest runs without
    python3 bench/sync_bench.py --sizes 1000,10000          # tables on stdout, JSON in bench/results/
    python3 bench/sync_bench.py --sizes 1000 --rate-limits  # with the documented rate limits enforced

Per size N: Apollo and LeadConnector hold N sample contacts each, CorporateMerch a fifth of N, half
of the people in more than one system (``syncengine.sim.sampledata.generate``). Then, each with a
fresh set of connectors on one state mirror:

* initial  the first sync: a full pull of every system, links, creates and updates;
* settle   a second sync, which re-reads the initial sync's own writes and should write nothing;
* steady   1% of each system's contacts edited as a person would (``sampledata.edits``), one sync.

Ten simulated minutes pass before the settle and steady syncs (the simulators' clocks and the
engine's are moved together): more than the connectors' 5-minute overlap window, as between two
scheduled runs, so the steady sync does not re-read the initial sync's writes.

Figures, per run and per phase (pull, match, merge, plan, push, commit; the engine's own timers):

* wall s, CPU s: elapsed and CPU time of the engine's process. The simulators run in another
  process (``bench/simproc.py``), so CPU is the engine's own work and wall includes waiting for
  the simulators' answers.
* peak MB: the highest resident memory of the engine's process during the run or phase (Linux
  resets the high-water mark at each phase; see ``benchlib.PeakMemory``). It includes the
  interpreter and imports (``rss_at_start_mb`` in the JSON), and Python seldom gives memory back,
  so a phase's peak is at least what the phases before it left. Each size runs in a fresh process.
* API calls (min): requests the engine sent, retries included, against the fewest possible with
  the bulk endpoints (``minimum_reads`` + ``minimum_writes``):

  - reads: one page per page-size records (Apollo 100, LeadConnector 500, CorporateMerch 50) of
    every record for a full pull; for an incremental one, of the records changed since the last
    run's start, by people and by that run's own writes (an incremental pull cannot tell an echo
    of its own write from an edit without reading it), at least one page per system;
    CorporateMerch has no filter, so always all;
  - Apollo writes: P + ceil(B / 100) + U_p + ceil(U_b / 100) + L + ceil(U_c / 100), where P is the
    creates with a typed phone (one ``POST /contacts`` each, lists in it: neither bulk endpoint
    takes typed phones), B the other creates (``bulk_create``), U_p the updates with a typed phone,
    the stage or a whole list value (one PATCH each), U_b the other updates that set fields
    (``bulk_update``), L the label calls: per direction (add, remove) the fewer of the distinct
    lists and the distinct sets of lists among the update deltas and the bulk creates' lists, and
    U_c the updates checked against the records moved since the pull (one listing page per 100);
  - LeadConnector writes: one call per create and per update that sets fields, tag changes per
    direction the fewer of distinct tags and distinct tag sets (the bulk tag endpoint), and one
    listing page per 500 checked updates;
  - CorporateMerch writes: one call per create, two per update (read, then replace the record).

  Catalogue reads (lists, labels, fields, stages, users), which every run makes, are counted apart
  in "catalogue"; "× min" is the calls less those, over the minimum (target: at most 1.05). The
  search page that reads bulk-created records back and splits the engine makes per batch of 500
  entities (a bulk call per batch) are what it spends above the minimum.
* 429s: answers "too many requests" the engine received.
* written (create/update), not written: ops the push confirmed, and ops planned but not written
  (refused before sending, e.g. a CorporateMerch create without street and postal code, or left
  for a later run because a rate-limit budget was spent); the JSON counts them by message.
* with ``--rate-limits`` (the simulators enforce the documented limits; the client keeps to them
  itself): "floor s" is the time those limits alone impose on the calls the run made, per system
  (``benchlib.limit_floor``), shown as max/sum: the largest system's floor (budgets are
  independent, so no run could be faster) and their sum (about what an engine that works on one
  system at a time can reach). "waited s": the time the client waited for its budget. Calls the
  run did not make (a write left for later because its budget was spent) are not in the floor.
  Without the flag, connectors are built with ``proactive_limits=False``, otherwise the client
  would pace itself to budgets nobody enforces and the run would measure sleeping, not work.

Baselines, side by side (ratio = baseline / engine, so 3.0x means the baseline costs 3 times as much):

* (a) deepdiff: the plain approach at steady state: pull every record of every system and compare
  each with its copy in the mirror with ``deepdiff``; against the engine's steady sync.
* (b) dlt: dlt's REST API source loading every contact into SQLite (``bench/dlt_baseline.py``,
  its own fresh process, before the initial sync so it reads the same records); against the
  engine's full pull into its SQLite mirror (the pull phase of the initial sync). Left out with
  ``--rate-limits`` (both would mostly measure waiting) or when dlt is not installed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import PAGE, PeakMemory, limit_floor  # noqa: E402
from simproc import SimProcess  # noqa: E402

import syncengine.sync as sync_module  # noqa: E402
from syncengine.connectors.base import Connector  # noqa: E402
from syncengine.sync import Engine, RunReport  # noqa: E402

PHASES = ("resume", "pull", "match", "merge", "plan", "push", "commit")
SHOWN_PHASES = PHASES[1:]  # resume only acts after a crash; its figures stay in the JSON
RUNS = ("initial", "settle", "steady")
EDIT_SHARE = 0.01
GAP_SECONDS = 600  # simulated time between runs: more than the connectors' 5-minute overlap
PEAK = PeakMemory()

Calls = dict[str, dict[str, int]]  # system -> endpoint -> requests


# --------------------------------------------------------------------------- measuring the engine


def _calls(connectors: Mapping[str, Connector]) -> Calls:
    return {s: dict(c.client.stats.calls) for s, c in connectors.items()}  # type: ignore[attr-defined]


def _too_many(connectors: Mapping[str, Connector]) -> int:
    stats = (c.client.stats for c in connectors.values())  # type: ignore[attr-defined]
    return sum(st.outcomes.get("429", 0) for st in stats)


def _minus(after: Calls, before: Calls) -> Calls:
    out: Calls = {}
    for system, endpoints in after.items():
        old = before.get(system, {})
        changed = {e: n - old.get(e, 0) for e, n in endpoints.items() if n != old.get(e, 0)}
        if changed:
            out[system] = changed
    return out


class _PhaseProbe:
    """Wraps the engine's phase timer: peak memory, API calls and 429s between its edges."""

    def __init__(self, timer: Any, engine: ProbedEngine, phase: str) -> None:
        self.timer, self.engine, self.phase = timer, engine, phase

    def __enter__(self) -> None:
        self.calls, self.too_many = _calls(self.engine.connectors), _too_many(self.engine.connectors)
        PEAK.start()
        self.timer.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.timer.__exit__(*exc)
        figures = self.engine.probes.setdefault(self.phase, {"peak_rss_mb": 0.0, "calls": {}, "http_429": 0})
        figures["peak_rss_mb"] = max(figures["peak_rss_mb"], PEAK.read())
        figures["http_429"] += _too_many(self.engine.connectors) - self.too_many
        for system, endpoints in _minus(_calls(self.engine.connectors), self.calls).items():
            mine = figures["calls"].setdefault(system, {})
            for endpoint, n in endpoints.items():
                mine[endpoint] = mine.get(endpoint, 0) + n


class ProbedEngine(Engine):
    """The engine unchanged, with each phase's memory and calls taken where its timer starts and stops.

    ``syncengine.sync._timed`` is the one place every phase passes through; wrapping it for the
    length of a run keeps the phases the engine's own without touching syncengine.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.probes: dict[str, dict[str, Any]] = {}

    def run(self, *args: Any, **kwargs: Any) -> RunReport:
        original = sync_module._timed

        def timed(report: RunReport, phase: str) -> Any:
            return _PhaseProbe(original(report, phase), self, phase)

        sync_module._timed = timed  # type: ignore[assignment,misc]
        try:
            return super().run(*args, **kwargs)
        finally:
            sync_module._timed = original  # type: ignore[misc]


# --------------------------------------------------------------------------- the fewest calls


def is_catalogue(endpoint: str) -> bool:
    """Of the pull's calls: lists, labels, fields, stages, users (everything but contacts)."""
    return "/contacts" not in endpoint


def minimum_reads(
    records: Mapping[str, int],
    changed_by_people: Mapping[str, int] | None,
    written_before: Mapping[str, int] | None = None,
) -> int:
    """Pages a pull needs: all records (``changed_by_people`` None: a full pull) or those changed
    since the last run's start: by people, and by that run's own writes (``written_before``), which
    an incremental pull cannot tell from people's edits without reading them."""
    pages = 0
    for system, n in records.items():
        if changed_by_people is not None and system != "corporatemerch":  # CM: always a full scan
            n = changed_by_people.get(system, 0) + (written_before or {}).get(system, 0)
        pages += max(1, math.ceil(min(n, records[system]) / PAGE[system]))
    return pages


def written(report: RunReport) -> dict[str, dict[str, int]]:
    """Ops the push confirmed, per system and kind (ops that failed before sending write nothing)."""
    confirmed = report.push.confirmed if report.push is not None else set()
    counts: dict[str, dict[str, int]] = {}
    for planned in report.plan.ops:
        if planned.op.op_id in confirmed:
            kinds = counts.setdefault(planned.op.system, {})
            kinds[planned.op.kind] = kinds.get(planned.op.kind, 0) + 1
    return counts


# Apollo's typed phones (canonical names): neither bulk_create nor bulk_update carries them.
APOLLO_TYPED_PHONES = frozenset({"phone", "phone_mobile", "phone_corporate", "phone_home", "phone_other"})
SET_FIELDS = ("tags",)


def _groups(deltas: list[tuple[str, frozenset[str]]]) -> int:
    """Label or tag calls for many contacts' deltas (direction, members): each call applies its
    members to every contact it names, so contacts are grouped by the set they share or by single
    member, whichever is fewer."""
    total = 0
    for direction in {d for d, _ in deltas}:
        sets = {m for d, m in deltas if d == direction and m}
        names = {n for m in sets for n in m}
        total += min(len(sets), len(names))
    return total


def minimum_writes(report: RunReport) -> dict[str, int]:
    """The fewest calls that make the run's confirmed writes, per system, with the bulk endpoints.

    Apollo: one ``POST /contacts`` per create with a typed phone (its lists in it); the other
    creates 100 per ``bulk_create``; one PATCH per update with a typed phone, the stage or a whole
    list value; the other updates that set fields 100 per ``bulk_update``; list changes (update
    deltas, lists of bulk creates) one label call per list or per shared set of lists, whichever is
    fewer, per direction. LeadConnector: one call per create and per update that sets fields; tag
    changes one call per shared tag set or single tag, per direction. CorporateMerch: one call per
    create, two per update (read, then replace the whole record). Updates that set fields are
    checked first against the records moved since the pull (no API offers a conditional write):
    one listing page per 100 such Apollo updates, per 500 LeadConnector ones. The read-back of
    bulk-created records (one search page per bulk call) is not in it.
    """
    confirmed = report.push.confirmed if report.push is not None else set()
    ops = [p.op for p in report.plan.ops if p.op.op_id in confirmed]
    out: dict[str, int] = {}
    for system in {op.system for op in ops}:
        mine = [op for op in ops if op.system == system]
        creates = [op for op in mine if op.kind == "create"]
        updates = [op for op in mine if op.kind != "create"]
        if system == "corporatemerch":
            out[system] = len(creates) + 2 * len(updates)
            continue
        deltas = [("add", op.add.get(f, frozenset())) for op in updates for f in SET_FIELDS]
        deltas += [("remove", op.remove.get(f, frozenset())) for op in updates for f in SET_FIELDS]
        setting = [op for op in updates if set(op.values) - set(op.add) - set(op.remove)]
        checked = [op for op in setting if op.expected is not None]
        if system == "leadconnector":
            out[system] = len(creates) + len(setting) + _groups(deltas) + math.ceil(len(checked) / 500)
            continue
        alone = [op for op in creates if APOLLO_TYPED_PHONES & set(op.values)]
        bulk = [op for op in creates if op not in alone]
        deltas += [("add", frozenset(op.values.get("tags") or ())) for op in bulk]
        patched = [
            op for op in setting
            if (APOLLO_TYPED_PHONES | {"stage"}) & set(op.values)
            or any(f in op.values and f not in op.add and f not in op.remove for f in SET_FIELDS)
        ]  # fmt: skip
        rows = [op for op in setting if op not in patched]
        out[system] = len(alone) + math.ceil(len(bulk) / 100) + len(patched) + math.ceil(len(rows) / 100)
        out[system] += _groups(deltas) + math.ceil(len(checked) / 100)
    return out


# --------------------------------------------------------------------------- one run


def errors(report: RunReport) -> dict[str, Any]:
    """Why a run is not "succeeded": problems and failed writes, counted by message (ids left out)."""
    systems = {p.op.op_id: p.op.system for p in report.plan.ops}
    failed = report.push.failed.items() if report.push is not None else ()
    pairs = [(p.system, p.message) for p in report.plan.problems]
    pairs += [*report.pull_errors.items(), *((systems.get(op, "?"), e) for op, e in failed)]
    counted: dict[str, int] = {}
    for system, message in pairs:
        message = message if message.startswith(system) else f"{system}: {message}"
        key = re.sub(r"[^\s:]+@[^\s:]+|\b[0-9a-zA-Z]{16,}\b|\b\d+\b", "#", message)[:300]
        counted[key] = counted.get(key, 0) + 1
    return dict(sorted(counted.items(), key=lambda kv: -kv[1]))


def fold_ids(calls: Mapping[str, int]) -> dict[str, int]:
    """Endpoint names with record ids folded: the client's stats leave some ids in the path."""
    out: dict[str, int] = {}
    for endpoint, n in calls.items():
        folded = re.sub(r"/contacts/(?!search\b|bulk\b|bulk_|update_)[^/{]+", "/contacts/{id}", endpoint)
        out[folded] = out.get(folded, 0) + n
    return out


def run_figures(
    engine: ProbedEngine, report: RunReport, wall: float, cpu: float, minimum: dict[str, int]
) -> dict[str, Any]:
    stats = {s: c.client.stats for s, c in engine.connectors.items()}  # type: ignore[attr-defined]
    calls = {s: fold_ids(st.calls) for s, st in stats.items()}
    phases = {}
    for phase in PHASES:
        probe = engine.probes.get(phase, {"peak_rss_mb": None, "calls": {}, "http_429": 0})
        phase_calls = sum(n for endpoints in probe["calls"].values() for n in endpoints.values())
        phases[phase] = {
            "wall_s": round(report.timings.get(phase, 0.0), 3),
            "cpu_s": round(report.cpu.get(phase, 0.0), 3),
            "peak_rss_mb": probe["peak_rss_mb"],
            "api_calls": phase_calls,
            "api_calls_minimum": minimum.get(phase, 0),
            "http_429": probe["http_429"],
            "calls_by_endpoint": {s: fold_ids(c) for s, c in probe["calls"].items()},
        }
    floors = {s: limit_floor(c, s) for s, c in calls.items()}
    return {
        "status": report.status,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "peak_rss_mb": max((p["peak_rss_mb"] or 0.0) for p in phases.values()),
        "pulled": report.pulled,
        "ops": report.plan.counts(),
        "written": written(report),
        "failed": len(report.push.failed) if report.push is not None else 0,
        "conflicts": len(report.plan.conflicts),
        "api_calls": sum(sum(c.values()) for c in calls.values()),
        "api_calls_minimum": sum(minimum.values()),
        "calls_over_minimum": _over(calls, minimum),
        "catalogue_calls": _catalogue(calls),
        "http_429": sum(p["http_429"] for p in phases.values()),
        "calls_by_endpoint": calls,
        "errors": errors(report),
        "rate_limit_floor_s": max(floors.values(), default=0.0),
        "rate_limit_floor_sum_s": sum(floors.values()),
        "rate_limit_floor_by_system_s": floors,
        "rate_limit_waited_s": round(sum(st.waited_seconds for st in stats.values()), 1),
        "phases": phases,
    }


def _over(calls: Mapping[str, Mapping[str, int]], minimum: Mapping[str, int]) -> float:
    """Calls sent, less catalogue reads, per call of the minimum."""
    sent = sum(sum(c.values()) for c in calls.values()) - _catalogue(calls)
    return round(sent / max(sum(minimum.values()), 1), 3)


def _catalogue(calls: Mapping[str, Mapping[str, int]]) -> int:
    """Catalogue reads of a run: the GETs of anything but contacts."""
    return sum(n for c in calls.values() for e, n in c.items() if e.startswith("GET ") and is_catalogue(e))


class Bench:
    """One size: the simulators' process, the engine's state mirror, and how to build an engine."""

    def __init__(self, sims: SimProcess, state_dir: Path, rate_limits: bool) -> None:
        from syncengine.connectors.settings import load_settings
        from syncengine.mirror import Mirror
        from syncengine.rules import load_rules

        self.sims = sims
        self.rate_limits = rate_limits
        self.settings = load_settings(sims.environment)
        self.rules = load_rules()
        self.mirror = Mirror.open(state_dir / "bench.db")
        self.last_written: dict[str, int] = {}  # records each system's last run wrote

    def now(self) -> datetime:
        # The engine's clock moves with the simulators' (``SimProcess.advance``): its cursors are
        # compared with the records' updated_at, which the simulators stamp.
        return datetime.now(UTC) + timedelta(seconds=self.sims.offset)

    def connectors(self) -> dict[str, Connector]:
        from syncengine.connectors.registry import build_connectors

        # As `syncengine sync` builds them (default retry policy: a rate-limit wait longer than
        # 120 s is not waited for, the write is left for a later run). Without enforced limits,
        # the client's own pacing to the documented budgets would make the run measure sleeping.
        return build_connectors(self.settings, proactive_limits=self.rate_limits)

    def sync(self, changed_by_people: dict[str, int] | None) -> dict[str, Any]:
        """One measured run; ``changed_by_people`` None for the first (full) sync."""
        records = self.sims.counts()
        engine = ProbedEngine(self.mirror, self.connectors(), self.rules, now=self.now)
        wall, cpu = time.perf_counter(), time.process_time()
        report = engine.run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        writes = minimum_writes(report)
        minimum = {
            "pull": minimum_reads(records, changed_by_people, self.last_written),
            "push": sum(writes.values()),
        }
        self.last_written = {s: sum(k.values()) for s, k in written(report).items()}
        figures = run_figures(engine, report, wall, cpu, minimum)
        figures["minimum_writes_by_system"] = writes
        figures["records_before"] = records
        figures["changed_by_people"] = changed_by_people
        for connector in engine.connectors.values():
            connector.close()
        return figures

    def deepdiff_baseline(self) -> dict[str, Any]:
        """Pull every record of every system; compare each with its copy in the mirror (deepdiff)."""
        from deepdiff import DeepDiff

        connectors = self.connectors()
        PEAK.start()
        wall, cpu = time.perf_counter(), time.process_time()
        compared = changed = 0
        for system, connector in connectors.items():
            previous = {r.remote_id: dict(r.raw) for r in self.mirror.changed_records(system, 0)}
            connector.load_catalogue()
            for record in connector.pull(None, full=True):
                compared += 1
                old = previous.get(record.remote_id)
                if old is None or DeepDiff(old, dict(record.raw), ignore_order=True):
                    changed += 1
        figures = {
            "wall_s": round(time.perf_counter() - wall, 3),
            "cpu_s": round(time.process_time() - cpu, 3),
            "peak_rss_mb": PEAK.read(),
            "records_compared": compared,
            "changed_found": changed,
            "api_calls": sum(sum(c.values()) for c in _calls(connectors).values()),
            "http_429": _too_many(connectors),
        }
        for connector in connectors.values():
            connector.close()
        return figures


def dlt_baseline(sims: SimProcess, state_dir: Path) -> dict[str, Any]:
    """``bench/dlt_baseline.py`` in a fresh process against the simulators; calls as they counted them."""
    if importlib.util.find_spec("dlt") is None:
        return {"skipped": "dlt is not installed (pip install -e '.[bench]')"}
    env = {
        **os.environ,
        **sims.environment,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__LOG_LEVEL": "ERROR",
    }
    before = sims.calls()
    command = [sys.executable, str(ROOT / "bench" / "dlt_baseline.py"), "--db", str(state_dir / "dlt.db")]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return {"skipped": f"dlt run failed: {done.stderr.strip().splitlines()[-1:]}"}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    after = sims.calls()
    figures["api_calls"] = sum(after[s]["total"] - before[s]["total"] for s in after)
    figures["http_429"] = sum(after[s]["429"] - before[s]["429"] for s in after)
    return figures


def run_size(n: int, rate_limits: bool, seed: int) -> dict[str, Any]:
    result: dict[str, Any] = {"contacts_per_system": n, "rate_limits": rate_limits, "edit_share": EDIT_SHARE}
    with SimProcess(n, seed=seed, rate_limits=rate_limits) as sims, tempfile.TemporaryDirectory() as tmp:
        result["records"] = sims.initial_counts
        result["rss_at_start_mb"] = PEAK.read()
        if rate_limits:
            result["baseline_dlt"] = {"skipped": "left out with --rate-limits: it compares local pull cost"}
        else:  # first, so that it reads the very records the initial sync's full pull reads
            result["baseline_dlt"] = dlt_baseline(sims, Path(tmp))
        bench = Bench(sims, Path(tmp), rate_limits)
        _log(f"{n:,}: initial sync")
        result["initial"] = bench.sync(None)
        sims.advance(GAP_SECONDS)
        _log(f"{n:,}: settle sync")
        result["settle"] = bench.sync({})
        sims.advance(GAP_SECONDS)
        result["edited"] = sims.edit(EDIT_SHARE, seed + 1)
        _log(f"{n:,}: steady sync after {result['edited']} edits")
        result["steady"] = bench.sync(result["edited"])
        sims.advance(GAP_SECONDS)
        _log(f"{n:,}: deepdiff baseline")
        result["baseline_deepdiff"] = bench.deepdiff_baseline()
        result["mirror_mb"] = round(sum(f.stat().st_size for f in Path(tmp).glob("bench.db*")) / 2**20, 1)
        result["peak_rss_mb"] = round(PEAK.overall, 1)
        bench.mirror.close()
    return result


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- tables


def _table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(baseline: float, engine: float) -> str:
    return f"{baseline / engine:.1f}x" if engine else ""


def runs_table(results: list[dict[str, Any]]) -> str:
    limited = any(r["rate_limits"] for r in results)
    head = ["contacts/system", "run", "wall s", "CPU s", "peak MB", "API calls (min)", "× min", "catalogue"]
    head += ["429s"]
    head += ["floor s (max/sum)", "waited s"] if limited else []
    head += ["written (create/update)", "not written"]
    rows = []
    for r in results:
        for run in RUNS:
            f = r[run]
            creates = sum(k.get("create", 0) for k in f["written"].values())
            updates = sum(k.get("update", 0) for k in f["written"].values())
            row = [f"{r['contacts_per_system']:,}", run, f["wall_s"], f["cpu_s"], f["peak_rss_mb"]]
            row += [f"{f['api_calls']:,} ({f['api_calls_minimum']:,})", f"{f['calls_over_minimum']:.2f}"]
            row += [f["catalogue_calls"], f["http_429"]]
            floor = f"{f['rate_limit_floor_s']:g}/{f['rate_limit_floor_sum_s']:g}"
            row += [floor, f["rate_limit_waited_s"]] if limited else []
            rows.append([*row, f"{creates:,}/{updates:,}", f["failed"]])
    return _table(head, rows)


def endpoints_table(results: list[dict[str, Any]]) -> str:
    """Calls by system and endpoint, per size and run (catalogue reads included)."""
    head = ["contacts/system", "system", "endpoint", *RUNS]
    rows = []
    for r in results:
        systems = sorted({s for run in RUNS for s in r[run]["calls_by_endpoint"]})
        for system in systems:
            endpoints = sorted({e for run in RUNS for e in r[run]["calls_by_endpoint"].get(system, {})})
            for endpoint in endpoints:
                counts = [r[run]["calls_by_endpoint"].get(system, {}).get(endpoint, 0) for run in RUNS]
                rows.append([f"{r['contacts_per_system']:,}", system, endpoint, *[f"{n:,}" for n in counts]])
    return _table(head, rows)


TARGET_OVER_MINIMUM = 1.05
TARGET_APOLLO_INITIAL_10K = 3000
TARGET_WALL_OVER_FLOOR = 1.1


def targets(results: list[dict[str, Any]]) -> list[str]:
    """Each target, measured: calls against the minimum, Apollo's initial calls at 10,000, and with
    rate limits the wall time against the slowest system's floor and the 429s."""
    out = []
    for r in results:
        n = r["contacts_per_system"]
        for run in RUNS:
            f = r[run]
            ratio = f["calls_over_minimum"]
            met = "met" if ratio <= TARGET_OVER_MINIMUM else "not met"
            out.append(f"{n:,} {run}: calls (less catalogue) {ratio:.2f}x the minimum, target <= "
                       f"{TARGET_OVER_MINIMUM}: {met}")  # fmt: skip
        if n == 10_000:
            apollo = sum(r["initial"]["calls_by_endpoint"].get("apollo", {}).values())
            met = "met" if apollo <= TARGET_APOLLO_INITIAL_10K else "not met"
            target = f"target <= {TARGET_APOLLO_INITIAL_10K:,}"
            out.append(f"{n:,} initial: Apollo {apollo:,} calls, {target}: {met}")
        if r["rate_limits"]:
            f = r["initial"]
            floor = f["rate_limit_floor_s"]
            ratio = f["wall_s"] / floor if floor else float("inf")
            met = "met" if ratio <= TARGET_WALL_OVER_FLOOR and f["http_429"] == 0 else "not met"
            out.append(f"{n:,} initial with rate limits: wall {f['wall_s']:.0f} s = {ratio:.2f}x the slowest "
                       f"system's floor ({floor:g} s), {f['http_429']} x 429; target <= "
                       f"{TARGET_WALL_OVER_FLOOR}x and 0: {met}")  # fmt: skip
    return out


def phases_table(results: list[dict[str, Any]]) -> str:
    head = ["contacts/system", "run", "phase", "wall s", "CPU s", "peak MB", "API calls (min)", "429s"]
    rows = []
    for r in results:
        for run in ("initial", "steady"):
            for phase in SHOWN_PHASES:
                p = r[run]["phases"][phase]
                calls = f"{p['api_calls']:,} ({p['api_calls_minimum']:,})"
                rows.append([f"{r['contacts_per_system']:,}", run, phase, p["wall_s"], p["cpu_s"]])
                rows[-1] += [p["peak_rss_mb"], calls, p["http_429"]]
    return _table(head, rows)


def baselines_table(results: list[dict[str, Any]]) -> str:
    head = ["contacts/system", "comparison", "baseline wall s", "baseline CPU s", "baseline peak MB"]
    head += ["baseline calls", "engine wall s", "engine CPU s", "engine peak MB", "engine calls"]
    head += ["wall ratio", "CPU ratio"]
    rows = []
    for r in results:
        steady, pull = r["steady"], r["initial"]["phases"]["pull"]
        pairs = [("(a) deepdiff of a full pull vs steady sync", r["baseline_deepdiff"], steady)]
        pairs.append(("(b) dlt rest_api to SQLite vs engine full pull", r["baseline_dlt"], pull))
        for name, base, engine in pairs:
            if "skipped" in base:
                rows.append([f"{r['contacts_per_system']:,}", name, f"skipped: {base['skipped']}"])
                continue
            row = [f"{r['contacts_per_system']:,}", name, base["wall_s"], base["cpu_s"], base["peak_rss_mb"]]
            row += [f"{base['api_calls']:,}", engine["wall_s"], engine["cpu_s"], engine["peak_rss_mb"]]
            row += [f"{engine['api_calls']:,}"]
            rows.append(
                [*row, _ratio(base["wall_s"], engine["wall_s"]), _ratio(base["cpu_s"], engine["cpu_s"])]
            )
    return _table(head, rows)


def notes(results: list[dict[str, Any]]) -> list[str]:
    """What a reader of the tables should know: data that differ, runs that did not succeed."""
    out = []
    for r in results:
        n = f"{r['contacts_per_system']:,}"
        out.append(f"{n}: the engine's process held {r['rss_at_start_mb']} MB before the first sync")
        for run in RUNS:
            if r[run]["status"] != "succeeded":
                why = "; ".join(
                    f"{count}x {error[:140]}" for error, count in list(r[run]["errors"].items())[:2]
                )
                out.append(f"{n}: the {run} sync ended {r[run]['status']!r}: {why}")
        dlt_mb = r["baseline_dlt"].get("db_mb")
        dlt_size = f" (dlt's SQLite after its load: {dlt_mb} MB)" if dlt_mb is not None else ""
        out.append(f"{n}: the engine's state database after all runs: {r['mirror_mb']} MB{dlt_size}")
        dlt = r["baseline_dlt"].get("contacts")
        if dlt and dlt != r["records"]:
            out.append(f"{n}: dlt loaded {dlt} contacts where the systems hold {r['records']}")
        if r["rate_limits"]:
            floors = r["initial"]["rate_limit_floor_by_system_s"]
            out.append(f"{n}: initial sync floor by system (s): {floors}")
    return out


# --------------------------------------------------------------------------- main


def code_state() -> dict[str, Any]:
    """Which engine code was measured: the commit, and the files under syncengine/ changed since."""

    def git(*args: str) -> str:
        # --no-optional-locks: a read that never rewrites the index under someone else's feet.
        done = subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout

    changed = [line[3:] for line in git("status", "--porcelain", "syncengine").splitlines()]
    # Tells two measurements of the same commit apart while someone is editing the engine.
    digest = hashlib.sha1(git("diff", "HEAD", "--", "syncengine").encode())
    for name in sorted(changed):
        if (ROOT / name).is_file():
            digest.update((ROOT / name).read_bytes())
    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "uncommitted_in_syncengine": changed,
        "uncommitted_sha1": digest.hexdigest() if changed else None,
        "at": datetime.now(UTC).isoformat(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="contacts per system, comma-separated")
    parser.add_argument("--rate-limits", action="store_true", help="simulators enforce the documented limits")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a single size, in this process
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_size(args.one, args.rate_limits, args.seed)))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    code = code_state()  # before the runs: each size's process imports the engine as it is then
    results = []
    for n in sizes:
        # A fresh process per size: its peak memory is that size's alone.
        command = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)]
        command += ["--rate-limits"] if args.rate_limits else []
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = "sync_bench_" + "-".join(str(n) for n in sizes) + ("_ratelimited" if args.rate_limits else "")
    path = out / f"{name}.json"
    after = code_state()
    if {**after, "at": None} != {**code, "at": None}:
        print(
            "note: syncengine changed while the benchmark ran (see code_after in the JSON)", file=sys.stderr
        )
    path.write_text(json.dumps({"code": code, "code_after": after, "results": results}, indent=2))
    print("Runs\n\n" + runs_table(results))
    print("\nPhases\n\n" + phases_table(results))
    print("\nBaselines\n\n" + baselines_table(results))
    print("\nCalls by endpoint\n\n" + endpoints_table(results))
    print("\nTargets\n")
    for line in targets(results):
        print(f"- {line}")
    for note in notes(results):
        print(f"\n- {note}", end="")
    print(f"\n\nJSON: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
