"""`imgperc eval sr`: the standard super-resolution benchmark protocol.

For each high-resolution ground-truth image (HR):

1. HR is cropped to a multiple of the scale (keeping the top-left corner, like Matlab's
   ``modcrop``).
2. The low-resolution input (LR) is made from it: ``bicubic`` degradation is Pillow's bicubic
   downsampling (the benchmark protocol, which reproduces the paper's bicubic row); ``blur``
   first applies the training degradation's Gaussian blur (sigma 1.0, :mod:`.degrade`);
   ``jpeg50`` and ``blur-noise-jpeg60`` are the fixed real-world chains of
   :mod:`.eval_degradations`. LR is rounded to the ground truth's bit depth (8 bits after
   JPEG), as if saved to a file.
3. Every method (bicubic interpolation always, then each model) upscales LR as
   `imgperc upscale` would; outputs are rounded the same way.
4. PSNR and SSIM are computed on the Y channel with ``scale`` pixels cropped from each border
   (:mod:`imgperc.metrics`). The spectral peak measure (:mod:`.spectral`) is computed on the
   same cropped Y of every output and of the ground truth: about 1 for photos, tens with a grid.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from imgperc.errors import InputError
from imgperc.io import Image, read_image
from imgperc.metrics import SSIM_WINDOW, crop_border, psnr, rgb_to_y, ssim

from .bicubic import downscale_bicubic
from .degrade import degrade, quantize
from .eval_degradations import EVAL_DEGRADATIONS, REAL_WORLD
from .spectral import peak_ratio_y
from .upscale import Upscaler, upscale_image

BICUBIC = "bicubic"
TRUTH = "ground truth"  # the method column of the ground truth's own peak measure


@dataclass(frozen=True)
class Score:
    """Y-channel PSNR (dB) and SSIM, and the spectral peak measure (:mod:`.spectral`)."""

    psnr: float
    ssim: float
    peak: float


@dataclass
class ImageScores:
    """One ground-truth image: its (cropped) size, its own peak measure and each method's score."""

    image: str
    width: int
    height: int
    truth_peak: float
    scores: dict[str, Score] = field(default_factory=dict)


@dataclass
class Evaluation:
    """The scores of every method on every image of one data set."""

    data: str
    scale: int
    degradation: str
    histogram_match: bool
    methods: list[str]
    images: list[ImageScores] = field(default_factory=list)

    def means(self) -> dict[str, Score]:
        """Each method's mean PSNR, SSIM and peak measure over the images (the tables' convention)."""
        n = len(self.images)
        return {
            m: Score(*(sum(getattr(i.scores[m], f) for i in self.images) / n for f in ("psnr", "ssim", "peak")))
            for m in self.methods
        }

    def truth_peak(self) -> float:
        """The ground truth's mean peak measure, the reference for the methods'."""
        return sum(i.truth_peak for i in self.images) / len(self.images)

    def to_json(self) -> str:
        """Settings, per-image and mean scores as JSON (an infinite PSNR is written as null)."""

        def pair(score: Score) -> dict[str, float | None]:
            return {"psnr": score.psnr if math.isfinite(score.psnr) else None, "ssim": score.ssim, "peak": score.peak}

        doc: dict[str, Any] = {
            "data": self.data,
            "scale": self.scale,
            "degradation": self.degradation,
            "histogram_match": self.histogram_match,
            "metric": {"channel": "Y (BT.601, Matlab rgb2ycbcr)", "border": self.scale, "ssim_window": "11x11 Gaussian, sigma 1.5",
                       "peak": f"Y power at k/{self.scale} cycles per pixel (rows, columns, both; 2-D Hann window) over the "
                               "median power 2-4 bins around it, median over those frequencies"},
            "methods": self.methods,
            "images": [
                {"image": i.image, "width": i.width, "height": i.height, "ground_truth": {"peak": i.truth_peak},
                 "scores": {m: pair(s) for m, s in i.scores.items()}}
                for i in self.images
            ],
            "mean": {m: pair(s) for m, s in self.means().items()},
            "ground_truth": {"peak": self.truth_peak()},
        }
        return json.dumps(doc, indent=2, allow_nan=False)

    def to_csv(self) -> str:
        """One row per image and method and a ``ground truth`` row (its peak measure only), then
        the same ``mean`` rows."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["image", "width", "height", "method", "psnr", "ssim", "peak"])
        for i in self.images:
            for m in self.methods:
                s = i.scores[m]
                writer.writerow([i.image, i.width, i.height, m, f"{s.psnr:.4f}", f"{s.ssim:.6f}", f"{s.peak:.4f}"])
            writer.writerow([i.image, i.width, i.height, TRUTH, "", "", f"{i.truth_peak:.4f}"])
        for m, s in self.means().items():
            writer.writerow(["mean", "", "", m, f"{s.psnr:.4f}", f"{s.ssim:.6f}", f"{s.peak:.4f}"])
        writer.writerow(["mean", "", "", TRUTH, "", "", f"{self.truth_peak():.4f}"])
        return out.getvalue()


def ground_truth(image: Image, scale: int) -> Image:
    """``image`` cropped to a multiple of ``scale`` (top-left kept), without alpha.

    It must keep an SSIM window after the border crop: InputError for smaller images.
    """
    w, h = image.size
    width, height = w - w % scale, h - h % scale
    smallest = SSIM_WINDOW + 2 * scale
    if width < smallest or height < smallest:
        raise InputError(f"a {w}x{h} image is too small to evaluate x{scale} (at least {smallest}x{smallest} pixels)")
    return Image(pixels=image.pixels[:, :height, :width].contiguous(), alpha=None, bit_depth=image.bit_depth, grayscale=image.grayscale)


def low_resolution(truth: Image, scale: int, degradation: str) -> Image:
    """The degraded, downscaled, rounded input made from the ground truth."""
    if degradation not in EVAL_DEGRADATIONS:
        raise ValueError(f"unknown degradation '{degradation}' (choose from {', '.join(EVAL_DEGRADATIONS)})")
    if degradation in REAL_WORLD:
        return Image(pixels=REAL_WORLD[degradation](truth.pixels, scale), alpha=None, bit_depth=8, grayscale=truth.grayscale)
    hr = truth.pixels[None]
    lr = downscale_bicubic(hr, scale) if degradation == BICUBIC else degrade(hr, scale)
    return Image(pixels=quantize(lr[0], truth.bit_depth), alpha=None, bit_depth=truth.bit_depth, grayscale=truth.grayscale)


def _y(rgb: torch.Tensor, scale: int) -> torch.Tensor:
    """The luma the scores are computed on: Y (BT.601), ``scale`` pixels cropped from each border."""
    return crop_border(rgb_to_y(rgb), scale)


def evaluate(
    files: list[Path],
    scale: int,
    upscalers: dict[str, Upscaler],
    *,
    degradation: str = BICUBIC,
    data: Path | None = None,
    histogram_match: bool = True,
    on_image: Callable[[Path, Image, Image, dict[str, torch.Tensor], ImageScores], None] | None = None,
) -> Evaluation:
    """Score each upscaler (by name, bicubic included by the caller) on each ground-truth file.

    Images are named by their path below ``data`` (the data set's folder) when given.

    ``on_image(path, truth, low, outputs, scores)`` is called after each image (crops, progress).
    """
    result = Evaluation(data=str(data or ""), scale=scale, degradation=degradation, histogram_match=histogram_match, methods=list(upscalers))
    for path in files:
        image = read_image(path)
        try:
            truth = ground_truth(image, scale)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        low = low_resolution(truth, scale, degradation)
        name = path.relative_to(data).as_posix() if data is not None else path.name
        truth_y = _y(truth.pixels, scale)
        scores = ImageScores(name, *truth.size, truth_peak=peak_ratio_y(truth_y, scale))
        outputs = {}
        for name, upscaler in upscalers.items():
            output = quantize(upscale_image(upscaler, low).pixels, truth.bit_depth)
            outputs[name] = output
            y = _y(output, scale)
            scores.scores[name] = Score(psnr(y, truth_y), ssim(y, truth_y), peak_ratio_y(y, scale))
        result.images.append(scores)
        if on_image is not None:
            on_image(path, truth, low, outputs, scores)
    return result
