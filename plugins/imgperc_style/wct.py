"""The whitening and colouring transform (WCT) of Li et al. (NeurIPS 2017).

Features ``f`` (``[C, N]``: C channels over N positions) have a mean ``m`` and a covariance
``S = E D E^T``. Whitening, ``E D^-1/2 E^T (f - m)``, removes the content's feature
correlations while keeping its layout; colouring, ``E_s D_s^1/2 E_s^T w + m_s``, gives the
whitened features the style's mean and covariance, so that their Gram matrix is the style's.
Several styles mix by mixing their colouring maps (``sum_i a_i C_i``, ``sum_i a_i m_i``), which
equals mixing the transformed features. ``strength`` blends the result with the content's own
features, as the paper's alpha does.

Statistics (`Moments`) merge exactly, so that an image processed in tiles gets the statistics
of the whole; the eigendecompositions run in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

EPS = 1e-5  # added to the eigenvalues, relative to the largest one


@dataclass
class Moments:
    """Statistics of a ``[C, N]`` feature map: N, the mean and the scatter ``sum (f-m)(f-m)^T``.

    The scatter is summed in float32 about the map's own mean (fast, and free of the
    cancellation of ``E[f f^T] - m m^T``); parts merge exactly (Chan et al.'s pairwise update).
    """

    count: float
    mean: torch.Tensor  # [C], float64
    scatter: torch.Tensor  # [C, C], float64

    @classmethod
    def of(cls, features: torch.Tensor) -> "Moments":
        """The statistics of ``features`` (``[C,H,W]`` or ``[C,N]``)."""
        f = features.reshape(features.shape[0], -1).float()
        mean = f.mean(1, keepdim=True)
        centred = f - mean
        return cls(float(f.shape[1]), mean[:, 0].double(), (centred @ centred.T).double())

    def __add__(self, other: "Moments") -> "Moments":
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / count)
        scatter = self.scatter + other.scatter + torch.outer(delta, delta) * (self.count * other.count / count)
        return Moments(count, mean, scatter)

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean ``[C]``, covariance ``[C,C]``), float64."""
        cov = self.scatter / self.count
        return self.mean, (cov + cov.T) / 2


def _eigen(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    values, vectors = torch.linalg.eigh(cov)
    return values.clamp_min(0) + EPS * values.max().clamp_min(1e-12), vectors


def whitening(cov: torch.Tensor) -> torch.Tensor:
    """``E D^-1/2 E^T`` of a covariance (float64)."""
    values, vectors = _eigen(cov)
    return (vectors * values.rsqrt()) @ vectors.T


def colouring(cov: torch.Tensor) -> torch.Tensor:
    """``E D^1/2 E^T`` of a covariance (float64)."""
    values, vectors = _eigen(cov)
    return (vectors * values.sqrt()) @ vectors.T


@dataclass(frozen=True)
class StyleTarget:
    """What one level needs of the style(s): the mixed colouring map and mean (float64)."""

    colour: torch.Tensor
    mean: torch.Tensor

    @classmethod
    def mix(cls, moments: Sequence[Moments], weights: Sequence[float]) -> "StyleTarget":
        """The target of several styles' statistics mixed with ``weights`` (summing to 1)."""
        colour, mean = 0, 0
        for m, weight in zip(moments, weights):
            style_mean, style_cov = m.mean_cov()
            colour = colour + weight * colouring(style_cov)
            mean = mean + weight * style_mean
        return cls(colour, mean)


@dataclass(frozen=True)
class LevelTransform:
    """The affine map of one level for one content image: ``f -> A f + b`` (float32), which is
    WCT blended with the identity by ``strength``."""

    matrix: torch.Tensor
    shift: torch.Tensor

    @classmethod
    def between(cls, content: Moments, target: StyleTarget, strength: float) -> "LevelTransform":
        mean, cov = content.mean_cov()
        wct = target.colour @ whitening(cov)
        eye = torch.eye(wct.shape[0], dtype=wct.dtype, device=wct.device)
        matrix = strength * wct + (1 - strength) * eye
        shift = strength * (target.mean - wct @ mean)
        return cls(matrix.float(), shift.float())

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        """Apply to ``[N,C,H,W]`` features (in float32 whatever their dtype; returned in theirs)."""
        n, c, h, w = features.shape
        matrix, shift = self.matrix.to(features.device), self.shift.to(features.device)
        out = matrix @ features.float().reshape(n, c, h * w) + shift[:, None]
        return out.reshape(n, c, h, w).to(features.dtype)
