"""Where an `imgperc eval TASK` report goes: CSV and JSON results, optional crops.

Every target is checked before any work starts, so a long evaluation never ends on a file
it may not replace; results are written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import click

from .atomic import atomic_path, check_writable

RESULT_FORMATS = ("csv", "json")


@dataclass(frozen=True)
class ReportFiles:
    """``OUTPUT/STEM.csv`` and ``.json``, and ``CROPS/NAME.png`` when crops are asked for."""

    output: Path
    stem: str
    force: bool = False
    crops: Path | None = None

    def result(self, fmt: str) -> Path:
        return self.output / f"{self.stem}.{fmt}"

    def crop(self, name: str) -> Path:
        """The crop file called ``name`` (``crops`` must be set)."""
        assert self.crops is not None
        return self.crops / f"{name}.png"

    def prepare(self, crop_names: Iterable[str] = ()) -> None:
        """Create the folders and refuse existing targets (unless ``force``), before any work."""
        self.output.mkdir(parents=True, exist_ok=True)
        for fmt in RESULT_FORMATS:
            check_writable(self.result(fmt), overwrite=self.force)
        if self.crops is not None:
            self.crops.mkdir(parents=True, exist_ok=True)
            for name in crop_names:
                check_writable(self.crop(name), overwrite=self.force)

    def write(self, csv: str, json: str) -> None:
        """Write both result files atomically and print their paths."""
        for fmt, text in zip(RESULT_FORMATS, (csv, json)):
            with atomic_path(self.result(fmt), overwrite=self.force) as tmp:
                tmp.write_text(text)
            click.echo(str(self.result(fmt)))
