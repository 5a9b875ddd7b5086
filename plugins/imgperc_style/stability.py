"""The stability term of `imgperc distill` (Gupta et al. 2017; ReCoNet, Gao et al. 2018): a
student's output should move with its input, so that video frames, whose content shifts by a few
pixels and carries fresh compression noise from one frame to the next, do not boil.

The student runs a second time on the batch shifted by a random few pixels (in both directions)
with a little Gaussian noise added; the term is the mean absolute difference between that output
and the first output shifted alike, away from the borders (where padding differs).
"""

from __future__ import annotations

import torch
from torch import nn

STRIDE = 4  # the shifted input is the photo cropped by this much, so that its sides stay multiples of the nets' strides
MARGIN = 16  # output pixels at each border left out of the comparison (padding reaches them)
NOISE = 0.02  # standard deviation of the noise added to the shifted input (RGB in [0,1], about 5 of 255 levels)
SMALLEST_CROP = 2 * MARGIN + STRIDE  # training crops must be larger than this, so that something is compared


def shift_stability(net: nn.Module, photos: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """L1 distance of ``net``'s output on ``photos`` ``[N,3,H,W]`` shifted by 1 to `STRIDE` pixels
    down and right (cropped) with `NOISE`, to ``output`` (its output on ``photos``) shifted alike."""
    if min(photos.shape[-2:]) <= SMALLEST_CROP:
        raise ValueError(f"the stability term needs crops over {SMALLEST_CROP} pixels, got {tuple(photos.shape[-2:])}")
    height, width = photos.shape[-2] - STRIDE, photos.shape[-1] - STRIDE
    dy, dx = (int(v) for v in torch.randint(1, STRIDE + 1, (2,)))
    moved = photos[..., dy : dy + height, dx : dx + width]
    moved = moved + NOISE * torch.randn_like(moved)
    again = net(moved)
    inner = (slice(None), slice(None), slice(MARGIN, height - MARGIN), slice(MARGIN, width - MARGIN))
    before = output[..., dy : dy + height, dx : dx + width]
    return (again[inner] - before[inner]).abs().mean()
