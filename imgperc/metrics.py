"""Image-quality metrics as super-resolution papers compute them: PSNR and SSIM on the Y channel.

The conventions are those of the Matlab code behind the usual benchmark tables (SRCNN, Johnson
et al. 2016 and most since), so that numbers computed here can stand beside published ones:

- Y is ITU-R BT.601 luma as Matlab's ``rgb2ycbcr`` gives it for double inputs in [0, 1]:
  ``Y = 16 + 65.481 R + 128.553 G + 24.966 B``, on the [16, 235] scale, not rounded.
- ``border`` pixels (the scale factor, by convention) are cropped from every side first.
- PSNR is ``10 log10(255² / MSE)`` on that [0, 255] scale.
- SSIM (Wang et al. 2004, ``ssim_index.m``) uses an 11x11 Gaussian window with sigma 1.5, "valid"
  filtering (no padding), K1 = 0.01, K2 = 0.03, L = 255, and no automatic downsampling; the
  score is the mean of the SSIM map.

Everything is computed in float64 on the inputs' device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

Y_OFFSET = 16.0
Y_WEIGHTS = (65.481, 128.553, 24.966)
DATA_RANGE = 255.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def rgb_to_y(rgb: torch.Tensor) -> torch.Tensor:
    """``[..., 3, H, W]`` RGB in [0, 1] -> ``[..., H, W]`` BT.601 luma on [16, 235] (float64)."""
    if rgb.ndim < 3 or rgb.shape[-3] != 3:
        raise ValueError(f"expected [..., 3, H, W] RGB, got shape {tuple(rgb.shape)}")
    weights = torch.tensor(Y_WEIGHTS, dtype=torch.float64, device=rgb.device)
    return Y_OFFSET + torch.einsum("...chw,c->...hw", rgb.to(torch.float64), weights)


def crop_border(x: torch.Tensor, border: int) -> torch.Tensor:
    """``x`` without ``border`` pixels on each side of its last two dimensions."""
    if border < 0:
        raise ValueError(f"border must be >= 0, got {border}")
    if border == 0:
        return x
    h, w = x.shape[-2:]
    if h <= 2 * border or w <= 2 * border:
        raise ValueError(f"a {w}x{h} image has nothing left after cropping {border} pixels from each border")
    return x[..., border : h - border, border : w - border]


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {tuple(a.shape)} and {tuple(b.shape)}")


def psnr(a: torch.Tensor, b: torch.Tensor, *, data_range: float = DATA_RANGE) -> float:
    """Peak signal-to-noise ratio in dB over all elements (``inf`` for identical inputs)."""
    _check_pair(a, b)
    mse = torch.mean((a.to(torch.float64) - b.to(torch.float64)) ** 2).item()
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """The normalised ``size``-tap 1-D Gaussian (float64); SSIM's 2-D window is its outer product."""
    taps = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    window = torch.exp(-(taps**2) / (2 * sigma**2))
    return window / window.sum()


def ssim(a: torch.Tensor, b: torch.Tensor, *, data_range: float = DATA_RANGE) -> float:
    """Mean structural similarity of two single-channel images ``[..., H, W]`` (H, W >= 11).

    Leading dimensions are images, each with its own SSIM map; the result is the mean of all maps.
    """
    _check_pair(a, b)
    h, w = a.shape[-2:]
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise ValueError(f"SSIM needs at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {w}x{h}")
    x = a.to(torch.float64).reshape(-1, 1, h, w)
    y = b.to(torch.float64).reshape(-1, 1, h, w)
    g = gaussian_window().to(x.device)
    rows, cols = g.view(1, 1, -1, 1), g.view(1, 1, 1, -1)

    def filt(t: torch.Tensor) -> torch.Tensor:  # separable "valid" Gaussian filtering
        return F.conv2d(F.conv2d(t, rows), cols)

    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x**2
    var_y = filt(y * y) - mu_y**2
    cov = filt(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    score = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return score.mean().item()


def y_psnr_ssim(output: torch.Tensor, target: torch.Tensor, border: int) -> tuple[float, float]:
    """PSNR and SSIM of two ``[3, H, W]`` RGB images in [0, 1], on Y with ``border`` cropped."""
    _check_pair(output, target)
    y_out = crop_border(rgb_to_y(output), border)
    y_ref = crop_border(rgb_to_y(target), border)
    return psnr(y_out, y_ref), ssim(y_out, y_ref)
