"""What the `hooktide` command prints, through `rich`.

On a terminal: colour (unless NO_COLOR is set) and a progress bar on stderr. Anywhere else
(a pipe, a file): plain text with no escape codes, so that scripts can parse it. Tables are
columns two spaces apart at their natural width everywhere: a terminal wraps a long line
as it always did, where fitting the window would cut URLs and ids short.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {"failed": "red", "timed-out": "red", "terminated": "yellow"}
STATUS_STYLES |= {"canceled": "yellow", "completed": "green", "running": "bold"}

#: Wide enough that a table never wraps.
_UNBOUNDED = 1_000_000


def console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr); decides colour itself rather than from FORCE_COLOR or
    TTY_COMPATIBLE, so that piped output stays plain whatever the environment says."""
    terminal = (sys.stderr if stderr else sys.stdout).isatty()
    colour = terminal and not os.environ.get("NO_COLOR")
    return Console(
        stderr=stderr,
        force_terminal=terminal,
        color_system="standard" if colour else None,  # red, green, yellow, bold, dim
        width=None if stderr and terminal else _UNBOUNDED,  # a progress bar fits the window
        soft_wrap=True,  # a long line is the terminal's to wrap, not ours
        # Text is printed as it is: "[REDACTED]" is no markup, ":x:" no emoji, 200 not blue.
        markup=False,
        emoji=False,
        highlight=False,
    )


def table(*columns: str) -> Table:
    """Columns two spaces apart, a bold header, no borders: the same text as `ljust`."""
    grid = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in columns:
        grid.add_column(column, no_wrap=True)
    return grid


def plain(renderable: RenderableType) -> str:
    """`renderable` as text without styles, each line without trailing blanks."""
    buffer = io.StringIO()
    Console(file=buffer, width=_UNBOUNDED, color_system=None, markup=False, emoji=False).print(
        renderable
    )
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


class Output:
    """Lines and tables on stdout, progress on stderr."""

    def __init__(self) -> None:
        self.out = console()
        self.err = console(stderr=True)
        self._lines = self.out

    def line(self, text: str = "", style: str | None = None) -> None:
        self._lines.print(Text(text, style=style or ""))

    def table(self, grid: Table) -> None:
        if self.out.is_terminal:
            self.out.print(grid)
        else:
            self.out.print(plain(grid))

    @contextmanager
    def progress(self, total: int) -> Iterator[Callable[[str], None]]:
        """`step(label)` moves a bar on stderr on by one, on a terminal only."""
        if not self.err.is_terminal or total == 0:
            yield lambda label: None
            return
        columns = (
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.description}", markup=False),
        )
        bar = Progress(
            *columns,
            console=self.err,
            transient=True,
            redirect_stdout=False,  # a pipe's lines stay on stdout
            redirect_stderr=False,
        )
        # Both on the terminal: lines go through the bar's console, which prints them above
        # the bar (another console would write over it).
        self._lines = self.err if self.out.is_terminal else self.out
        try:
            with bar:
                task = bar.add_task("", total=total)
                yield lambda label: bar.update(task, advance=1, description=label)
        finally:
            self._lines = self.out
