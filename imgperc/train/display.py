"""Progress on the terminal: a rich live bar with the loss terms, or plain lines when piped."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Column
from rich.text import Text


def summary(record: dict[str, Any]) -> str:
    """``loss 1.23e+00 (content:relu2_2 4.5e-01, ...) | 1.2 img/s``."""
    loss = record["loss"]
    terms = ", ".join(f"{k} {v:.3g}" for k, v in loss.items() if k != "total")
    text = f"loss {loss['total']:.4g} ({terms}) | {record['images_per_s']:.2f} img/s"
    if record.get("skipped_images"):
        text += f" | {record['skipped_images']} unreadable images skipped"
    return text


class StatusColumn(ProgressColumn):
    """The loss summary: the one column that gives way (cut with an ellipsis) on a narrow terminal."""

    def render(self, task: Task) -> Text:
        return Text(task.fields["status"], no_wrap=True, overflow="ellipsis")


class Display:
    """Live progress for rank 0 (silent elsewhere)."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.live = enabled and self.console.is_terminal
        self._progress: Progress | None = None
        self._task: Any = None

    def message(self, text: str) -> None:
        if self.enabled:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def start(self, done: int, total: int) -> None:
        if not self.live:
            return
        whole = Column(no_wrap=True)  # never cut: the count and both times
        self._progress = Progress(
            TextColumn("[bold]train", table_column=whole), BarColumn(bar_width=20, table_column=whole),
            MofNCompleteColumn(table_column=whole), TextColumn("elapsed", table_column=whole), TimeElapsedColumn(table_column=whole),
            TextColumn("ETA", table_column=whole), TimeRemainingColumn(table_column=whole), StatusColumn(),
            console=self.console, transient=False,
        )
        self._task = self._progress.add_task("train", total=total, completed=done, status="")
        self._progress.start()

    def advance(self, done: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done)

    def record(self, record: dict[str, Any], total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=record["iteration"], status=summary(record))
        elif self.enabled:
            self.message(f"[{record['iteration']}/{total}] {summary(record)}")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
