"""Progress of long pulls and pushes on a terminal: one bar per phase and system with counts and the
time left at the pace so far (systems are pushed in parallel, each at the pace its rate limits
allow), one line per system that waits for a rate limit, kept current, and the schedule a run
expects (``show_schedule``: per system its calls, what this run sends and when the limits let the
rest be done). Silent when stderr is not a terminal, so JSON output, pipes and CI logs stay clean
(``SYNCENGINE_PROGRESS=1`` forces it on, ``0`` off)."""

from __future__ import annotations

import os
import sys
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from syncengine.connectors.http import RateLimitWait
from syncengine.schedule_estimate import Schedule, lines


def wanted(stream: object = None) -> bool:
    """Whether to show progress: forced by ``SYNCENGINE_PROGRESS``, else only on a terminal."""
    forced = os.environ.get("SYNCENGINE_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    stream = stream if stream is not None else sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class SyncProgress:
    """The engine's ``progress`` callback and the connectors' ``on_wait``, drawn with rich."""

    def __init__(self, console: Console | None = None, *, enabled: bool | None = None) -> None:
        self.enabled = wanted() if enabled is None else enabled
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            disable=not self.enabled,
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._waits: dict[str, tuple[int, float]] = {}  # system -> waits so far, seconds in all

    def __enter__(self) -> SyncProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def __call__(self, phase: str, system: str, count: int, total: int | None = None) -> None:
        key = (phase, system)
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(f"{phase} {system}", total=total)
        self._progress.update(self._tasks[key], completed=count, total=total)

    def show_schedule(self, schedule: Schedule) -> None:
        """The run's schedule above the bars: per system its calls, this run's share, and how long
        the documented limits make them take."""
        if not self.enabled or not schedule.systems:
            return
        self._progress.console.print(f"[dim]expected, as previewed at {schedule.at:%H:%M} UTC:[/]")
        for line in lines(schedule, endpoints=0):
            self._progress.console.print(f"[dim]{escape(line)}[/]")

    def on_wait(self, wait: RateLimitWait) -> None:
        """One line per system that waited, kept current: how many waits, how long in all, the
        last reason (a 429 storm is one moving line, not a line per retry)."""
        if not self.enabled:
            return
        count, seconds = self._waits.get(wait.system, (0, 0.0))
        self._waits[wait.system] = count, seconds = count + 1, seconds + wait.seconds
        text = f"[yellow]wait {wait.system}: {count} × {seconds:.0f} s ({escape(wait.reason)})[/]"
        key = ("wait", wait.system)
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(text, total=None)
        self._progress.update(self._tasks[key], description=text)
