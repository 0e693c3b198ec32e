"""Many pairings on `syncengine worker`: throughput with 1, 2 and 4 worker processes, and a worker
killed mid-job.

    python3 bench/worker_bench.py --pairings 50 --contacts 1000 --workers 1,2,4
    python3 bench/worker_bench.py --pairings 12 --contacts 200 --workers 1,2,4 --kill

Each pairing has its own simulators (Apollo, LeadConnector and CorporateMerch, one location and
team each: a simulator serves one account), seeded with ``--contacts`` sample people
(``tests/oracle.py``'s ``seed_people``: Apollo and LeadConnector hold about that many, half of the
people in more than one system, CorporateMerch a fifth). The simulators run in processes of their
own (``--sim-hosts``), without rate limits, and the engine's client budget is off
(``SYNCENGINE_CLIENT_BUDGET=off``): the figures are the engine's and the queue's, not the vendors'
limits.

Per worker count W, from scratch (fresh simulators, states and queue schema): one sync of every
pairing is queued, W ``syncengine worker --until-idle`` processes are started together, and the
round ends when all have exited. Figures:

* pairings/min: pairings synced per minute of wall time, first worker start to last worker exit;
* CPU s per worker: user + system time of each worker process (``wait4``), and their sum;
* job s (p50/max): each job's span in the job runs table;
* overlaps: pairs of runs of one pairing whose spans cross (the lock per pairing must keep it 0);
* audit: ``oracle.audit`` of every pairing (duplicates, records nobody explains, people missing
  where the rules place them with nothing in the state saying why, names or emails that disagree;
  all must be 0), taken after one more, untimed sync of every pairing, as the engine's kill tests
  converge before they audit. The JSON also holds the audit right after the timed sync.

With ``--kill``: two workers (``stalled_after = 3``) take the queued syncs; once a job has run for
``--kill-after`` seconds (default: 60% of the median job of the first round, when its writes are
under way), its worker is SIGKILLed and a third worker is started. The run ends when every pairing
has a finished run. It reports the killed job, the run that took it up again (the same job id) and
the same overlap and audit checks, with the killed job's span ending at the kill. Creates the kill
may have cut off stay owed (the engine sends none again for twice the client's read timeout, 60 s,
in case it landed), so the settling sync of this round starts 62 s after the kill; the creates
still owed right after the retried job and at the end are counted.

Prints the tables; writes JSON to bench/results/worker_bench_<pairings>x<contacts>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
# A create whose answer a kill may have cut off is not sent again for twice the client's read
# timeout (30 s): the settling sync of the kill round starts after that.
LOST_CREATE_WAIT = 62.0


# ------------------------------------------------------------------ simulator hosts


def sim_host(first: int, count: int, contacts: int) -> None:
    """Serve pairings first..first+count-1; print their settings; answer `audit NAME STATE_DB`."""
    import oracle

    from syncengine.mirror import Mirror
    from syncengine.rules import load_rules
    from syncengine.sim import drive
    from syncengine.sim.runner import SimCluster

    worlds: dict[str, tuple[Any, Any]] = {}
    settings: dict[str, dict[str, str]] = {}
    for i in range(first, first + count):
        cluster = SimCluster(
            rate_limits=False, env={}, seed=i,
            credentials={"LEADCONNECTOR_LOCATION_ID": f"SimLocation{i:09d}"},
        ).start()  # fmt: skip
        drive.seed_catalogues(cluster)
        truth = oracle.seed_people(cluster, contacts, seed=i + 1)
        worlds[f"p{i}"] = (cluster, truth)
        settings[f"p{i}"] = cluster.environment()
    print(json.dumps(settings), flush=True)
    rules = load_rules()
    for line in sys.stdin:
        words = line.split()
        if words[0] == "audit":
            cluster, truth = worlds[words[1]]
            with Mirror.open(Path(words[2])) as mirror:
                findings = oracle.audit(cluster, truth, rules, mirror)
            print(json.dumps({**findings.summary(), "problems": findings.problems}), flush=True)
        elif words[0] == "cpu":
            usage = os.times()
            print(json.dumps(usage.user + usage.system), flush=True)
    for cluster, _ in worlds.values():
        cluster.stop()


class SimHosts:
    def __init__(self, pairings: int, contacts: int, hosts: int) -> None:
        per = -(-pairings // hosts)
        self.procs = []
        for first in range(0, pairings, per):
            self.procs.append(subprocess.Popen(
                [sys.executable, __file__, "--sim-host", str(first), str(min(per, pairings - first)),
                 str(contacts)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            ))  # fmt: skip
        self.settings: dict[str, dict[str, str]] = {}
        self.host_of: dict[str, subprocess.Popen[str]] = {}
        for proc in self.procs:
            assert proc.stdout is not None
            got = json.loads(proc.stdout.readline())
            self.settings.update(got)
            self.host_of.update(dict.fromkeys(got, proc))

    def _ask(self, proc: subprocess.Popen[str], line: str) -> Any:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    def audit(self, name: str, state: Path) -> dict[str, Any]:
        return dict(self._ask(self.host_of[name], f"audit {name} {state}"))

    def cpu(self) -> float:
        return sum(float(self._ask(p, "cpu")) for p in self.procs)

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            proc.wait(timeout=120)


# ------------------------------------------------------------------ one round


def pairings_file(
    path: Path, url: str, settings: dict[str, dict[str, str]], stalled_after: int
) -> dict[str, str]:
    """Write the pairings file; return the credentials it names."""
    lines = ["[worker]", f'database = "{url}"', 'state = "state"', 'schedule = "0 0 1 1 *"',
             f"stalled_after = {stalled_after}"]  # fmt: skip
    secrets = {}
    for name, env in settings.items():
        up = name.upper()
        lines += [
            f"[pairings.{name}.apollo]",
            f'api_key_env = "{up}_APOLLO_KEY"',
            f'base_url = "{env["APOLLO_BASE_URL"]}"',
            f"[pairings.{name}.leadconnector]",
            f'token_env = "{up}_LC_TOKEN"',
            f'location_id = "{env["LEADCONNECTOR_LOCATION_ID"]}"',
            f'base_url = "{env["LEADCONNECTOR_BASE_URL"]}"',
            f"[pairings.{name}.corporatemerch]",
            f'token_env = "{up}_CM_TOKEN"',
            f'base_url = "{env["CORPORATEMERCH_BASE_URL"]}"',
        ]
        secrets[f"{up}_APOLLO_KEY"] = env["APOLLO_API_KEY"]
        secrets[f"{up}_LC_TOKEN"] = env["LEADCONNECTOR_TOKEN"]
        secrets[f"{up}_CM_TOKEN"] = env["CORPORATEMERCH_TOKEN"]
    path.write_text("\n".join(lines) + "\n")
    return secrets


@dataclass
class Worker:
    proc: subprocess.Popen[str]
    started: float
    cpu: float | None = None
    ended: float | None = None

    def reap(self) -> bool:
        """Collect the process if it has exited (its CPU time from wait4)."""
        if self.cpu is not None:
            return True
        pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu, self.ended = usage.ru_utime + usage.ru_stime, time.monotonic()
        return True


class Round:
    """Simulators, a queue schema and a pairings file, fresh for one round."""

    def __init__(self, args: argparse.Namespace, tmp: Path, stalled_after: int = 30) -> None:
        import psycopg

        from syncengine.worker import queue

        self.tmp = tmp
        self.admin_url = args.database
        self.schema = f"worker_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema}")
        self.url = (
            f"{self.admin_url}{'&' if '?' in self.admin_url else '?'}options=-csearch_path%3D{self.schema}"
        )
        queue.prepare(self.url)
        self.hosts = SimHosts(args.pairings, args.contacts, args.sim_hosts)
        self.file = tmp / "pairings.toml"
        secrets = pairings_file(self.file, self.url, self.hosts.settings, stalled_after)
        engine_variables = ("APOLLO_", "LEADCONNECTOR_", "CORPORATEMERCH_")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(engine_variables)}
        self.env.update(secrets, SYNCENGINE_CLIENT_BUDGET="off", PYTHONPATH=str(ROOT))
        self.names = sorted(self.hosts.settings, key=lambda n: int(n[1:]))
        self.killed: dict[int, datetime] = {}  # pid -> when it was killed

    def enqueue(self) -> None:
        from syncengine.pairings import load_pairings
        from syncengine.worker import queue, tasks

        app = queue.new_app(self.url)
        tasks.register(app, load_pairings(self.file, self.env), periodic=False)
        with app.open():
            tasks.defer_sync(app, self.names)

    def worker(self, *args: str) -> Worker:
        log = (self.tmp / f"worker-{time.monotonic_ns()}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncengine", "worker", "--pairings", str(self.file), *args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=self.tmp,
        )  # fmt: skip
        return Worker(proc, time.monotonic())

    def settle(self) -> None:
        """One more sync of every pairing, untimed: what the first left to a later run is done."""
        self.enqueue()
        procs = [self.worker("--until-idle") for _ in range(2)]
        while not all(w.reap() for w in procs):
            time.sleep(0.2)

    def runs(self) -> list[Any]:
        from syncengine.worker import job_runs

        return job_runs.all_runs(self.url)

    def audit(self) -> dict[str, Any]:
        totals: dict[str, int] = {}
        examples: list[str] = []
        for name in self.names:
            found = self.hosts.audit(name, self.tmp / "state" / name / "syncengine.db")
            examples += [f"{name}: {e}" for e in found.pop("problems")]
            for key, value in found.items():
                totals[key] = totals.get(key, 0) + int(value)
        return {**totals, "problems": examples}

    def close(self) -> None:
        import psycopg

        self.hosts.close()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


def settled(rnd: Round, after: datetime | None = None) -> dict[str, Any]:
    """The oracle's audit after one more sync of every pairing (started no sooner than ``after``),
    as the engine's kill tests converge before they audit; the overlaps of those syncs too."""
    from syncengine.worker import job_runs

    if after is not None:
        time.sleep(max((after - datetime.now(UTC)).total_seconds(), 0))
    rnd.settle()
    return {**rnd.audit(), "overlaps_with_settle": len(job_runs.overlaps(rnd.runs(), rnd.killed))}


def owed_creates(rnd: Round) -> int:
    """Creates in the pairings' outboxes still waiting to be confirmed (sent or not)."""
    from syncengine.mirror import Mirror

    total = 0
    for name in rnd.names:
        with Mirror.open(rnd.tmp / "state" / name / "syncengine.db") as mirror:
            total += sum(1 for op in mirror.pending() if op.kind == "create")
    return total


def without_ids(problem: str) -> str:
    return re.sub(r"\[[^\]]*\]", "[...]", problem)


def spans(runs: list[Any]) -> list[float]:
    return sorted((r.finished_at - r.started_at).total_seconds() for r in runs if r.finished_at)


def throughput_round(args: argparse.Namespace, workers: int, tmp: Path) -> dict[str, Any]:
    from syncengine.worker import job_runs

    tmp.mkdir(parents=True)
    rnd = Round(args, tmp)
    try:
        rnd.enqueue()
        sim_cpu_before = rnd.hosts.cpu()
        started = time.monotonic()
        procs = [rnd.worker("--until-idle") for _ in range(workers)]
        while not all(w.reap() for w in procs):
            time.sleep(0.2)
        wall = max(w.ended or 0 for w in procs) - started
        sim_cpu = rnd.hosts.cpu() - sim_cpu_before
        runs = rnd.runs()
        durations = spans(runs)
        return {
            "workers": workers,
            "pairings": len(rnd.names),
            "contacts": args.contacts,
            "wall_s": round(wall, 2),
            "pairings_per_min": round(len({r.pairing for r in runs if r.finished_at}) / wall * 60, 2),
            "cpu_s_per_worker": [round(w.cpu or 0, 2) for w in procs],
            "cpu_s_total": round(sum(w.cpu or 0 for w in procs), 2),
            "simulators_cpu_s": round(sim_cpu, 2),
            "exit_codes": [w.proc.returncode for w in procs],
            "jobs": len(runs),
            "statuses": {s: sum(1 for r in runs if r.status == s) for s in {r.status for r in runs}},
            "job_s_p50": round(statistics.median(durations), 2) if durations else None,
            "job_s_max": round(max(durations), 2) if durations else None,
            "overlaps": len(job_runs.overlaps(runs)),
            "audit_after_one_sync": rnd.audit(),
            "audit": settled(rnd),
        }
    finally:
        rnd.close()


def kill_round(args: argparse.Namespace, tmp: Path, kill_after: float) -> dict[str, Any]:
    from syncengine.worker import job_runs

    tmp.mkdir(parents=True)
    rnd = Round(args, tmp, stalled_after=3)
    try:
        rnd.enqueue()
        started = time.monotonic()
        first = [rnd.worker(), rnd.worker()]
        victim = None
        while victim is None:
            now = datetime.now(UTC)
            open_runs = [r for r in rnd.runs() if r.finished_at is None]
            running = [r for r in open_runs if (now - r.started_at).total_seconds() > kill_after]
            victim = running[0] if running else None
            time.sleep(0.1)
        doomed = next(w for w in first if w.proc.pid == victim.pid)
        doomed.proc.send_signal(signal.SIGKILL)
        killed_at = datetime.now(UTC)
        rnd.killed[victim.pid] = killed_at
        while not doomed.reap():
            time.sleep(0.05)
        rescuer = rnd.worker()
        alive = [w for w in first if w is not doomed] + [rescuer]
        while len({r.pairing for r in rnd.runs() if r.finished_at}) < len(rnd.names):
            time.sleep(0.3)
        wall = time.monotonic() - started
        for w in alive:
            w.proc.send_signal(signal.SIGTERM)
        while not all(w.reap() for w in alive):
            time.sleep(0.2)
        runs = rnd.runs()
        again = [r for r in runs if r.job_id == victim.job_id and r.id != victim.id]
        recovered_after = (again[0].started_at - killed_at).total_seconds() if again else None
        return {
            "pairings": len(rnd.names),
            "contacts": args.contacts,
            "wall_s": round(wall, 2),
            "kill_after_s": round(kill_after, 2),
            "killed": {"pairing": victim.pairing, "job_id": victim.job_id, "pid": victim.pid,
                       "ran_s_before_kill": round((killed_at - victim.started_at).total_seconds(), 2)},
            "run_again": [{"worker_pid": r.pid, "status": r.status, "detail": r.detail} for r in again],
            "recovered_after_s": round(recovered_after, 2) if recovered_after is not None else None,
            "jobs": len(runs),
            "unfinished_runs": sum(1 for r in runs if r.finished_at is None),
            "overlaps": len(job_runs.overlaps(runs, {victim.pid: killed_at})),
            "exit_codes": [w.proc.returncode for w in alive],
            "audit_after_one_sync": rnd.audit(),
            "owed_creates_after_one_sync": owed_creates(rnd),
            "audit": settled(rnd, after=killed_at + timedelta(seconds=LOST_CREATE_WAIT)),
            "owed_creates_at_the_end": owed_creates(rnd),
        }  # fmt: skip
    finally:
        rnd.close()


# ------------------------------------------------------------------ report


def table(rounds: list[dict[str, Any]]) -> str:
    head = (
        "| workers | pairings × contacts | wall s | pairings/min | CPU s per worker "
        "| CPU s workers (simulators) | job s p50/max | jobs (statuses) | overlaps "
        "| audit dup/unexpl/missing/disagree |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rounds:
        a = r["audit"]
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items(), key=str))
        lines.append(
            f"| {r['workers']} | {r['pairings']} × {r['contacts']:,} | {r['wall_s']} "
            f"| {r['pairings_per_min']} | {', '.join(str(c) for c in r['cpu_s_per_worker'])} "
            f"| {r['cpu_s_total']} ({r['simulators_cpu_s']}) | "
            f"{r['job_s_p50']}/{r['job_s_max']} | {r['jobs']} ({statuses}) | {r['overlaps']} | "
            f"{a['duplicates']}/{a['unexplained']}/{a['missing']}/{a['disagreeing']} |"
        )  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--sim-host":
        sim_host(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairings", type=int, default=50)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--sim-hosts", type=int, default=2, help="processes serving the simulators")
    parser.add_argument("--kill", action="store_true", help="also kill a worker mid-job")
    parser.add_argument("--kill-after", type=float, default=None, help="seconds into a job before the kill")
    parser.add_argument(
        "--database", default=os.environ.get("SYNCENGINE_TEST_DATABASE_URL") or DEFAULT_DATABASE
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where states and logs go (default: a temp dir)"
    )
    args = parser.parse_args()
    import tempfile

    base = args.work_dir or Path(tempfile.mkdtemp(prefix="worker_bench_"))
    rounds = []
    for count in (int(w) for w in args.workers.split(",") if w.strip()):
        rounds.append(throughput_round(args, count, base / f"workers-{count}"))
        print(table(rounds[-1:]), flush=True)
    kill_after = args.kill_after or (
        0.6 * rounds[0]["job_s_p50"] if rounds and rounds[0]["job_s_p50"] else 1.0
    )
    killed = kill_round(args, base / "kill", kill_after) if args.kill else None
    if killed and rounds:
        # The same seeds make the same people in every round: what the kill round finds beyond what
        # a round without kills finds is the kill's doing.
        # Records created in a round get ids of their own: findings are compared without them.
        unkilled = {without_ids(p) for p in rounds[0]["audit"]["problems"]}
        beyond = {without_ids(p) for p in killed["audit"]["problems"]} - unkilled
        killed["problems_beyond_unkilled_round"] = sorted(beyond)
    print()
    print(table(rounds))
    if killed:
        print()
        print(json.dumps(killed, indent=2))
    out = ROOT / "bench" / "results" / f"worker_bench_{args.pairings}x{args.contacts}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    out.write_text(json.dumps({
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit.stdout.strip(),
        "cpus": os.cpu_count(), "rounds": rounds, "kill": killed,
    }, indent=2))  # fmt: skip
    print(f"\nJSON written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
