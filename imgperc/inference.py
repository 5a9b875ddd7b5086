"""The single inference path for transform nets: device choice, padding and batching.

Every image-to-image net (style, super-resolution, ...) runs through `run_net`: the batch is
reflection-padded (so no zero-padding artefacts reach the borders, and H, W become multiples of
the net's ``size_multiple``), run in chunks on the net's device, cropped back to exactly the
input's size times the net's scale, and clamped to [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import InputError

DEVICES = ("auto", "cpu", "cuda")
DEFAULT_PAD = 48
DEFAULT_BATCH_SIZE = 4


def select_device(name: str = "auto") -> torch.device:
    """``auto`` (CUDA if available, else CPU), ``cpu`` or ``cuda``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InputError("device 'cuda' requested but no CUDA GPU is available (use --device cpu or auto)")
        return torch.device("cuda")
    raise InputError(f"unknown device '{name}' (choose from {', '.join(DEVICES)})")


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


def net_device(net: nn.Module) -> torch.device:
    """Where the net's weights live (CPU for a net without weights)."""
    first = next(net.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def run_net(
    net: nn.Module,
    batch: torch.Tensor,
    *,
    pad: int = DEFAULT_PAD,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> torch.Tensor:
    """Apply ``net`` to ``batch`` ([N,3,H,W] in [0,1]) -> [N,3,H·s,W·s] in [0,1] on batch's device.

    ``pad`` pixels of reflection are added on every side, plus what makes H and W multiples of
    ``net.size_multiple``; the net's output is cropped back, so any input size works.
    """
    if batch.ndim != 4:
        raise ValueError(f"run_net expects an [N,C,H,W] batch, got shape {tuple(batch.shape)}")
    device = net_device(net)
    multiple = getattr(net, "size_multiple", 1)
    h, w = batch.shape[-2:]
    bottom = pad + (-(h + 2 * pad)) % multiple
    right = pad + (-(w + 2 * pad)) % multiple
    outputs = []
    with torch.inference_mode():
        for chunk in batch.split(batch_size):
            x = reflect_pad(chunk.to(device, torch.float32), pad, bottom, pad, right)
            y = net(x)
            scale = y.shape[-2] // x.shape[-2]
            if scale < 1 or y.shape[-2:] != (x.shape[-2] * scale, x.shape[-1] * scale):
                raise ValueError(f"net output {tuple(y.shape[-2:])} is not a whole multiple of its input {tuple(x.shape[-2:])}")
            y = y[..., pad * scale : (pad + h) * scale, pad * scale : (pad + w) * scale]
            outputs.append(y.clamp(0.0, 1.0).to(batch.device))
    return torch.cat(outputs)
