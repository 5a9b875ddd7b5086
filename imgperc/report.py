"""Where an `imgperc eval TASK` report goes: CSV and JSON results, optional crops; its table.

Every target is checked before any work starts, so a long evaluation never ends on a file
it may not replace; results and crops are written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import click
from PIL import Image as PILImage
from PIL import ImageDraw

from .atomic import atomic_path, check_writable

if TYPE_CHECKING:
    import torch
    from rich.table import Table

RESULT_FORMATS = ("csv", "json")
GAP = 4
GAP_ROWS = 8  # between the rows of a sheet
LABEL_HEIGHT = 14
CHAR_WIDTH = 6  # of Pillow's default font


def labelled_row(panels: list[tuple[str, "torch.Tensor"]], *, fit_labels: bool = False) -> PILImage.Image:
    """Same-size ``[3,H,W]`` images in [0, 1] side by side on white, each labelled above.

    ``fit_labels`` keeps the end of a label that is wider than its panel.
    """
    h, w = panels[0][1].shape[-2:]
    sheet = PILImage.new("RGB", (len(panels) * (w + GAP) - GAP, h + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, pixels) in enumerate(panels):
        x = i * (w + GAP)
        array = pixels.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).contiguous().cpu().numpy()
        sheet.paste(PILImage.fromarray(array, "RGB"), (x, LABEL_HEIGHT))
        draw.text((x + 2, 1), label[-(w // CHAR_WIDTH) :] if fit_labels else label, fill="black")
    return sheet


def save_sheet(rows: list[PILImage.Image], path: Path, *, quality: int = 85) -> PILImage.Image:
    """Stack ``rows`` (e.g. `labelled_row` results) on white, 8 pixels apart, and write them
    atomically to ``path`` in the format of its extension; returns the sheet."""
    sheet = PILImage.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows) + GAP_ROWS * (len(rows) - 1)), "white")
    top = 0
    for row in rows:
        sheet.paste(row, (0, top))
        top += row.height + GAP_ROWS
    with atomic_path(path, overwrite=True) as tmp:
        sheet.save(tmp, format=PILImage.registered_extensions().get(path.suffix.lower()), quality=quality, optimize=True)
    return sheet


def print_table(table: Table) -> None:
    """Print ``table`` on stdout at the terminal's width; its ``no_wrap`` columns (ids, image
    names, numbers) are never cut: the other columns wrap, and where that is not enough the
    table is printed wider (a line the terminal wraps beats a cut name)."""
    from rich.console import Console

    console = Console()
    wide = Console(width=100_000)
    for column in table.columns:
        if column.no_wrap:
            widths = [wide.measure(cell).maximum for cell in (column.header, *column.cells)]
            column.min_width = max([column.min_width or 0, *widths])
    needed = wide.measure(table).minimum
    (console if needed <= console.width else Console(width=needed)).print(table)


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

    def save_crop(self, name: str, sheet: PILImage.Image) -> None:
        """Write crop ``name`` (a PNG) atomically."""
        with atomic_path(self.crop(name), overwrite=self.force) as tmp:
            sheet.save(tmp, "PNG")

    def write(self, csv: str, json: str) -> None:
        """Write both result files atomically and print their paths."""
        for fmt, text in zip(RESULT_FORMATS, (csv, json)):
            with atomic_path(self.result(fmt), overwrite=self.force) as tmp:
                tmp.write_text(text)
            click.echo(str(self.result(fmt)))
