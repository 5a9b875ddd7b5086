"""A rich progress bar for counted work (images, frames) with its rate and ETA, on stderr.

It shows only where someone watches: stderr is a terminal and the caller enables it. Lines
printed to stdout meanwhile appear above the bar when stdout is that terminal too, and go
straight to stdout (a pipe, a file) otherwise.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second (rich's recent average), e.g. ``2.50 images/s`` or ``24.00 fps``."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:.2f} {self.unit}" if speed else f"-- {self.unit}")


def count_progress(items: str, rate: str, *, enabled: bool = True) -> Progress:
    """``description [bar] 3/10 items 2.50 rate ETA 0:00:03`` on stderr (inert unless it is a
    terminal and ``enabled``); use as a context manager, ``add_task`` then ``advance``."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(items),
        RateColumn(rate),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console, disable=not (enabled and console.is_terminal), redirect_stdout=sys.stdout.isatty())
