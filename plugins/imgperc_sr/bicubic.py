"""Bicubic resampling exactly as Pillow does it (the benchmark's baseline and degradation).

Pillow's bicubic is Keys' cubic convolution with a = -0.5, its support widened by the scale
when shrinking (antialiased). Each channel is resampled in Pillow's 32-bit float mode ("F"),
so no precision is lost to 8-bit intermediates and 16-bit images keep their depth.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image as PILImage

from imgperc.limits import check_pixels


def bicubic_resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[N, C, H, W]`` float -> ``[N, C, size[0], size[1]]`` (unclamped: bicubic overshoots)."""
    return pillow_resize(images, size, PILImage.Resampling.BICUBIC)


def pillow_resize(images: torch.Tensor, size: tuple[int, int], resample: PILImage.Resampling) -> torch.Tensor:
    """``[N, C, H, W]`` float -> ``[N, C, size[0], size[1]]`` with Pillow's ``resample`` filter
    (antialiased when shrinking), in 32-bit float; unclamped."""
    if images.ndim != 4:
        raise ValueError(f"expected [N, C, H, W], got shape {tuple(images.shape)}")
    height, width = size
    if height < 1 or width < 1:
        raise ValueError(f"cannot resize to {width}x{height}")
    check_pixels(width, height)
    planes = images.detach().to("cpu", torch.float32).numpy()
    out = np.empty((*planes.shape[:2], height, width), dtype=np.float32)
    for n, image in enumerate(planes):
        for c, plane in enumerate(image):
            pil = PILImage.fromarray(np.ascontiguousarray(plane), mode="F")
            out[n, c] = np.asarray(pil.resize((width, height), resample))
    return torch.from_numpy(out).to(images.device)


def upscale_bicubic(images: torch.Tensor, scale: int) -> torch.Tensor:
    """``[N, C, H, W]`` in [0, 1] enlarged ``scale`` times, clamped to [0, 1]."""
    h, w = images.shape[-2:]
    return bicubic_resize(images, (h * scale, w * scale)).clamp(0.0, 1.0)


def downscale_bicubic(images: torch.Tensor, scale: int) -> torch.Tensor:
    """``[N, C, H, W]`` in [0, 1] (H, W multiples of ``scale``) shrunk ``scale`` times, clamped."""
    h, w = images.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"image size {w}x{h} is not a multiple of the scale {scale}")
    return bicubic_resize(images, (h // scale, w // scale)).clamp(0.0, 1.0)
