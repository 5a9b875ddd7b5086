"""`run_net`: the one call that applies a transform net, plain or through an `Engine`."""

from __future__ import annotations

import torch
from torch import nn

from .device import net_device
from .engine import DEFAULT_BATCH_SIZE, Engine
from .padding import net_pad, run_padded


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
