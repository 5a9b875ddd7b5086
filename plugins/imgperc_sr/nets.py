"""The super-resolution net of Johnson et al. (2016), registered as ``sr-johnson``.

It takes the low-resolution image directly (no bicubic pre-upsampling): a 9x9 conv to
``channels`` filters, ``residual_blocks`` residual blocks (the supplementary material: four of
64 filters), log2(scale) stages of nearest-neighbour x2 upsampling + 3x3 conv, and a 9x9 conv
to RGB. As in the paper, every conv but the last is followed by batch normalisation and ReLU
(none after the second conv of a residual block), and the output is the scaled tanh
``0.5 + (150/255)·tanh(x)`` on [0, 1] RGB.
"""

from __future__ import annotations

import math

import torch
from torch import nn

OUTPUT_SCALE = 150.0 / 255.0
SCALES = (2, 4, 8)


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

    def __init__(self, scale: int = 4, channels: int = 64, residual_blocks: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.head = conv(3, channels, 9)
        self.res = nn.Sequential(*(Residual(channels) for _ in range(residual_blocks)))
        stages = int(math.log2(scale))
        self.up = nn.Sequential(*(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv(channels, channels, 3)) for _ in range(stages)))
        self.out = conv(channels, 3, 9, norm=False, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 + OUTPUT_SCALE * torch.tanh(self.out(self.up(self.res(self.head(x)))))


def sr_johnson(scale: int = 4, channels: int = 64, residual_blocks: int = 4) -> SRNet:
    """Builder registered as ``sr-johnson`` (config: scale, channels, residual_blocks)."""
    if scale not in SCALES:
        raise ValueError(f"sr-johnson: scale must be one of {SCALES}, got {scale}")
    if channels < 1 or residual_blocks < 0:
        raise ValueError("sr-johnson: channels must be >= 1 and residual_blocks >= 0")
    return SRNet(scale=scale, channels=channels, residual_blocks=residual_blocks)
