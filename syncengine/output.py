"""Standard output for people and for pipes: tables on a terminal, one plain line per row elsewhere.

Piped into a file or ``grep``, a table is squeezed to 80 columns and wraps every cell over several
lines; there each row is one line instead, its cells separated by `` | `` and never wrapped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

SEPARATOR = " | "
Cell = str | Sequence[str]  # a sequence: one line each in a table cell, "; "-joined on a plain line

# A value holding a line break or a tab would split its row: such characters are shown escaped.
_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_ESCAPES = {
    **{c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in _CONTROLS},
    ord("\\"): "\\\\",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


class Output(Console):
    """A console that never wraps a line when it is not writing to a terminal, so one message
    stays one line in a log; on a terminal rich wraps text to the window as usual."""

    @property
    def soft_wrap(self) -> bool:
        return self._soft_wrap or not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        self._soft_wrap = value


def one_line(text: str) -> str:
    """``text`` as one line: backslashes, line breaks, tabs and other control characters escaped."""
    return text.translate(_ESCAPES)


def _joined(cell: Cell, separator: str) -> str:
    return cell if isinstance(cell, str) else separator.join(cell)


def print_rows(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    right: Collection[str] = (),
) -> None:
    """Rows of values that are not ours (contacts, messages): never read as rich markup. On a
    terminal, a table (``right``: columns aligned right); elsewhere the title with the column names,
    then one line per row."""
    if console.is_terminal:
        table = Table(title=Text(title))
        for column in columns:
            table.add_column(column, overflow="fold", justify="right" if column in right else "left")
        for row in rows:
            table.add_row(*(Text(_joined(cell, "\n")) for cell in row))
        console.print(table)
        return
    console.print(Text(f"{title}: {SEPARATOR.join(columns)}"), soft_wrap=True)
    for row in rows:
        line = SEPARATOR.join(one_line(_joined(cell, "; ")) for cell in row)
        console.print(Text(line), soft_wrap=True)


def print_schedule(console: Console, schedule: Any) -> None:
    """A plan's calls per system and endpoint against the documented rate limits
    (``schedule_estimate.Schedule``): how many, how many this run sends, how long the limits make
    them take and when they are done, with the systems pushed in parallel."""
    from syncengine.schedule_estimate import duration

    rows = []
    for s in schedule.systems:
        end = (schedule.at + timedelta(seconds=s.seconds)).strftime("%Y-%m-%d %H:%M UTC")
        counts = (f"{s.calls:,}", f"{s.this_run:,}", f"{s.later:,}")
        rows.append((s.system, "all", *counts, duration(s.seconds), end))
        for e in s.endpoints:
            why = f" ({e.binding} limit)" if e.binding else ""
            counts = (f"{e.calls:,}", f"{e.this_run:,}", f"{e.later:,}")
            rows.append(("", e.endpoint, *counts, duration(e.seconds) + why, ""))
    if not rows:
        return
    columns = ("system", "endpoint", "calls", "this run", "later runs", "the limits take", "done about")
    print_rows(console, "Schedule (documented rate limits; systems in parallel)", columns, rows,
               right=("calls", "this run", "later runs"))  # fmt: skip
    end = schedule.done_at.strftime("%Y-%m-%d %H:%M UTC")
    console.print(Text(f"all systems done in about {duration(schedule.seconds)} ({end})"), soft_wrap=True)
