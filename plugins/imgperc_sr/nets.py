"""The super-resolution net of Johnson et al. (2016), registered as ``sr-johnson``.

It takes the low-resolution image directly (no bicubic pre-upsampling): a 9x9 conv to
``channels`` filters, ``residual_blocks`` residual blocks (the supplementary material: four of
64 filters), log2(scale) stages of nearest-neighbour x2 upsampling + 3x3 conv, and a 9x9 conv
to RGB. As in the paper, every conv but the last is followed by batch normalisation and ReLU
(none after the second conv of a residual block).

The output (``skip``):

- ``"bicubic"`` (the default): the net predicts what to add to a bicubic enlargement of its
  input (a global residual connection, as in VDSR). Its last conv starts at zero, so an
  untrained net is bicubic interpolation and training only has to learn the detail; with the
  paper's architecture otherwise unchanged, this is what made short training runs beat bicubic.
- ``"none"``: the paper's exact output, the scaled tanh ``0.5 + (150/255)·tanh(x)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from imgperc.netconfig import Int, OneOf, net_config

from .choices import SCALES, SKIPS

OUTPUT_SCALE = 150.0 / 255.0


def conv(c_in: int, c_out: int, kernel: int, *, norm: bool = True, relu: bool = True) -> nn.Sequential:
    """Reflection-padded conv, then optionally batch norm and ReLU."""
    layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels, 3), conv(channels, channels, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRNet(nn.Module):
    """[N,3,h,w] in [0,1] -> [N,3,h·scale,w·scale]."""

    size_multiple = 1

    def __init__(self, scale: int = 4, channels: int = 64, residual_blocks: int = 4, skip: str = "bicubic") -> None:
        super().__init__()
        self.scale = scale
        self.skip = skip
        self.head = conv(3, channels, 9)
        self.res = nn.Sequential(*(Residual(channels) for _ in range(residual_blocks)))
        stages = int(math.log2(scale))
        self.up = nn.Sequential(*(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv(channels, channels, 3)) for _ in range(stages)))
        self.out = conv(channels, 3, 9, norm=False, relu=False)
        if skip == "bicubic":
            nn.init.zeros_(self.out[1].weight)
            nn.init.zeros_(self.out[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        detail = self.out(self.up(self.res(self.head(x))))
        if self.skip == "bicubic":
            return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False) + detail
        return 0.5 + OUTPUT_SCALE * torch.tanh(detail)


@net_config(scale=OneOf(SCALES), channels=Int(1, 512), residual_blocks=Int(0, 64), skip=OneOf(SKIPS))
def sr_johnson(scale: int = 4, channels: int = 64, residual_blocks: int = 4, skip: str = "bicubic") -> SRNet:
    """Builder registered as ``sr-johnson`` (config: scale, channels, residual_blocks, skip)."""
    return SRNet(scale=scale, channels=channels, residual_blocks=residual_blocks, skip=skip)
