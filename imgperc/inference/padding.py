"""Reflection padding of any width, the padded size a net needs, and running a net padded."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..limits import check_pixels

DEFAULT_PAD = 48


def net_pad(net: nn.Module) -> int:
    """The reflection padding ``net`` runs with: its ``reflection_pad`` attribute (a net whose
    outputs need less context may declare less), else ``DEFAULT_PAD``."""
    return int(getattr(net, "reflection_pad", DEFAULT_PAD))


def _reflect_index(size: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    index = torch.arange(-before, size + after, device=device)
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index < size, index, period - index)


def reflect_pad(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Reflection padding of any width (reflecting back and forth; a 1-pixel side is repeated)."""
    x = x.index_select(-2, _reflect_index(x.shape[-2], top, bottom, x.device))
    return x.index_select(-1, _reflect_index(x.shape[-1], left, right, x.device))


def padding(h: int, w: int, pad: int, multiple: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): ``pad`` on every side, plus what makes the sides multiples of
    ``multiple`` (added at the bottom and right)."""
    return pad, pad + (-(h + 2 * pad)) % multiple, pad, pad + (-(w + 2 * pad)) % multiple


def run_padded(
    forward: Callable[[torch.Tensor], torch.Tensor],
    batch: torch.Tensor,
    *,
    pad: int,
    batch_size: int,
    multiple: int,
    device: torch.device,
    scale: int = 1,
) -> torch.Tensor:
    """``forward`` over reflection-padded chunks of ``batch``; outputs cropped back to exactly
    the input's size times the net's scale, clamped to [0, 1], on batch's device.

    ``scale`` (the net's ``scale`` attribute, else 1) sizes the output, which is checked against
    the pixel limit (`imgperc.limits`) before any work."""
    if batch.ndim != 4:
        raise ValueError(f"run_net expects an [N,C,H,W] batch, got shape {tuple(batch.shape)}")
    h, w = batch.shape[-2:]
    check_pixels(w * scale, h * scale)
    top, bottom, left, right = padding(h, w, pad, multiple)
    outputs = []
    with torch.inference_mode():
        for chunk in batch.split(batch_size):
            x = reflect_pad(chunk.to(device, torch.float32), top, bottom, left, right)
            y = forward(x)
            scale = y.shape[-2] // x.shape[-2]
            if scale < 1 or y.shape[-2:] != (x.shape[-2] * scale, x.shape[-1] * scale):
                raise ValueError(f"net output {tuple(y.shape[-2:])} is not a whole multiple of its input {tuple(x.shape[-2:])}")
            y = y[..., top * scale : (top + h) * scale, left * scale : (left + w) * scale]
            outputs.append(y.clamp(0.0, 1.0).contiguous().to(batch.device))
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs)
