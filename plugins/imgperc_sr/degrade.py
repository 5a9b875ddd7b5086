"""Low-resolution training inputs, made from high-resolution patches.

Two degradations (``DEGRADATIONS``):

- ``bicubic``: Pillow's antialiased bicubic downsampling, rounded to 8 bits, exactly the LR
  images of the benchmark protocol (`imgperc eval sr --degradation bicubic`, Set5/Set14 tables);
- ``blur``: the paper's Gaussian blur (sigma 1.0), then bicubic downsampling.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .bicubic import downscale_bicubic
from .choices import DEGRADATIONS

SIGMA = 1.0


def quantize(pixels: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """Round [0, 1] values to what a file of ``bit_depth`` bits holds."""
    levels = 65535.0 if bit_depth == 16 else 255.0
    return pixels.clamp(0.0, 1.0).mul(levels).round().div(levels)


def gaussian_blur(images: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """Separable Gaussian blur of [N,C,H,W] (radius 3·sigma, reflection at the borders)."""
    radius = max(1, math.ceil(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = images.shape[1]
    mode = "reflect" if min(images.shape[-2:]) > radius else "replicate"
    x = F.pad(images, (radius, radius, radius, radius), mode=mode)
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def degrade(images: torch.Tensor, scale: int, kind: str = "blur") -> torch.Tensor:
    """[N,3,H,W] high-resolution in [0,1] (H, W multiples of ``scale``) -> [N,3,H/scale,W/scale]."""
    if kind == "bicubic":
        return quantize(downscale_bicubic(images, scale), 8)
    if kind != "blur":
        raise ValueError(f"unknown degradation {kind!r} (known: {', '.join(DEGRADATIONS)})")
    h, w = images.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"image size {w}x{h} is not a multiple of the scale {scale}")
    blurred = gaussian_blur(images)
    small = F.interpolate(blurred, size=(h // scale, w // scale), mode="bicubic", align_corners=False)
    return small.clamp(0.0, 1.0)
