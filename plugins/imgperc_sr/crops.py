"""Side-by-side crops for `imgperc eval sr --crops`: input, each method, ground truth.

The crop is the square of the ground truth with the most edges and texture (largest mean
gradient magnitude of its luma), so the differences between methods show where they matter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image as PILImage
from PIL import ImageDraw

from imgperc.atomic import atomic_path

GAP = 4
LABEL_HEIGHT = 14
BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)


def busiest_square(pixels: torch.Tensor, size: int) -> tuple[int, int]:
    """Top-left ``(y, x)`` of the ``size`` square of ``[3,H,W]`` with the most gradient energy."""
    luma = pixels.mean(0)
    grad = torch.zeros_like(luma)
    grad[:, :-1] += (luma[:, 1:] - luma[:, :-1]).abs()
    grad[:-1, :] += (luma[1:, :] - luma[:-1, :]).abs()
    stride = max(1, size // 8)
    energy = F.avg_pool2d(grad[None, None], size, stride=stride)[0, 0]
    index = int(torch.argmax(energy))
    return (index // energy.shape[1]) * stride, (index % energy.shape[1]) * stride


def _panel(pixels: torch.Tensor) -> PILImage.Image:
    array = pixels.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return PILImage.fromarray(np.ascontiguousarray(array), "RGB")


def side_by_side(truth: torch.Tensor, low: torch.Tensor, outputs: dict[str, torch.Tensor], labels: dict[str, str], scale: int, size: int) -> PILImage.Image:
    """One row of labelled panels: the input (nearest-neighbour enlarged), each output, the truth."""
    h, w = truth.shape[-2:]
    size = min(size, h, w)
    size -= size % scale
    top, left = busiest_square(truth, size)
    top, left = top - top % scale, left - left % scale
    window = (slice(None), slice(top, top + size), slice(left, left + size))
    lr_window = low[:, top // scale : (top + size) // scale, left // scale : (left + size) // scale]
    nearest = F.interpolate(lr_window[None], scale_factor=scale, mode="nearest")[0]
    panels = [("input", nearest)] + [(labels.get(name, name), out[window]) for name, out in outputs.items()] + [("ground truth", truth[window])]
    sheet = PILImage.new("RGB", (len(panels) * (size + GAP) - GAP, size + LABEL_HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, (label, pixels) in enumerate(panels):
        x = i * (size + GAP)
        sheet.paste(_panel(pixels), (x, LABEL_HEIGHT))
        draw.text((x + 2, 1), label, fill=TEXT)
    return sheet


def save_sheet(sheet: PILImage.Image, path: Path, *, overwrite: bool) -> None:
    """Write a crop sheet atomically (PNG, or JPEG by extension)."""
    jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    with atomic_path(path, overwrite=overwrite) as tmp:
        sheet.save(tmp, "JPEG", quality=90) if jpeg else sheet.save(tmp, "PNG")
