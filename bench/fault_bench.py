"""Fault scenarios at scale: how many faults, kills and bad inputs the engine met, and what it lost.

    python3 bench/fault_bench.py --contacts 100 --kills 30 --bad 200   # table; JSON in bench/results/

The three simulators run in this process with ``--contacts`` sample people (half of them in two
or three systems). Three scenarios, each ending in counts of what went wrong:

* faults: for each kind (5xx, timeouts, dropped connections before and after the server acted,
  a 429 burst, all of them at once) and phase (the initial sync; a steady-state sync after a clean
  one, with ``--edit-share`` of every system's contacts edited in its UI), syncs run back to back
  under the fault (the engine's client tries each request twice and waits ``--read-timeout`` s
  for an answer, so faults reach the runs), then one clean sync settles;
* kills: the engine in its own process is killed (SIGKILL) a random number of settled writes into
  its push (plus 0-40 ms, each request taking 10 ms), restarted, ``--kills`` times in all over the
  initial push and a steady-state push, then run to the end;
* bad input: ``--bad`` contacts in Apollo (which keeps whatever it is given) with one malformed or
  awkward value each (email, phone, country, a date field, over-long or non-Latin text, a blank),
  among the sample people; one sync, then a second one.

Figures: faults injected by kind (the simulators' ``/__admin/counters``); runs until settled; kills
survived; duplicates (an email held by two contacts of one system, or a person the oracle finds
twice in one system); forgotten (people ``tests/oracle.py`` finds missing where the create rules
place them, with nothing in the state saying why: a forgotten create writes nothing, so only the
simulators' own data and the rules can show it); lost updates (a system's
field whose end value differs from a fault-free run of the same people and edits); outbox ops left
unfinished; base mismatches (a linked system holding another value than the base, beyond values a
person cleared); and for bad input how each contact ended: reported by system, record and field;
copied (the value was readable and reached LeadConnector); refused by another system and reported;
or dropped without a report. Timeout faults run back to back here, unlike in the tests: a create
the server applies after the client gave up can then land after the next run's pull.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))  # the oracle the tests judge by, so both judge alike

import oracle  # noqa: E402

from syncengine.canonical import is_blank, same  # noqa: E402
from syncengine.connectors.base import RemoteRecord  # noqa: E402
from syncengine.connectors.http import HttpClient, HttpOptions, RetryPolicy  # noqa: E402
from syncengine.connectors.ratelimit import LimitSpec, ManualClock, RateLimiter  # noqa: E402
from syncengine.connectors.registry import connector_class  # noqa: E402
from syncengine.connectors.settings import load_settings  # noqa: E402
from syncengine.mirror import Mirror  # noqa: E402
from syncengine.rules import Rules, load_rules  # noqa: E402
from syncengine.sim import drive  # noqa: E402
from syncengine.sim.runner import SimCluster  # noqa: E402
from syncengine.sim.sampledata import APOLLO_SINCE_FIELD, SYSTEMS  # noqa: E402
from syncengine.sync import Engine, RunReport  # noqa: E402

# A held request is applied 0.45 s after it arrived: past the client's 0.3 s read timeout (the
# client gives up) and within twice that (how long the engine awaits a create whose answer was lost).
FAULT_KINDS: dict[str, dict[str, Any]] = {
    "5xx": {"error_rate": 0.15, "seed": 3},
    "timeouts": {"timeout_rate": 0.1, "timeout_seconds": 0.45, "seed": 4},
    "dropped": {"drop_rate": 0.1, "drop_after_rate": 0.1, "seed": 5},
    "429-burst": {"burst_429": 3},
    "mixed": {
        "error_rate": 0.1, "timeout_rate": 0.05, "timeout_seconds": 0.45, "drop_rate": 0.05,
        "drop_after_rate": 0.05, "burst_429": 5, "seed": 21,
    },
}  # fmt: skip
PHASES = ("initial", "steady")
KILL_READ_TIMEOUT = 0.5  # seconds; the killed engine's client gives up on an answer after this

# The engine in its own process for the kills: "push SYSTEM DONE TOTAL" per settled write, then
# "done STATUS CONFIRMED FAILED".
ENGINE_SCRIPT = """
import sys
from syncengine.connectors.http import HttpOptions, RetryPolicy
from syncengine.connectors.registry import build_connectors
from syncengine.connectors.settings import load_settings
from syncengine.mirror import Mirror
from syncengine.rules import load_rules
from syncengine.sync import Engine

def progress(phase, system, done, total=None):
    if phase == "push":
        print("push", system, done, total, flush=True)

mirror = Mirror.open(sys.argv[1])
# A short read timeout: a create whose answer a kill cut off is awaited for twice that long.
connectors = build_connectors(
    load_settings(), retry=RetryPolicy.without_backoff(), proactive_limits=False,
    http=HttpOptions(read_timeout=float(sys.argv[2])),
)
report = Engine(mirror, connectors, load_rules(), progress=progress).run()
push = report.push
print("done", report.status, len(push.confirmed) if push else 0, len(push.failed) if push else 0, flush=True)
"""

Snapshot = dict[str, dict[str, dict[str, Any]]]


# --------------------------------------------------------------------------- the engine in this process


class Bench:
    """The simulators, the rules, a scratch directory, and the fault-free end states met so far."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.rules: Rules = load_rules()
        self.cluster = SimCluster(rate_limits=False, env={}, seed=5)
        self.fault_free: dict[str, Snapshot] = {}
        self._dbs = 0

    def mirror(self) -> Mirror:
        self._dbs += 1
        return Mirror.open(self.tmp / f"state{self._dbs}.db")

    def engine(self, mirror: Mirror, *, attempts: int = 4, read_timeout: float | None = None) -> Engine:
        """Connectors without a client-side budget; rate-limit waits pass on a manual clock."""
        settings = load_settings(self.cluster.environment())
        connectors = {}
        for system in settings.configured:
            client = HttpClient(
                settings.system(system),
                limiter=RateLimiter(system, LimitSpec(windows=()), clock=ManualClock()),
                retry=RetryPolicy.without_backoff(attempts),
                options=HttpOptions(read_timeout=read_timeout) if read_timeout else None,
            )
            connectors[system] = connector_class(system)(settings.system(system), client=client)
        return Engine(mirror, connectors, self.rules)

    def sync(self, mirror: Mirror, **client: Any) -> RunReport:
        engine = self.engine(mirror, **client)
        try:
            return engine.run()
        finally:
            for connector in engine.connectors.values():
                connector.close()

    def settle(self, mirror: Mirror, runs: int, **client: Any) -> int:
        """Sync until a run writes nothing, pulls every system and fails only on records a system
        refuses every time (a named field); returns the runs made."""
        for made in range(1, runs + 1):
            report = self.sync(mirror, **client)
            quiet = report.push is not None and not report.push.confirmed and not report.pull_errors
            quiet = quiet and not mirror.pending()  # no create whose answer was lost still awaited
            if quiet and all(p.field for p in mirror.record_errors(run_id=report.run_id)):
                return made
            if mirror.pending() and client.get("read_timeout"):
                time.sleep(2 * client["read_timeout"])  # such a create may land until then
        return runs

    def holdings(self) -> dict[str, dict[str, dict[str, Any]]]:
        """What each system holds in canonical terms, by remote id."""
        engine = self.engine(self.mirror())
        out: dict[str, dict[str, dict[str, Any]]] = {}
        try:
            for system, connector in engine.connectors.items():
                connector.load_catalogue()
                out[system] = {
                    r.remote_id: dict(connector.to_canonical(r).values)
                    for r in connector.pull(None, full=True)
                }
        finally:
            for connector in engine.connectors.values():
                connector.close()
            engine.mirror.close()
        return out

    def snapshot(self) -> Snapshot:
        """What each system holds, by lower-cased email (ids differ between runs of a scenario)."""
        return {
            system: {str(v.get("email") or "").lower(): v for v in records.values()}
            for system, records in self.holdings().items()
        }

    def canonical(self, system: str, raw: Any, remote_id: str) -> Any:
        engine = self.engine(self.mirror())
        try:
            connector = engine.connectors[system]
            connector.load_catalogue()
            return connector.to_canonical(RemoteRecord(system, remote_id, raw, None))
        finally:
            for connector in engine.connectors.values():
                connector.close()
            engine.mirror.close()

    # ------------------------------------------------------------------ end-state checks

    def base_mismatches(self, mirror: Mirror) -> int:
        held = self.holdings()
        engine = self.engine(mirror)
        holds = {s: c.fields for s, c in engine.connectors.items()}
        for connector in engine.connectors.values():
            connector.close()
        links = mirror.all_links()
        bases = mirror.get_base(sorted(links))
        open_fields = {(c.entity_id, c.field) for c in mirror.conflicts(status="open")}
        count = 0
        for entity_id, members in links.items():
            for system, remote_id in members.items():
                values = held.get(system, {}).get(remote_id)
                if values is None:
                    count += 1
                    continue
                for name, value in bases[entity_id].items():
                    kept = is_blank(values.get(name)) and not self.rules.field(name).allow_blank
                    if kept or name not in holds[system] or (entity_id, name) in open_fields:
                        continue
                    count += not same(name, value, values.get(name))
        return count

    def fault_free_state(self, phase: str) -> Snapshot:
        if phase not in self.fault_free:
            drive.reset(self.cluster)
            drive.seed_people(self.cluster, self.args.contacts, seed=self.args.seed)
            mirror = self.mirror()
            self.settle(mirror, 6)
            if phase == "steady":
                drive.apply_edits(
                    self.cluster, drive.ui_edits(self.cluster, self.args.edit_share, seed=self.args.seed)
                )
                self.settle(mirror, 6)
            mirror.close()
            self.fault_free[phase] = self.snapshot()
        return self.fault_free[phase]


def lost_updates(expected: Snapshot, actual: Snapshot) -> list[tuple[str, str, str]]:
    """(system, email, field) of every value that differs from the fault-free end state."""
    out = []
    for system in SYSTEMS:
        want, got = expected.get(system, {}), actual.get(system, {})
        for email in set(want) | set(got):
            a, b = want.get(email) or {}, got.get(email) or {}
            if email not in want or email not in got:
                out.append((system, email, "<contact>"))
                continue
            out.extend((system, email, f) for f in set(a) | set(b) if a.get(f) != b.get(f))
    return sorted(out)


def duplicates(cluster: SimCluster, seeded: dict[str, list[str]] | None = None) -> int:
    """Emails held twice in a system, beyond those the seeded input already held twice."""
    seeded = seeded or {}
    doubled = drive.duplicated_emails(cluster)
    return sum(len(set(emails) - set(seeded.get(system, ()))) for system, emails in doubled.items())


# --------------------------------------------------------------------------- scenario 1: faults


def audit(bench: Bench, truth: oracle.Truth, mirror: Mirror) -> dict[str, Any]:
    """The oracle's findings, as row fields."""
    findings = oracle.audit(bench.cluster, truth, bench.rules, mirror)
    return {
        "forgotten": len(findings.missing),
        "oracle": findings.summary(),
        "oracle_examples": findings.problems[:5],
    }


def faults_scenario(bench: Bench, kind: str, phase: str) -> dict[str, Any]:
    args = bench.args
    expected = bench.fault_free_state(phase)
    drive.reset(bench.cluster)
    truth = oracle.seed_people(bench.cluster, args.contacts, seed=args.seed)
    mirror = bench.mirror()
    if phase == "steady":
        bench.settle(mirror, 6)
        drive.apply_edits(bench.cluster, drive.ui_edits(bench.cluster, args.edit_share, seed=args.seed))
    started = time.perf_counter()
    drive.set_faults(bench.cluster, **FAULT_KINDS[kind])
    runs = bench.settle(mirror, args.runs, attempts=2, read_timeout=args.read_timeout)
    injected = drive.faults_injected(bench.cluster)
    drive.set_faults(bench.cluster, **drive.NO_FAULTS)
    final = bench.sync(mirror)
    lost = lost_updates(expected, bench.snapshot())
    row = {
        "scenario": f"faults {phase} {kind}",
        "faults_injected": injected,
        "runs": runs,
        "final_run_writes": len(final.push.confirmed) if final.push else 0,
        "kills": 0,
        "bad_inputs": 0,
        "duplicates": duplicates(bench.cluster),
        "lost_updates": len(lost),
        "lost_examples": lost[:5],
        "lost_fields": dict(Counter(f for _, _, f in lost)),
        "outbox_left": len(mirror.pending()),
        "base_mismatches": bench.base_mismatches(mirror),
        **audit(bench, truth, mirror),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    mirror.close()
    return row


# --------------------------------------------------------------------------- scenario 2: kills


def run_engine(bench: Bench, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", ENGINE_SCRIPT, str(state), str(KILL_READ_TIMEOUT)],
        env={**os.environ, **bench.cluster.environment()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe: a full stderr pipe nobody reads would block the engine
        text=True,
    )


def kill_during_pushes(bench: Bench, state: Path, kills: int, rng: random.Random) -> int:
    """Kill the engine ``kills`` times mid-push (fewer when it finishes first); returns the kills."""
    done = 0
    drive.set_faults(bench.cluster, latency_ms=10)
    try:
        while done < kills:
            proc = run_engine(bench, state)
            assert proc.stdout is not None
            kill_after, seen = rng.randint(1, 8), 0
            for line in proc.stdout:
                seen += line.startswith("push ")
                if seen >= kill_after:
                    time.sleep(rng.uniform(0, 0.04))
                    proc.send_signal(signal.SIGKILL)
                    break
            rest, _ = proc.communicate(timeout=300)
            if proc.returncode != -signal.SIGKILL:
                if proc.returncode != 0:
                    raise RuntimeError(f"the engine failed: {rest[-2000:]}")
                break
            done += 1
    finally:
        drive.set_faults(bench.cluster, **drive.NO_FAULTS)
    return done


def finish(bench: Bench, state: Path) -> int:
    """Restart the engine until a run writes nothing and leaves no op in the outbox; returns the
    runs. Each waits out the time a create whose answer a kill cut off may still land."""
    for runs in range(1, 9):
        time.sleep(2 * KILL_READ_TIMEOUT + 0.1)
        proc = run_engine(bench, state)
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"the engine failed: {out[-2000:]}")
        summary = [line for line in out.splitlines() if line.startswith("done ")][-1]
        mirror = Mirror.open(state)
        try:
            pending = mirror.pending()
        finally:
            mirror.close()
        if summary.split()[2] == "0" and not pending:  # done STATUS CONFIRMED FAILED
            return runs
    return 8


def kills_scenario(bench: Bench) -> list[dict[str, Any]]:
    args = bench.args
    rng = random.Random(args.seed)
    expected = {phase: bench.fault_free_state(phase) for phase in PHASES}
    drive.reset(bench.cluster)
    truth = oracle.seed_people(bench.cluster, args.contacts, seed=args.seed)
    state = bench.tmp / "killed.db"
    rows = []
    for phase, kills in (("initial", args.kills // 2), ("steady", args.kills - args.kills // 2)):
        started = time.perf_counter()
        if phase == "steady":
            drive.apply_edits(bench.cluster, drive.ui_edits(bench.cluster, args.edit_share, seed=args.seed))
        made = kill_during_pushes(bench, state, kills, rng)
        runs = finish(bench, state)
        mirror = Mirror.open(state)
        lost = lost_updates(expected[phase], bench.snapshot())
        rows.append(
            {
                "scenario": f"kills {phase}",
                "faults_injected": {},
                "runs": runs,
                "kills": made,
                "bad_inputs": 0,
                "duplicates": duplicates(bench.cluster),
                "lost_updates": len(lost),
                "lost_examples": lost[:5],
                "lost_fields": dict(Counter(f for _, _, f in lost)),
                "outbox_left": len(mirror.pending()),
                "base_mismatches": bench.base_mismatches(mirror),
                **audit(bench, truth, mirror),
                "wall_s": round(time.perf_counter() - started, 1),
            }
        )
        mirror.close()
    return rows


# --------------------------------------------------------------------------- scenario 3: bad input

_SCRIPTS = (
    "株式会社テスト",
    "Ελληνική Εταιρεία",
    "شركة الاختبار",
    "Тестовая компания",
    "🙂 Emoji Co",
    "Zoë Ñúñez",
)
_BAD: dict[str, tuple[Any, ...]] = {
    "email": ("not-an-email", "a@", "@b.example", "a b@c.example", "x" * 300 + "@long.example", "ünï@cøde"),
    "phone": ("12", "555", "+1 (555) 0", "call me", "+999999999999999999", "0"),
    "country": ("Narnia", "Atlantis", "U.S.S.R.", "XX", "Deutschlandd", "🇺🇳"),
    "custom": ("2024-02-30", "31/31/2020", "yesterday", "0000-00-00", "2024-13-01", "soon"),
    "last_name": ("x" * 3000, "y" * 300, *_SCRIPTS, "", "   ", None),
    "company": ("z" * 2000, *_SCRIPTS, "", None),
}
_WHERE = {
    "email": ("email",),
    "phone": ("phone_numbers", 0, "raw_number"),
    "country": ("country",),
    "custom": ("typed_custom_fields", APOLLO_SINCE_FIELD),
    "last_name": ("last_name",),
    "company": ("organization_name",),
}


def bad_contact(i: int, field: str, value: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"first_name": f"Bad{i}", "last_name": "Input", "email": f"bad{i}@bad.example"}
    if field == "phone":
        record["phone_numbers"] = [{"raw_number": value, "sanitized_number": value, "type": "work_direct"}]
    elif field == "custom":
        record["typed_custom_fields"] = {APOLLO_SINCE_FIELD: value}
    else:
        record[_WHERE[field][0]] = value
    return record


def held_at(record: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        record = record[step]
    return record


def bad_input_scenario(bench: Bench) -> dict[str, Any]:
    args = bench.args
    rng = random.Random(args.seed)
    started = time.perf_counter()
    drive.reset(bench.cluster)
    drive.seed_people(bench.cluster, args.contacts, seed=args.seed)
    apollo = bench.cluster["apollo"].sim
    good = [str(r["id"]) for r in apollo.contacts()]  # the sample people in Apollo
    tried: list[tuple[str, str, Any, Any]] = []  # (field, remote id, value, as Apollo stored it)
    refused_by_apollo = 0
    for i in range(args.bad):
        field = rng.choice(sorted(_BAD))
        value = rng.choice(_BAD[field])
        try:
            [stored] = apollo.seed_contacts([bad_contact(i, field, value)])
        except ValueError:
            refused_by_apollo += 1
            continue
        tried.append((field, str(stored["id"]), value, held_at(stored, _WHERE[field])))
    seeded = drive.duplicated_emails(bench.cluster)  # bad contacts may share a bad email
    mirror = bench.mirror()
    bench.sync(mirror)
    second = bench.sync(mirror)
    problems = mirror.record_errors()
    lc = {r["id"]: r for r in bench.cluster["leadconnector"].sim.contacts()}
    outcomes: Counter[str] = Counter()
    kept = 0
    for field, remote_id, _value, as_stored in tried:
        now = next(r for r in apollo.contacts() if str(r["id"]) == remote_id)
        record = mirror.get_record("apollo", remote_id)
        kept += (
            held_at(now, _WHERE[field]) == as_stored
            and record is not None
            and (held_at(record.raw, _WHERE[field]) == as_stored)
        )
        canonical = bench.canonical("apollo", now, remote_id)
        if field in canonical.invalid:
            named = any((p.system, p.remote_id, p.field) == ("apollo", remote_id, field) for p in problems)
            outcomes["reported by record and field" if named else "unreadable, not reported"] += 1
            continue
        entity = mirror.entity_for("apollo", remote_id)
        lc_id = mirror.links_of(entity).get("leadconnector") if entity else None
        refused = any(p.system != "apollo" and p.entity_id == entity and p.field == field for p in problems)
        if refused:
            outcomes["refused by another system, reported"] += 1
        elif lc_id in lc and same(
            field,
            canonical.values.get(field),
            bench.canonical("leadconnector", lc[lc_id], lc_id).values.get(field),
        ):
            outcomes["readable, copied"] += 1
        else:
            outcomes["dropped without a report"] += 1
    row = {
        "scenario": "bad input",
        "faults_injected": {},
        "runs": 2,
        "kills": 0,
        "bad_inputs": len(tried),
        "refused_by_apollo_itself": refused_by_apollo,
        "outcomes": dict(outcomes),
        "raw_values_kept": kept,
        # A sample person of Apollo's with no LeadConnector record linked after the sync.
        "good_contacts_missing_in_leadconnector": sum(
            "leadconnector" not in mirror.links_of(mirror.entity_for("apollo", remote_id) or "")
            for remote_id in good
        ),
        "second_run_writes": len(second.push.confirmed) if second.push else 0,
        "duplicates": duplicates(bench.cluster, seeded),
        "lost_updates": outcomes["dropped without a report"] + outcomes["unreadable, not reported"],
        "outbox_left": len(mirror.pending()),
        "base_mismatches": bench.base_mismatches(mirror),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    mirror.close()
    return row


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100, help="sample people (half in several systems)")
    parser.add_argument("--kills", type=int, default=30, help="kills in all, half initial, half steady")
    parser.add_argument("--bad", type=int, default=200, help="contacts with a bad value, in Apollo")
    parser.add_argument("--runs", type=int, default=10, help="most syncs under one fault")
    parser.add_argument("--edit-share", type=float, default=0.3, help="share of contacts edited (steady)")
    parser.add_argument(
        "--read-timeout", type=float, default=0.3, help="client read timeout under faults (s)"
    )
    parser.add_argument("--kinds", default=",".join(FAULT_KINDS), help="fault kinds to run, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fault_bench_") as scratch:
        bench = Bench(args, Path(scratch))
        with bench.cluster:
            drive.seed_catalogues(bench.cluster)
            for phase in PHASES:
                for kind in kinds:
                    rows.append(faults_scenario(bench, kind, phase))
                    print(f"  {rows[-1]['scenario']}: {rows[-1]['wall_s']} s", file=sys.stderr, flush=True)
            if args.kills:
                rows.extend(kills_scenario(bench))
                print("  kills done", file=sys.stderr, flush=True)
            if args.bad:
                rows.append(bad_input_scenario(bench))

    result = {"args": vars(args), "rows": rows}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"fault_bench_{args.contacts}.json"
    path.write_text(json.dumps(result, indent=2, default=str))

    print(f"contacts {args.contacts}, seed {args.seed}\n")
    print("| scenario | faults injected | runs | kills survived | bad inputs | duplicates | forgotten | "
          "lost updates | outbox left | base mismatches | wall s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        injected = ", ".join(f"{k} {v}" for k, v in sorted(r["faults_injected"].items())) or "-"
        print(f"| {r['scenario']} | {injected} | {r['runs']} | {r['kills']} | {r['bad_inputs']} | "
              f"{r['duplicates']} | {r.get('forgotten', '-')} | {r['lost_updates']} | {r['outbox_left']} | "
              f"{r['base_mismatches']} | {r['wall_s']} |")  # fmt: skip
    totals = {
        "faults_injected": sum(sum(r["faults_injected"].values()) for r in rows),
        "kills": sum(r["kills"] for r in rows),
        "duplicates": sum(r["duplicates"] for r in rows),
        "forgotten": sum(r.get("forgotten", 0) for r in rows),
        "lost_updates": sum(r["lost_updates"] for r in rows),
        "outbox_left": sum(r["outbox_left"] for r in rows),
    }
    result["totals"] = totals
    path.write_text(json.dumps(result, indent=2, default=str))
    print("\ntotals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    bad = next((r for r in rows if r["scenario"] == "bad input"), None)
    if bad:
        print(f"\nbad input: {bad['bad_inputs']} tried ({bad['refused_by_apollo_itself']} refused by Apollo "
              f"itself); {bad['outcomes']}; raw values kept {bad['raw_values_kept']}; good contacts missing "
              f"in LeadConnector {bad['good_contacts_missing_in_leadconnector']}; writes in the second run "
              f"{bad['second_run_writes']}")  # fmt: skip
    for r in rows:
        if r.get("lost_examples"):
            print(f"lost in {r['scenario']}: by field {r.get('lost_fields')}; e.g. {r['lost_examples']}")
        if r.get("oracle_examples"):
            print(f"oracle findings in {r['scenario']}: {r['oracle_examples']}")
    print(f"JSON: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
