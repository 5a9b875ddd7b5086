"""A rich progress bar for counted work (images, frames) with its rate and ETA, on stderr, and
what the inference engine says meanwhile (a compile, the tiles of a large image).

It shows only where someone watches: stderr is a terminal and the caller enables it. Lines
printed to stdout meanwhile appear above the bar when stdout is that terminal too, and go
straight to stdout (a pipe, a file) otherwise.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.file_proxy import FileProxy
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn
from rich.text import Text

TILES_AFTER_S = 2.0  # an image's tiles get a bar once it has taken this long


def mean_rate(task: Task) -> float | None:
    """Items per second since the task started (None before the first item)."""
    elapsed = task.elapsed
    return task.completed / elapsed if task.completed and elapsed else None


class RateColumn(ProgressColumn):
    """The task's mean rate in its own unit, e.g. ``2.50 images/s`` or ``24.00 fps``."""

    def render(self, task: Task) -> Text:
        rate, unit = mean_rate(task), task.fields.get("rate", "")
        return Text(f"{rate:.2f} {unit}" if rate else f"-- {unit}")


class EtaColumn(ProgressColumn):
    """``ETA 0:01:05``: what is left at the mean rate."""

    def render(self, task: Task) -> Text:
        rate = mean_rate(task)
        if task.finished:
            return Text("ETA 0:00:00")
        if rate is None or task.total is None:
            return Text("ETA -:--:--")
        return Text(f"ETA {timedelta(seconds=round((task.total - task.completed) / rate))}")


class _EchoProxy(FileProxy):
    """rich's stand-in for stdout/stderr while a bar shows, with the real stream's encoding:
    click.echo finds none on rich's own, so it writes around it, onto the bar."""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.rich_proxied_file, "encoding", None) or "utf-8"


class CountProgress(Progress):
    """`count_progress`'s bar; with ``feedback``, while it is entered, it also shows what the
    inference engine says (`imgperc.inference.engine.observed`) and `notice` lines."""

    def __init__(self, *columns: Any, items: str, rate: str, feedback: bool, **options: Any) -> None:
        super().__init__(*columns, **options)
        self.items, self.rate, self.feedback = items, rate, feedback
        self._tiles: TaskID | None = None
        self._lazy = False  # the display started only for an image's tiles
        self._observing: Any = None

    def add_task(self, description: str, *args: Any, **fields: Any) -> TaskID:
        fields.setdefault("unit", self.items)
        fields.setdefault("rate", self.rate)
        return super().add_task(description, *args, **fields)

    def start(self) -> None:
        super().start()
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if type(stream) is FileProxy:
                setattr(sys, name, _EchoProxy(self.console, stream.rich_proxied_file))

    def __enter__(self) -> CountProgress:
        super().__enter__()
        if self.feedback:
            from ..inference.engine import observed

            self._observing = observed(self)
            self._observing.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._observing is not None:
            self._observing.__exit__(*exc)
            self._observing = None
        super().__exit__(*exc)

    def notice(self, text: str) -> None:
        """One line on stderr (above the bar if it shows), with ``feedback`` only."""
        if self.feedback:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def tiles(self, done: int, total: int) -> None:
        """An image's tile ``done`` of ``total``: a ``tiles`` bar once it has taken `TILES_AFTER_S`."""
        if done == 1 or self._tiles is None:
            self._end_tiles()
            self._tiles = self.add_task("tiles", total=total, visible=False, unit="tiles", rate="tiles/s")
        self.update(self._tiles, completed=done)
        task = next(task for task in self.tasks if task.id == self._tiles)
        if done >= total:
            self._end_tiles()
        elif not task.visible and task.elapsed and task.elapsed >= TILES_AFTER_S and self.console.is_terminal:
            if self.disable:  # a single image: the bar shows for its tiles alone
                for other in self.task_ids:
                    self.update(other, visible=other == self._tiles)
                self.disable, self._lazy = False, True
                self.start()
            self.update(self._tiles, visible=True)

    def _end_tiles(self) -> None:
        if self._tiles is not None:
            self.remove_task(self._tiles)
            self._tiles = None
        if self._lazy:
            self.stop()
            self.disable, self._lazy = True, False


def count_progress(
    items: str, rate: str, *, enabled: bool = True, feedback: bool | None = None, console: Console | None = None
) -> CountProgress:
    """``description [bar] 3/10 items 2.50 rate ETA 0:00:03`` on stderr (inert unless it is a
    terminal and ``enabled``); use as a context manager, ``add_task`` then ``advance``.

    ``feedback`` (default: ``enabled``) shows, while entered, the engine's compile notices and
    the tiles of large images even where the bar itself is off (a single image).
    """
    console = console or Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        RateColumn(),
        EtaColumn(),
    )
    return CountProgress(
        *columns,
        items=items,
        rate=rate,
        feedback=enabled if feedback is None else feedback,
        console=console,
        disable=not (enabled and console.is_terminal),
        redirect_stdout=sys.stdout.isatty(),
    )
