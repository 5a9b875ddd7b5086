"""Test helpers shared by the style tests: a tiny loss network, and the style nets' conventions."""

from __future__ import annotations

import torch
from torch import nn

from imgperc import plugins
from imgperc.losses import LossNetwork, NetworkDef

TINY_TAPS = ("conv1", "relu1", "conv2", "relu2")


def tiny_loader(taps):
    """A two-conv loss network (seeded) cut after the deepest of ``taps``."""
    torch.manual_seed(0)
    layers = [("conv1", nn.Conv2d(3, 4, 3, padding=1)), ("relu1", nn.ReLU()), ("conv2", nn.Conv2d(4, 6, 3, padding=1)), ("relu2", nn.ReLU())]
    deepest = max([n for n, _ in layers].index(t) for t in taps)
    return LossNetwork("tiny", nn.Identity(), layers[: deepest + 1], taps)


def register_tiny_network() -> None:
    """Register `tiny_loader` as the loss network ``tiny``."""
    plugins.registry("loss_networks").add("tiny", NetworkDef("tiny", "test net", TINY_TAPS, tiny_loader), "tests")


def check_style_net_conventions(net: nn.Module) -> None:
    """Same shape out, inside the scaled tanh's range around 0.5, gradients to every parameter."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 20)
    y = net(x)
    assert y.shape == x.shape
    bound = 150 / 255
    assert float(y.detach().min()) >= 0.5 - bound and float(y.detach().max()) <= 0.5 + bound
    y.mean().backward()
    assert all(p.grad is not None for p in net.parameters())
