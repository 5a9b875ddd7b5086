"""Side-by-side crops for `imgperc eval sr --crops`: input, each method, ground truth.

The crop is the square of the ground truth with the most edges and texture (largest mean
gradient magnitude of its luma), so the differences between methods show where they matter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image as PILImage

from imgperc.report import labelled_row


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
    return labelled_row(panels)
