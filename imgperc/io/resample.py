"""The one way imgperc resizes pixels (:func:`resize`): antialiased bicubic, clamped to [0, 1]."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from ..errors import InputError


def scaled_size(height: int, width: int, *, longest: int | None = None, shortest: int | None = None) -> tuple[int, int]:
    """``(height, width)`` scaled, aspect ratio kept, so that the longest side is ``longest``
    pixels, or the shortest side ``shortest`` pixels (give exactly one); no side below 1."""
    if (longest is None) == (shortest is None):
        raise ValueError("give exactly one of longest and shortest")
    side = longest if longest is not None else shortest
    if side < 1:
        raise InputError(f"size must be a positive number of pixels (got {side})")
    factor = side / (max(height, width) if longest is not None else min(height, width))
    floor = 1 if longest is not None else side  # the shortest side is never rounded below it
    return max(floor, round(height * factor)), max(floor, round(width * factor))


def resize(
    pixels: torch.Tensor,
    size: tuple[int, int] | None = None,
    *,
    longest: int | None = None,
    shortest: int | None = None,
    mode: Literal["bicubic", "bilinear"] = "bicubic",
) -> torch.Tensor:
    """``[C, H, W]`` or ``[N, C, H, W]`` values in [0, 1] resized to ``size`` ``(height, width)``,
    or as :func:`scaled_size` says for ``longest`` / ``shortest`` (give exactly one of the three).

    Antialiased bicubic (as Pillow's when shrinking), clamped to [0, 1]; ``mode="bilinear"`` is
    for masks such as alpha (no ringing at hard edges, flat areas stay exact). ``pixels`` itself
    is returned when the size would not change.
    """
    if pixels.ndim not in (3, 4):
        raise ValueError(f"expected [C, H, W] or [N, C, H, W] pixels, got shape {tuple(pixels.shape)}")
    height, width = pixels.shape[-2:]
    if size is None:
        size = scaled_size(height, width, longest=longest, shortest=shortest)
    elif longest is not None or shortest is not None:
        raise ValueError("give exactly one of size, longest and shortest")
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (height, width) of at least 1 pixel, got {size}")
    if tuple(size) == (height, width):
        return pixels
    batch = pixels if pixels.ndim == 4 else pixels[None]
    resized = F.interpolate(batch, size=tuple(size), mode=mode, antialias=True, align_corners=False).clamp(0.0, 1.0)
    return resized if pixels.ndim == 4 else resized[0]
