"""Standard output for people and for pipes: tables on a terminal, one plain line per row elsewhere.

Piped into a file or ``grep``, a table is squeezed to 80 columns and wraps every cell over several
lines; there each row is one line instead, its cells separated by `` | `` and never wrapped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

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
