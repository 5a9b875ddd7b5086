"""Likeness of one stylization to another (a student's to its teacher's): issue 27's measure.

The distance is learning-free: at each of VGG-19's relu1_2, relu2_2 and relu3_3 the features are
unit-normalised per pixel across channels, the squared difference is summed over channels and
averaged over the pixels; the distance is the mean over the three layers (0 for identical
images, at most 4). `LikenessTerm` is that comparison at one tap, a loss term like any other,
so `imgperc distill` can train on it (``--likeness-weight``; the term as recipe data:
`.likeness_recipe`) and `imgperc eval style` measures with the same code. PSNR is on RGB in
[0,1] over all pixels. A teacher's *shift floor* is the likeness of its output on a photo to its
output on the same photo shifted by `SHIFT` pixels sideways, compared on the overlap: how far a
style is from itself, the scale a student's distance is read against. (A shift by a multiple of the net's stride, 4 for ml5, gives nearly the same output;
a 2-pixel shift does not: `muse` measures 0.36 and 18.0 dB on a 512 photo, against 0.86 for
`wave`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from imgperc.losses import LossTerm, PerceptualLoss
from imgperc.metrics import psnr as _psnr

from .likeness_recipe import LIKENESS_LAYERS, LIKENESS_NETWORK, likeness_recipe

SHIFT = 2
EPS = 1e-10


def unit_normalise(features: torch.Tensor) -> torch.Tensor:
    """``[N,C,H,W]`` features divided by their Euclidean norm across channels at each pixel."""
    return features / (features.pow(2).sum(1, keepdim=True).sqrt() + EPS)


class LikenessTerm(LossTerm):
    """Squared distance of unit-normalised features, summed over channels, averaged over pixels and batch."""

    kind = "likeness"

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return unit_normalise(x)

    def score(self, input: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        return (input - target).pow(2).sum(1).flatten(1).mean(1).mean()


@dataclass(frozen=True)
class Likeness:
    """One image's likeness to a reference: the distance, PSNR (dB, ``inf`` when equal) and the
    reference style's shift floor (the same two numbers for its shifted self)."""

    reference: str
    distance: float
    psnr: float
    floor_distance: float
    floor_psnr: float

    @property
    def floor_ratio(self) -> float | None:
        """The distance in units of the shift floor (None where the floor is 0)."""
        return self.distance / self.floor_distance if self.floor_distance else None


class LikenessMeter:
    """Measures likeness on ``network`` (loaded once, only up to relu3_3)."""

    def __init__(self, network: str = LIKENESS_NETWORK, layers: tuple[str, ...] = LIKENESS_LAYERS) -> None:
        self.loss = PerceptualLoss(likeness_recipe(network, layers)).requires_grad_(False)

    def to(self, device: torch.device) -> "LikenessMeter":
        self.loss.to(device)
        return self

    def distance(self, image: torch.Tensor, reference: torch.Tensor) -> float:
        """The distance of ``[N,3,H,W]`` ``image`` to ``reference`` (batch mean)."""
        with torch.no_grad():
            return float(self.loss(image.float(), teacher=reference.float()).total)

    def pair(self, image: torch.Tensor, reference: torch.Tensor) -> tuple[float, float]:
        """(distance, PSNR in dB) of ``image`` to ``reference``."""
        return self.distance(image, reference), psnr(image, reference)

    def shift_floor(self, method: Callable[[torch.Tensor], torch.Tensor], photo: torch.Tensor, output: torch.Tensor,
                    shift: int = SHIFT) -> tuple[float, float]:
        """(distance, PSNR) of ``method`` on ``photo`` shifted by ``shift`` pixels to its ``output``
        on ``photo`` itself, on the overlap (the photo loses its ``shift`` leftmost columns)."""
        shifted = method(photo[..., shift:]).to(output.device)
        return self.pair(shifted, output[..., shift:])


def psnr(image: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB of RGB images in [0,1] (``inf`` when equal)."""
    return _psnr(image.clamp(0, 1), reference.clamp(0, 1), data_range=1.0)
