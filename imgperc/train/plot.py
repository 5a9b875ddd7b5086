"""Pictures a run writes: the loss curve (drawn with Pillow) and preview grids (torchvision)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid, save_image

from ..atomic import atomic_path

COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127))


def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


def _ticks(low: float, high: float) -> list[float]:
    """Powers of ten (and their 2x, 5x if the span is short) within [low, high]."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1, 2, 5) if last - first <= 2 else (1,)
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in steps]
    return [t for t in ticks if low <= t <= high]


def _step(span: int) -> int:
    """A round tick spacing (1, 2 or 5 times a power of ten) giving at most 8 ticks."""
    for exponent in range(12):
        for mantissa in (1, 2, 5):
            step = mantissa * 10**exponent
            if span / step <= 8:
                return step
    return span


def loss_curve(records: Sequence[dict[str, Any]], path: Path, *, title: str = "", size: tuple[int, int] = (800, 500)) -> None:
    """Every loss term against the iteration on a log scale, with a legend, as a PNG."""
    series: dict[str, list[tuple[int, float]]] = {}
    for record in records:
        for name, value in record["loss"].items():
            if value > 0 and math.isfinite(value):
                series.setdefault(name, []).append((record["iteration"], value))
    width, height = size
    left, right, top, bottom = 70, 170, 30, 45
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = _font()
    draw.text((left, 8), title, fill="black", font=font)
    x0, x1, y0, y1 = left, width - right, height - bottom, top
    draw.rectangle((x0, y1, x1, y0), outline="black")
    points = [p for values in series.values() for p in values]
    if points:
        it_max = max(max(i for i, _ in points), 1)
        lo = math.log10(min(v for _, v in points))
        hi = math.log10(max(v for _, v in points))
        lo, hi = (lo - 0.5, hi + 0.5) if hi - lo < 1e-9 else (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))

        def xy(i: int, v: float) -> tuple[float, float]:
            return x0 + (x1 - x0) * i / it_max, y0 - (y0 - y1) * (math.log10(v) - lo) / (hi - lo)

        for tick in _ticks(10**lo, 10**hi):
            _, y = xy(0, tick)
            draw.line((x0, y, x1, y), fill=(225, 225, 225))
            draw.text((5, y - 6), f"{tick:.0e}", fill="black", font=font)
        for i in range(0, it_max + 1, _step(it_max)):
            x, _ = xy(i, 10**lo)
            draw.line((x, y0, x, y0 + 4), fill="black")
            draw.text((x - 12, y0 + 8), str(i), fill="black", font=font)
        for n, (name, values) in enumerate(sorted(series.items(), key=lambda kv: kv[0] != "total")):
            colour = COLOURS[n % len(COLOURS)]
            line = [xy(i, v) for i, v in values]
            if len(line) > 1:
                draw.line(line, fill=colour, width=2 if name == "total" else 1)
            else:
                draw.ellipse((line[0][0] - 2, line[0][1] - 2, line[0][0] + 2, line[0][1] + 2), fill=colour)
            ly = top + 14 * n
            draw.line((x1 + 10, ly + 6, x1 + 30, ly + 6), fill=colour, width=2)
            draw.text((x1 + 35, ly), name, fill="black", font=font)
    draw.text(((x0 + x1) // 2 - 20, height - 18), "iteration", fill="black", font=font)
    save_png(image, path)


def grid(rows: Sequence[Sequence[torch.Tensor]], gap: int = 4) -> torch.Tensor:
    """Rows of [3,H,W] images as one [3,H,W] picture (``make_grid``): each image at the top left of
    a cell as large as the largest image, short rows filled with white, ``gap`` white pixels
    between the cells."""
    images = [[t.detach().float().cpu() for t in row] for row in rows]
    height = max(t.shape[1] for row in images for t in row)
    width = max(t.shape[2] for row in images for t in row)
    columns = max(len(row) for row in images)
    blank = torch.ones(3, height, width)
    cells = [
        F.pad(row[i], (0, width - row[i].shape[2], 0, height - row[i].shape[1]), value=1.0) if i < len(row) else blank
        for row in images
        for i in range(columns)
    ]
    if len(cells) == 1:  # make_grid returns a lone image as it is, without a border
        return cells[0]
    picture = make_grid(cells, nrow=columns, padding=gap, pad_value=1.0)
    return picture[:, gap : picture.shape[1] - gap, gap : picture.shape[2] - gap]  # no outer border


def save_grid(rows: Sequence[Sequence[torch.Tensor]], path: Path, gap: int = 4) -> None:
    """Write :func:`grid` as an 8-bit PNG (values clamped and rounded) atomically."""
    with atomic_path(path, overwrite=True) as tmp:
        save_image(grid(rows, gap), tmp, format="PNG")


def save_png(image: Image.Image, path: Path) -> None:
    """Write a PNG atomically (replacing an older version of the run's own file)."""
    with atomic_path(path, overwrite=True) as tmp:
        image.save(tmp, format="PNG")
