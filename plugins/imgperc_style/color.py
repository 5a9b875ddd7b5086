"""Colour handling after stylization: luminance-only transfer and blending with the content."""

from __future__ import annotations

import torch

# Full-range BT.601 (as in JPEG), on [0,1] RGB; Cb and Cr are centred on 0.
_RGB_TO_YCBCR = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)
_YCBCR_TO_RGB = torch.linalg.inv(_RGB_TO_YCBCR)


def _mix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", matrix.to(x.device, x.dtype), x)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """[N,3,H,W] RGB -> [N,3,H,W] (Y, Cb, Cr)."""
    return _mix(_RGB_TO_YCBCR, rgb)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """Inverse of `rgb_to_ycbcr`."""
    return _mix(_YCBCR_TO_RGB, ycbcr)


def preserve_color(styled: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The styled image's luminance with the content's chroma (Cb, Cr), clamped to [0, 1]."""
    y = rgb_to_ycbcr(styled)[:, :1]
    cbcr = rgb_to_ycbcr(content)[:, 1:]
    return ycbcr_to_rgb(torch.cat([y, cbcr], dim=1)).clamp(0.0, 1.0)


def blend(styled: torch.Tensor, content: torch.Tensor, strength: float) -> torch.Tensor:
    """``strength`` of the styled image over the content (1: all style, 0: the content)."""
    if strength >= 1.0:
        return styled
    return torch.lerp(content, styled, strength)
