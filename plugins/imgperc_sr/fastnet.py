"""A compact super-resolution net that works at the input resolution, registered as ``sr-shuffle``.

``sr-johnson`` (the paper's net) spends most of its FLOPs after upsampling: at x4 every conv of
its last stage runs on 16 times the input's pixels. This net keeps every conv at the
low resolution and upsamples once at the end with a sub-pixel convolution (pixel shuffle,
Shi et al. 2016), like ESPCN and EDSR:

    head 3x3 conv -> ``residual_blocks`` residual blocks (conv-ReLU-conv, no normalisation)
    -> 3x3 conv (+ the head's features) -> 3x3 conv to 3·scale² channels -> pixel shuffle

and adds the result to a bicubic enlargement of the input (a global residual, as in VDSR),
so an untrained net (its last conv starts at zero) is bicubic interpolation.

A pixel shuffle gives each of the scale² output phases its own filters, and their slightly
different local levels lay a faint grid at the upsampling period over flat areas (the spectral
peak measure of `.spectral` sees it at frequencies k/scale). The ``grid_notch`` window removes
it: before the shuffle, each phase's local mean (over ``grid_notch`` x ``grid_notch`` input
pixels) is brought to the mean over the phases, a notch at exactly those frequencies applied to
the learned detail only (the bicubic part keeps its own). It cut the perceptual models' peak
measure from 20 (x4) and 38 (x8) to about the ground truth's at the same PSNR (docs/super-resolution.md).

Per input pixel it costs about ``2·9·channels²·(2·residual_blocks + 2)`` FLOPs: x4 of a 512x512 image
with the default 32 channels and 6 blocks is about 63 GFLOP, against sr-johnson's 767.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from imgperc.netconfig import Int, OneOf, net_config

from .choices import SCALES

GRID_NOTCH = 9  # input pixels: the window of the phases' local means (odd; 0 turns the notch off)
NOTCH_WINDOWS = (0, 3, 5, 7, 9, 11, 13, 15)


class ResidualBlock(nn.Module):
    """conv 3x3 -> ReLU -> conv 3x3, added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class ShuffleSR(nn.Module):
    """``[N,3,h,w]`` in [0,1] -> ``[N,3,h·scale,w·scale]`` (unclamped)."""

    size_multiple = 1

    def __init__(self, scale: int = 4, channels: int = 32, residual_blocks: int = 6, grid_notch: int = GRID_NOTCH) -> None:
        super().__init__()
        self.scale, self.grid_notch = scale, grid_notch
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*(ResidualBlock(channels) for _ in range(residual_blocks)))
        self.fuse = nn.Conv2d(channels, channels, 3, padding=1)
        self.upsample = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        nn.init.zeros_(self.upsample.weight)
        nn.init.zeros_(self.upsample.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        features = features + self.fuse(self.body(features))
        detail = F.pixel_shuffle(self._notch(self.upsample(features)), self.scale)
        return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False) + detail

    def _notch(self, phases: torch.Tensor) -> torch.Tensor:
        """``[N,3·scale²,h,w]`` with each phase's local mean moved to the phases' (0: unchanged)."""
        k = self.grid_notch
        if not k:
            return phases
        n, c, h, w = phases.shape
        split = phases.reshape(n, 3, c // 3, h, w)
        offset = (split - split.mean(2, keepdim=True)).reshape(n, c, h, w)
        # the box mean, separably (exact with count_include_pad=False: the clipped window is a rectangle)
        offset = F.avg_pool2d(offset, (k, 1), stride=1, padding=(k // 2, 0), count_include_pad=False)
        offset = F.avg_pool2d(offset, (1, k), stride=1, padding=(0, k // 2), count_include_pad=False)
        return phases - offset


@net_config(scale=OneOf(SCALES), channels=Int(1, 256), residual_blocks=Int(0, 64), grid_notch=OneOf(NOTCH_WINDOWS))
def sr_shuffle(scale: int = 4, channels: int = 32, residual_blocks: int = 6, grid_notch: int = GRID_NOTCH) -> ShuffleSR:
    """Builder registered as ``sr-shuffle`` (config: scale, channels, residual_blocks, grid_notch)."""
    return ShuffleSR(scale=scale, channels=channels, residual_blocks=residual_blocks, grid_notch=grid_notch)
