"""SqueezeNet 1.1's layers, built from its converted weights (`.squeezenet` declares the
network and its hub model, this module holds what needs torch)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn


def _conv(weights: Mapping[str, torch.Tensor], prefix: str, **kw: Any) -> nn.Conv2d:
    weight, bias = weights[f"{prefix}.weight"], weights[f"{prefix}.bias"]
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]), **kw)
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return conv


class Fire(nn.Module):
    """Squeeze 1x1 -> ReLU -> (expand 1x1 | expand 3x3) -> ReLU, concatenated."""

    def __init__(self, weights: Mapping[str, torch.Tensor], prefix: str) -> None:
        super().__init__()
        self.squeeze = _conv(weights, f"{prefix}.squeeze")
        self.expand1x1 = _conv(weights, f"{prefix}.expand1x1")
        self.expand3x3 = _conv(weights, f"{prefix}.expand3x3", padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.relu(self.squeeze(x))
        return torch.relu(torch.cat([self.expand1x1(s), self.expand3x3(s)], 1))


class GlobalAverage(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3))


def layer(name: str, weights: Mapping[str, torch.Tensor]) -> nn.Module:
    """The layer ``name`` (one of `.squeezenet.LAYERS`), with its weights where it has any."""
    if name == "conv1":
        return _conv(weights, "conv1", stride=2)
    if name == "conv10":
        return _conv(weights, "conv10")
    if name.startswith("relu"):
        return nn.ReLU()
    if name.startswith("fire"):
        return Fire(weights, name)
    if name == "pool10":
        return GlobalAverage()
    return nn.MaxPool2d(3, stride=2, ceil_mode=True)
