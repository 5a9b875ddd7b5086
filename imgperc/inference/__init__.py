"""The single inference path for transform nets.

Every image-to-image net (style, super-resolution, ...) runs through `run_net`: the batch is
reflection-padded (so no zero-padding artefacts reach the borders, and H, W become multiples of
the net's ``size_multiple``), run in chunks on the net's device, cropped back to exactly the
input's size times the net's scale, and clamped to [0, 1].

`run_net` runs a plain module as it is (training previews, tests). Given an `Engine`, the same
call takes the fast path: precision chosen for the device with a fallback guard, channels-last,
compiled graphs cached on disk, threads matched to the cores, and tiles with whole-image
instance-norm statistics when an image does not fit in memory.
"""

from __future__ import annotations

import torch
from torch import nn

from ..precision import PRECISIONS, native_bf16
from .batching import same_size_batches
from .device import DEVICES, describe, net_device, select_device
from .engine import COMPILE_MODES, DEFAULT_BATCH_SIZE, Engine
from .options import PRECISION_HELP, engine_options, report_options
from .padding import DEFAULT_PAD, net_pad, reflect_pad, run_padded

__all__ = [
    "COMPILE_MODES",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PAD",
    "DEVICES",
    "Engine",
    "PRECISIONS",
    "PRECISION_HELP",
    "describe",
    "engine_options",
    "report_options",
    "native_bf16",
    "net_device",
    "net_pad",
    "reflect_pad",
    "run_net",
    "same_size_batches",
    "select_device",
]


def run_net(
    net: nn.Module,
    batch: torch.Tensor,
    *,
    pad: int | None = None,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Apply ``net`` to ``batch`` ([N,3,H,W] in [0,1]) -> [N,3,H·s,W·s] in [0,1] on batch's device.

    ``pad`` pixels of reflection (default: the net's own, `net_pad`) are added on every side,
    plus what makes H and W multiples of ``net.size_multiple``; the net's output is cropped
    back, so any input size works. Chunks hold ``batch_size`` images (default: the engine's
    choice for its device, else 4).
    """
    if isinstance(net, Engine):
        return net.run(batch, pad=pad, batch_size=batch_size)
    multiple = getattr(net, "size_multiple", 1)
    pad = net_pad(net) if pad is None else pad
    return run_padded(net, batch, pad=pad, batch_size=batch_size or DEFAULT_BATCH_SIZE, multiple=multiple, device=net_device(net), scale=getattr(net, "scale", 1))
