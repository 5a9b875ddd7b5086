"""NIQE, the no-reference quality figure of `imgperc eval sr`: lower is better.

Mittal, Soundararajan and Bovik, "Making a 'Completely Blind' Image Quality Analyzer", IEEE
Signal Processing Letters 20(3), 2013, computed as their MATLAB release does:

1. the Y channel (BT.601, MATLAB ``rgb2ycbcr``) on 0-255, rounded, cropped to whole 96x96
   blocks (top-left kept);
2. its MSCN coefficients ``(Y - mu) / (sigma + 1)``, ``mu`` and ``sigma`` the local mean and
   deviation under a 7x7 Gaussian window (sigma 7/6), borders replicated;
3. per block, 18 features: an asymmetric generalized Gaussian (AGGD) fitted to the
   coefficients by moment matching (shapes 0.2 to 10 in steps of 0.001), its shape and mean
   scale; then one fitted to their products with the horizontal, vertical and both diagonal
   neighbours (wrapping around within the block), its shape, mean, left and right scales;
4. the same on Y halved (MATLAB ``imresize``: antialiased bicubic, symmetric borders), with
   48x48 blocks: 36 features per block;
5. a multivariate Gaussian fitted to the blocks' features (a block with an undefined feature,
   as in a flat area, is left out of the covariance); NIQE is its distance to the pristine
   model ``(mu_p, S_p)``: ``sqrt((mu_p - mu)' pinv((S_p + S) / 2) (mu_p - mu))``.

It needs two blocks: `niqe_y` raises InputError below 192x96 (or 96x192) pixels, and returns
NaN when fewer than two blocks have every feature (a flat image).

``niqe_pris_params.npz`` is the pristine model the authors fitted to 125 natural photos (mean
``mu_pris_param`` [1, 36], covariance ``cov_pris_param`` [36, 36], and the 7x7
``gaussian_window``), from their MATLAB release
(http://live.ece.utexas.edu/research/quality/niqe_release.zip) as redistributed in the source
distribution of basicsr 1.4.2 (basicsr/metrics/niqe_pris_params.npz; basicsr is Apache-2.0).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import cv2
import numpy as np
import torch

from imgperc.errors import InputError
from imgperc.metrics import crop_border, rgb_to_y

from .bicubic import bicubic_resize

BLOCK = 96  # block side at full size (48 at half size)
PRISTINE = Path(__file__).with_name("niqe_pris_params.npz")
SHAPES = np.arange(200, 10001) / 1000  # the AGGD shapes searched: 0.2, 0.201, ..., 10
SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))  # neighbours: horizontal, vertical, both diagonals
CHUNK = 256  # blocks whose features are computed at once (about 20 MB a temporary array)


@functools.cache
def pristine() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pristine model's mean [36] and covariance [36, 36], and the 7x7 Gaussian window."""
    with np.load(PRISTINE) as params:
        return params["mu_pris_param"][0], params["cov_pris_param"], params["gaussian_window"]


@functools.cache
def _shape_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of `SHAPES` a: Γ(2/a)²/(Γ(1/a)Γ(3/a)) (increasing with a), √(Γ(1/a)/Γ(3/a)) and Γ(2/a)/Γ(1/a)."""
    g1, g2, g3 = (np.array([math.lgamma(k / a) for a in SHAPES]) for k in (1, 2, 3))
    return np.exp(2 * g2 - g1 - g3), np.exp((g1 - g3) / 2), np.exp(g2 - g1)


def _aggd(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """AGGD fit of each row of ``[B, N]``: shape, left and right scale, and the mean's factor
    Γ(2/a)/Γ(1/a) (NaN scales where a side has no values; the first shape, as MATLAB's ``min``
    gives, where the fit is undefined)."""
    ratio, scale_factor, mean_factor = _shape_table()
    square, negative, positive = x * x, x < 0, x > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.sqrt(np.where(negative, square, 0).sum(1) / negative.sum(1))
        right = np.sqrt(np.where(positive, square, 0).sum(1) / positive.sum(1))
        g = left / right
        target = np.abs(x).mean(1) ** 2 / square.mean(1) * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    i = np.clip(np.searchsorted(ratio, target), 1, len(ratio) - 1)
    i -= (target - ratio[i - 1]) <= (ratio[i] - target)  # the nearer grid ratio, the lower on a tie
    i[np.isnan(target)] = 0
    return SHAPES[i], left * scale_factor[i], right * scale_factor[i], mean_factor[i]


def _mscn(y: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Mean-subtracted, contrast-normalised coefficients of ``y`` (replicated borders)."""
    mu = cv2.filter2D(y, -1, window, borderType=cv2.BORDER_REPLICATE)
    var = cv2.filter2D(y * y, -1, window, borderType=cv2.BORDER_REPLICATE) - mu * mu
    return (y - mu) / (np.sqrt(np.abs(var)) + 1)


def _features(mscn: np.ndarray, size: int) -> np.ndarray:
    """``[rows·size, cols·size]`` MSCN -> ``[rows·cols, 18]`` block features (row by row)."""
    h, w = mscn.shape
    blocks = mscn.reshape(h // size, size, w // size, size).swapaxes(1, 2).reshape(-1, size, size)
    return np.concatenate([_block_features(blocks[i : i + CHUNK]) for i in range(0, len(blocks), CHUNK)])


def _block_features(blocks: np.ndarray) -> np.ndarray:
    """``[B, size, size]`` MSCN blocks -> ``[B, 18]`` features."""
    shape, left, right, _ = _aggd(blocks.reshape(len(blocks), -1))
    columns = [shape, (left + right) / 2]
    for shift in SHIFTS:
        products = blocks * np.roll(blocks, shift, axis=(1, 2))
        shape, left, right, mean_factor = _aggd(products.reshape(len(blocks), -1))
        columns += [shape, (right - left) * mean_factor, left, right]
    return np.stack(columns, 1)


def _half(y: np.ndarray) -> np.ndarray:
    """MATLAB's ``imresize(y, 0.5)`` of even-sized ``y``: Pillow's antialiased bicubic (the same
    kernel) on ``y`` padded symmetrically, so that borders are handled as MATLAB does."""
    padded = np.pad(y, 4, mode="symmetric")
    h, w = padded.shape
    half = bicubic_resize(torch.from_numpy(padded).float()[None, None], (h // 2, w // 2))[0, 0]
    return half.numpy()[2:-2, 2:-2].astype(np.float64)


def niqe_y(y: torch.Tensor | np.ndarray) -> float:
    """NIQE of ``[H, W]`` luma on 0-255 (as `imgperc.metrics.rgb_to_y` gives it); lower is better."""
    y = np.round(y.detach().cpu().double().numpy() if isinstance(y, torch.Tensor) else np.asarray(y, dtype=np.float64))
    h, w = y.shape
    rows, cols = h // BLOCK, w // BLOCK
    if rows * cols < 2:
        raise InputError(f"a {w}x{h} image is too small for NIQE (it needs two {BLOCK}x{BLOCK} blocks: {2 * BLOCK}x{BLOCK} or {BLOCK}x{2 * BLOCK} pixels)")
    y = y[: rows * BLOCK, : cols * BLOCK]
    mu_pristine, cov_pristine, window = pristine()
    features = np.concatenate([_features(_mscn(y, window), BLOCK), _features(_mscn(_half(y), window), BLOCK // 2)], 1)
    defined = ~np.isnan(features)
    complete = features[defined.all(1)]
    if len(complete) < 2:
        return math.nan
    mu = np.where(defined, features, 0).sum(0) / defined.sum(0)  # NaN-skipping mean (every column has a value)
    d = mu_pristine - mu
    return float(np.sqrt(d @ np.linalg.pinv((cov_pristine + np.cov(complete, rowvar=False)) / 2) @ d))


def niqe(rgb: torch.Tensor, border: int = 0) -> float:
    """NIQE of a ``[3, H, W]`` RGB image in [0, 1], on Y (BT.601) with ``border`` pixels cropped from each side."""
    return niqe_y(crop_border(rgb_to_y(rgb), border))
