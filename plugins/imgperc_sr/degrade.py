"""Low-resolution inputs as the paper makes them: Gaussian blur (sigma 1.0), then bicubic
downsampling by the scale factor."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SIGMA = 1.0


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

def degrade(images: torch.Tensor, scale: int, sigma: float = SIGMA) -> torch.Tensor:
    """[N,3,H,W] high-resolution in [0,1] (H, W multiples of ``scale``) -> [N,3,H/scale,W/scale]."""
    h, w = images.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"image size {w}x{h} is not a multiple of the scale {scale}")
    blurred = gaussian_blur(images, sigma)
    small = F.interpolate(blurred, size=(h // scale, w // scale), mode="bicubic", align_corners=False)
    return small.clamp(0.0, 1.0)
