"""The loss-network contract: frozen feature extractors with named taps (registered as a
`.definition.NetworkDef`).

Input convention (every loss network, no exceptions): float RGB in [0, 1], NCHW. Each network
converts to what its weights were trained on inside ``forward`` (Caffe BGR 0-255 minus the
mean for the Oxford VGG-19, ImageNet mean/std for torchvision's VGG-16, ...), so callers never
preprocess. One forward pass returns a dict ``{tap: features}`` of every requested tap; the
network holds only the layers up to the deepest tap; parameters are frozen
(``requires_grad=False``) and the module stays in eval mode, while gradients still flow to the
input image.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ...errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


class ImageNetNormalize(nn.Module):
    """[0,1] RGB -> (x - mean) / std (torchvision's ImageNet preprocessing)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class CaffePreprocess(nn.Module):
    """[0,1] RGB -> BGR in 0-255 minus the ImageNet BGR mean (Caffe's VGG convention)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(CAFFE_BGR_MEAN).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flip(1) * 255.0 - self.mean


class LossNetwork(nn.Module):
    """A frozen feature extractor: ``net(x)`` -> ``{tap: features}`` for the requested taps.

    ``layers`` are the named layers in forward order, already cut after the deepest tap.
    """

    def __init__(self, name: str, preprocess: nn.Module, layers: Sequence[tuple[str, nn.Module]], taps: Sequence[str]):
        super().__init__()
        names = [n for n, _ in layers]
        missing = [t for t in taps if t not in names]
        if missing or not taps:
            raise ValueError(f"taps {missing or 'none'} are not layers of this {name} network")
        self.name = name
        self.taps = tuple(sorted(set(taps), key=names.index))
        self.preprocess = preprocess
        self.layers = nn.ModuleDict(layers)
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> "LossNetwork":
        """Loss networks always stay in eval mode, whatever their parent module does."""
        return super().train(False)

    def extract(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the layers on an already preprocessed input."""
        out: dict[str, torch.Tensor] = {}
        for name, layer in self.layers.items():
            x = layer(x)
            if name in self.taps:
                out[name] = x
        return out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise InputError(f"loss network {self.name} expects [N,3,H,W] RGB images, got shape {tuple(x.shape)}")
        return self.extract(self.preprocess(x))
