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
   (:mod:`imgperc.metrics`). The spectral peak measure (:mod:`.spectral`) and NIQE
   (:mod:`.niqe`, no reference, lower is better) are computed on the same cropped Y of every
   output and of the ground truth; NIQE is None for images too small for it.

`evaluate_photos` is the no-reference mode: each file is itself the low-resolution input (no
degradation, no ground truth), and only the peak measure and NIQE of each output are scored.
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
from .niqe import niqe_y
from .spectral import peak_ratio_y
from .upscale import Upscaler, upscale_image

BICUBIC = "bicubic"
PHOTO_MIN = 4  # pixels: an xS output keeps 2·S after the S-pixel border crop, the peak measure's least
TRUTH = "ground truth"  # the method column of the ground truth's own peak measure and NIQE
FIELDS = ("psnr", "ssim", "peak", "niqe")
NO_REFERENCE = ("peak", "niqe")  # the figures that need no ground truth


@dataclass(frozen=True)
class Score:
    """Y-channel PSNR (dB) and SSIM (None without ground truth), the spectral peak measure
    (:mod:`.spectral`) and NIQE (:mod:`.niqe`; None for an image too small for it)."""

    psnr: float | None
    ssim: float | None
    peak: float
    niqe: float | None = None


@dataclass
class ImageScores:
    """One image: its size (the ground truth's, cropped; the photo's without ground truth), the
    ground truth's own peak measure and NIQE (None without), and each method's score."""

    image: str
    width: int
    height: int
    truth_peak: float | None
    scores: dict[str, Score] = field(default_factory=dict)
    truth_niqe: float | None = None


def _mean(values: list[float | None]) -> float | None:
    """The mean of the values that are not None (NIQE: of the images large enough); None if none."""
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


@dataclass
class Evaluation:
    """The scores of every method on every image of one data set (``reference`` False: photos
    without ground truth, `evaluate_photos`; ``degradation`` is then None)."""

    data: str
    scale: int
    degradation: str | None
    histogram_match: bool
    methods: list[str]
    images: list[ImageScores] = field(default_factory=list)
    reference: bool = True

    @property
    def fields(self) -> tuple[str, ...]:
        """The scores reported: all four, or only the no-reference ones."""
        return FIELDS if self.reference else NO_REFERENCE

    def means(self) -> dict[str, Score]:
        """Each method's mean scores over the images (the tables' convention)."""
        return {m: Score(*(_mean([getattr(i.scores[m], f) for i in self.images]) for f in FIELDS)) for m in self.methods}

    def truth_peak(self) -> float | None:
        """The ground truth's mean peak measure, the reference for the methods'."""
        return _mean([i.truth_peak for i in self.images])

    def truth_niqe(self) -> float | None:
        """The ground truth's mean NIQE (over the images large enough for it)."""
        return _mean([i.truth_niqe for i in self.images])

    def to_json(self) -> str:
        """Settings, per-image and mean scores as JSON (an infinite PSNR and a missing NIQE are null)."""

        def pair(score: Score) -> dict[str, float | None]:
            values = {f: getattr(score, f) for f in self.fields}
            return {f: v if v is None or math.isfinite(v) else None for f, v in values.items()}

        metric = {"channel": "Y (BT.601, Matlab rgb2ycbcr)", "border": self.scale, "ssim_window": "11x11 Gaussian, sigma 1.5",
                  "peak": f"Y power at k/{self.scale} cycles per pixel (rows, columns, both; 2-D Hann window) over the "
                          "median power 2-4 bins around it, median over those frequencies",
                  "niqe": "NIQE (Mittal et al. 2013; 96x96 blocks, authors' pristine model), lower is better; null below "
                          "192x96 pixels; means over the images that have it"}
        doc: dict[str, Any] = {
            "data": self.data,
            "scale": self.scale,
            "degradation": self.degradation,
            "no_reference": not self.reference,
            "histogram_match": self.histogram_match,
            "metric": metric if self.reference else {k: v for k, v in metric.items() if k != "ssim_window"},
            "methods": self.methods,
            "images": [
                {"image": i.image, "width": i.width, "height": i.height,
                 **({"ground_truth": {"peak": i.truth_peak, "niqe": i.truth_niqe}} if self.reference else {}),
                 "scores": {m: pair(s) for m, s in i.scores.items()}}
                for i in self.images
            ],
            "mean": {m: pair(s) for m, s in self.means().items()},
        }
        if self.reference:
            doc["ground_truth"] = {"peak": self.truth_peak(), "niqe": self.truth_niqe()}
        return json.dumps(doc, indent=2, allow_nan=False)

    def to_csv(self) -> str:
        """One row per image and method and a ``ground truth`` row (its peak measure and NIQE
        only), then the same ``mean`` rows; without ground truth, the peak and NIQE columns only."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["image", "width", "height", "method", *self.fields])
        digits = {"psnr": 4, "ssim": 6, "peak": 4, "niqe": 4}

        def cells(values: dict[str, float | None]) -> list[str]:
            return ["" if (v := values.get(f)) is None else f"{v:.{digits[f]}f}" for f in self.fields]

        for i in self.images:
            for m in self.methods:
                writer.writerow([i.image, i.width, i.height, m, *cells(vars(i.scores[m]))])
            if self.reference:
                writer.writerow([i.image, i.width, i.height, TRUTH, *cells({"peak": i.truth_peak, "niqe": i.truth_niqe})])
        for m, s in self.means().items():
            writer.writerow(["mean", "", "", m, *cells(vars(s))])
        if self.reference:
            writer.writerow(["mean", "", "", TRUTH, *cells({"peak": self.truth_peak(), "niqe": self.truth_niqe()})])
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


def photo_input(image: Image, scale: int) -> Image:
    """A photo as the no-reference mode's low-resolution input, without alpha; InputError when
    its x``scale`` output would keep nothing to score after the ``scale``-pixel border crop."""
    w, h = image.size
    if w < PHOTO_MIN or h < PHOTO_MIN:
        raise InputError(f"a {w}x{h} photo is too small to evaluate x{scale} (at least {PHOTO_MIN}x{PHOTO_MIN} pixels)")
    return Image(pixels=image.pixels, alpha=None, bit_depth=image.bit_depth, grayscale=image.grayscale)


def _y(rgb: torch.Tensor, scale: int) -> torch.Tensor:
    """The luma the scores are computed on: Y (BT.601), ``scale`` pixels cropped from each border."""
    return crop_border(rgb_to_y(rgb), scale)


def _niqe(y: torch.Tensor) -> float | None:
    """NIQE of the cropped luma; None for an image too small for it (or flat: undefined)."""
    try:
        value = niqe_y(y)
    except InputError:
        return None
    return value if math.isfinite(value) else None


def _upscaled(upscalers: dict[str, Upscaler], low: Image, bit_depth: int) -> dict[str, torch.Tensor]:
    """Each method's output of ``low``, rounded to ``bit_depth`` as if saved to a file."""
    return {method: quantize(upscale_image(upscaler, low).pixels, bit_depth) for method, upscaler in upscalers.items()}


def _score(outputs: dict[str, torch.Tensor], scale: int, truth_y: torch.Tensor | None) -> dict[str, Score]:
    """Each output's scores on its cropped luma: PSNR and SSIM against ``truth_y`` (None: no
    ground truth, and none of the two), the peak measure and NIQE."""
    scores = {}
    for method, output in outputs.items():
        y = _y(output, scale)
        fidelity = (psnr(y, truth_y), ssim(y, truth_y)) if truth_y is not None else (None, None)
        scores[method] = Score(*fidelity, peak_ratio_y(y, scale), _niqe(y))
    return scores


def _read(path: Path, prepare: Callable[[Image, int], Image], scale: int) -> Image:
    """``prepare(image, scale)`` of the file, its path added to a size error."""
    image = read_image(path)
    try:
        return prepare(image, scale)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


OnImage = Callable[[Path, "Image | None", Image, dict[str, torch.Tensor], ImageScores], None]


def evaluate(
    files: list[Path],
    scale: int,
    upscalers: dict[str, Upscaler],
    *,
    degradation: str = BICUBIC,
    data: Path | None = None,
    histogram_match: bool = True,
    on_image: OnImage | None = None,
) -> Evaluation:
    """Score each upscaler (by name, bicubic included by the caller) on each ground-truth file.

    Images are named by their path below ``data`` (the data set's folder) when given.

    ``on_image(path, truth, low, outputs, scores)`` is called after each image (crops, progress).
    """
    result = Evaluation(data=str(data or ""), scale=scale, degradation=degradation, histogram_match=histogram_match, methods=list(upscalers))
    for path in files:
        truth = _read(path, ground_truth, scale)
        low = low_resolution(truth, scale, degradation)
        truth_y = _y(truth.pixels, scale)
        outputs = _upscaled(upscalers, low, truth.bit_depth)
        scores = ImageScores(_name(path, data), *truth.size, truth_peak=peak_ratio_y(truth_y, scale), truth_niqe=_niqe(truth_y),
                             scores=_score(outputs, scale, truth_y))
        result.images.append(scores)
        if on_image is not None:
            on_image(path, truth, low, outputs, scores)
    return result


def evaluate_photos(
    files: list[Path],
    scale: int,
    upscalers: dict[str, Upscaler],
    *,
    data: Path | None = None,
    histogram_match: bool = True,
    on_image: OnImage | None = None,
) -> Evaluation:
    """The no-reference mode: each file (a real photo) is itself the low-resolution input, with
    no degradation and no ground truth; each method's output gets the peak measure and NIQE
    only. ``on_image(path, None, low, outputs, scores)`` is called after each photo."""
    result = Evaluation(str(data or ""), scale, None, histogram_match, list(upscalers), reference=False)
    for path in files:
        low = _read(path, photo_input, scale)
        outputs = _upscaled(upscalers, low, low.bit_depth)
        scores = ImageScores(_name(path, data), *low.size, truth_peak=None, scores=_score(outputs, scale, None))
        result.images.append(scores)
        if on_image is not None:
            on_image(path, None, low, outputs, scores)
    return result


def _name(path: Path, data: Path | None) -> str:
    return path.relative_to(data).as_posix() if data is not None else path.name
