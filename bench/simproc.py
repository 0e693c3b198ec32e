"""The simulators in a process of their own, so that a benchmark measures only the engine's CPU and memory.

``SimProcess`` (imported by ``sync_bench.py``) starts this file as a script. The script serves the
three simulators with deterministic sample contacts, prints one JSON line (the engine's variables
and the contacts per system), then answers one JSON line per command read from stdin:

    counts                 live contacts per system
    calls                  requests served per system: {"total", "429"}
    advance SECONDS        move every simulator's clock (time passing between two runs)
    edit SHARE SEED        edit SHARE of each system's contacts as a person in its UI would
                           (``syncengine.sim.sampledata.edits``); answers the edits per system

The edits are made here, next to the data: the engine's process never holds the simulators' copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class SimProcess:
    """A client for the script below; a context manager that stops the process on exit."""

    def __init__(self, contacts: int, *, seed: int, rate_limits: bool) -> None:
        command = [sys.executable, __file__, str(contacts), str(seed), "1" if rate_limits else "0"]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        hello = self._read()
        self.environment: dict[str, str] = hello["env"]
        self.initial_counts: dict[str, int] = hello["counts"]
        self.offset = 0.0  # seconds the simulators' clocks were moved forward

    def _read(self) -> Any:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"simulator process ended (exit code {self._process.wait()})")
        return json.loads(line)

    def _ask(self, *words: object) -> Any:
        assert self._process.stdin is not None
        self._process.stdin.write(" ".join(str(w) for w in words) + "\n")
        self._process.stdin.flush()
        return self._read()

    def counts(self) -> dict[str, int]:
        return self._ask("counts")

    def calls(self) -> dict[str, dict[str, int]]:
        return self._ask("calls")

    def advance(self, seconds: float) -> None:
        self._ask("advance", seconds)
        self.offset += seconds

    def edit(self, share: float, seed: int) -> dict[str, int]:
        return self._ask("edit", share, seed)

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=120)


# --------------------------------------------------------------------------- the simulator process


def _serve(contacts: int, seed: int, rate_limits: bool) -> None:
    from syncengine.sim.runner import SimCluster
    from syncengine.sim.sampledata import edits

    def counts() -> dict[str, int]:
        return {name: len(system.sim.contacts()) for name, system in cluster.systems.items()}

    def calls() -> dict[str, dict[str, int]]:
        out = {}
        for name, system in cluster.systems.items():
            counters = system.sim.state.journal.counters()
            out[name] = {"total": counters.get("total", 0), "429": counters.get("status:429", 0)}
        return out

    def advance(seconds: str) -> dict[str, float]:
        for system in cluster.systems.values():
            system.sim.state.clock.advance(float(seconds))
        return {"advanced": float(seconds)}

    def edit(share: str, edit_seed: str) -> dict[str, int]:
        stored = {name: system.sim.contacts() for name, system in cluster.systems.items()}
        changes = edits(stored, float(share), seed=int(edit_seed))
        for name, items in changes.items():
            for change in items:
                cluster[name].sim.ui_edit(change.contact_id, change.changes)
        return {name: len(items) for name, items in changes.items()}

    commands = {"counts": counts, "calls": calls, "advance": advance, "edit": edit}
    # env={}: the simulators' own credentials, never a real key from this environment.
    with SimCluster(contacts=contacts, seed=seed, rate_limits=rate_limits, env={}) as cluster:
        print(json.dumps({"env": cluster.environment(), "counts": counts()}), flush=True)
        for line in sys.stdin:
            command, *args = line.split()
            print(json.dumps(commands[command](*args)), flush=True)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1")
