"""The spectral peak measure of `imgperc eval sr`: how much an image peaks at an upsampler's periods.

A net that upsamples ``scale`` times (pixel shuffle, transposed or nearest-neighbour stages)
can leave a faint pattern that repeats every ``scale`` pixels: a grid. Its power sits on
exact frequencies, ``k/scale`` cycles per pixel (``k = 1 .. scale-1``), as narrow peaks above
the smooth spectrum around them. `peak_ratio` measures that peakiness, not the energy level
(a sharp output has more energy everywhere, a grid only on those frequencies):

1. the power spectrum of the Y channel (mean removed, 2-D Hann window, full 2-D FFT);
2. at each frequency ``(0, k/s)`` (along rows), ``(k/s, 0)`` (along columns) and ``(k/s, k/s)``
   (both), the power divided by the median power of the ring of bins 2 to 4 bins away
   (Euclidean distance in bins; the nearest bin on each side is left out, as the window
   spreads a peak over it);
3. the median of those ``3·(scale-1)`` ratios.

Photos score about 1 (0.5 to 2.5: their spectra are smooth around those frequencies), a
faint 1% grid of period ``scale`` scores tens. Compare an output with its ground truth's figure.
"""

from __future__ import annotations

import torch

from imgperc.metrics import crop_border, rgb_to_y

RING = (2.0, 4.0)  # inner and outer radius, in frequency bins, of the reference ring


def peak_frequencies(scale: int) -> list[tuple[int, int]]:
    """The ``(row, column)`` frequencies, as multiples of ``1/scale`` cycles per pixel, measured."""
    return [f for k in range(1, scale) for f in ((0, k), (k, 0), (k, k))]


def peak_ratio_y(y: torch.Tensor, scale: int) -> float:
    """`peak_ratio` of ``[H, W]`` luma, cropped to multiples of ``scale`` (top-left kept)."""
    h, w = (n - n % scale for n in y.shape)
    if h < scale * 2 or w < scale * 2:
        raise ValueError(f"a {y.shape[1]}x{y.shape[0]} image is too small for the x{scale} peak measure")
    y = y[:h, :w].to(torch.float64)
    window = torch.outer(torch.hann_window(h, dtype=torch.float64), torch.hann_window(w, dtype=torch.float64))
    power = torch.fft.fft2((y - y.mean()) * window.to(y.device)).abs().pow(2).cpu()
    dy, dx = torch.meshgrid(torch.arange(-4, 5), torch.arange(-4, 5), indexing="ij")
    distance = (dy.double() ** 2 + dx.double() ** 2).sqrt()
    ring = (distance >= RING[0]) & (distance <= RING[1])
    dy, dx = dy[ring], dx[ring]
    floor = 1e-20  # a flat image has no power at all
    ratios = []
    for fy, fx in peak_frequencies(scale):
        row, col = fy * h // scale, fx * w // scale
        around = power[(row + dy) % h, (col + dx) % w]
        ratios.append((float(power[row, col]) + floor) / (float(around.median()) + floor))
    return float(torch.tensor(ratios).median())


def peak_ratio(rgb: torch.Tensor, scale: int, border: int | None = None) -> float:
    """The peak measure of a ``[3, H, W]`` RGB image in [0, 1], on Y (BT.601) with ``border``
    (default ``scale``, the PSNR convention) pixels cropped from each side."""
    return peak_ratio_y(crop_border(rgb_to_y(rgb), scale if border is None else border), scale)
