"""Frame-to-frame behaviour of a processed sequence: flow-guided consistency and its measure.

Per-frame networks (style transfer above all) flicker: tiny input changes, down to compression
noise, change the output a lot. With ``--consistency S`` each output frame is blended with the
previous *shown* output warped along the source's optical flow (`.flow`), at weight S where the
flow is reliable and 0 where it is not; a scene cut resets it. The work is split in two halves
that run beside the network in the pipeline (`.runner`): `MotionTracker`, in the decoder thread,
estimates the flow and decides the weights on small grey frames; `Stabilizer`, in the encoder
thread, applies them to the output frames at their size (any scale) and measures the warping
error of source and output (`--stats`).

A plain linear blend is a moving average of textures that boil independently: it shrinks their
contrast (by sqrt((1-S)/(1+S)) at weight S) and the repeated sub-pixel warps blur them, so the
style washes out. `blend_detail` therefore blends the picture above the finest detail linearly,
and keeps the detail's local energy at its recent level by amplifying the carried detail (not
the fresh one, whose boiling would come back).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from .flow import FlowEstimator, FlowPair, grey, resize_flow, resize_map, warp

CHANGE_THRESHOLD = 0.1  # grey change (in [0,1]) left after warping at which the weight falls to 0
CUT_CHANGE = 0.1  # grey change left after warping above which a pixel cannot be followed from the last frame
CUT_SHARE = 0.5  # a frame of which less than this share can be followed from the last one is a cut
DETAIL_SIGMA = 0.7  # Gaussian (output pixels) splitting off the finest detail, whose contrast blending keeps
MAX_GAIN = 2.0  # the most the carried detail is amplified by


@dataclass(frozen=True)
class Motion:
    """What the decoder learnt about one frame: the flow from the frame before (None for the
    first), and the blend weights at the flow's size (None: do not blend)."""

    pair: FlowPair | None
    weight: np.ndarray | None


class MotionTracker:
    """Flow and blend weights of each frame against the one before (decoder side).

    The weight of a pixel is ``strength`` where the flow passes the forward-backward check and
    the grey input warped from what the previous shown frame stands for matches the new input,
    falling linearly to 0 at a change of `CHANGE_THRESHOLD`. The reference input is itself
    blended like the output, so slow changes (light, colour) add up and refresh the picture
    instead of lagging behind. A frame where less than `CUT_SHARE` of the pixels pass the check
    with a change under `CUT_CHANGE` is a cut: no blending.
    """

    def __init__(self, strength: float) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"consistency must be in [0, 1], got {strength}")
        self.strength = strength
        self.seconds = 0.0
        self.cuts = 0
        self._flow = FlowEstimator()
        self._grey: np.ndarray | None = None
        self._shown: np.ndarray | None = None  # the blended grey input (float, [0, 1])

    def __call__(self, frame: np.ndarray) -> Motion:
        tick = time.perf_counter()
        current = grey(frame)
        previous, self._grey = self._grey, current
        level = current.astype(np.float32) / 255.0
        if previous is None or previous.shape != current.shape:
            self._shown = level
            self.seconds += time.perf_counter() - tick
            return Motion(None, None)
        pair = self._flow.pair(previous, current, frame.shape[1])
        weight = None
        if self.strength > 0 and self._shown is not None:
            carried = warp(self._shown, pair.backward)
            change = cv2.blur(np.abs(level - carried), (3, 3))
            reliable = pair.reliable(False)
            if float((reliable * (change < CUT_CHANGE)).mean()) < CUT_SHARE:
                self.cuts += 1
                weight = None
            else:
                weight = reliable * np.clip(1.0 - change / CHANGE_THRESHOLD, 0.0, 1.0)
                weight = cv2.blur(weight, (3, 3)) * self.strength
                level = level + weight * (carried - level)
        self._shown = level
        self.seconds += time.perf_counter() - tick
        return Motion(pair, weight)


def _low(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur, the kernel cut at about 3 sigma."""
    size = 2 * round(3 * sigma) + 1
    return cv2.GaussianBlur(image, (size, size), sigma)


_RGB_SUM = np.ones((1, 3), np.float32)


def _local(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The local mean of ``x · y`` (summed over RGB), over a window twice the detail's."""
    return _low(cv2.transform(cv2.multiply(x, y), _RGB_SUM), 2 * DETAIL_SIGMA)


def blend_detail(
    carried: np.ndarray, fresh: np.ndarray, weight: np.ndarray, energy: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``carried`` (the previous output, warped) blended into ``fresh`` at ``weight`` ``[H,W]``,
    keeping the contrast of the finest detail; returns the blend and the detail's target energy.

    Below `DETAIL_SIGMA` the two blend linearly. The detail (what that blur removes) is
    ``(1-w) fresh + g w carried``, its gain ``g`` in [1, `MAX_GAIN`] solved per pixel so that
    its local energy (mean square) matches the target: the fresh detail's energy blended with
    ``energy`` (the previous target, warped; None after a reset) at the same weight, so the
    target is steady where the fresh energy boils. Only the carried detail is amplified, which
    makes up for what averaging and warping took from it without bringing the flicker back.
    """
    old = cv2.subtract(carried, _low(carried, DETAIL_SIGMA))
    new = cv2.subtract(fresh, _low(fresh, DETAIL_SIGMA))
    a = 1.0 - weight
    fresh_energy = _local(new, new)
    target = fresh_energy if energy is None else cv2.blendLinear(energy, fresh_energy, weight, a)
    # |a·new + g·w·old|² = target, locally: (w² E_old) g² + 2 (a w E_cross) g + (a² E_new - target) = 0
    quadratic = weight * weight * _local(old, old)
    linear = a * weight * _local(old, new)
    constant = a * a * fresh_energy - target
    root = np.sqrt(np.maximum(linear * linear - quadratic * constant, 0.0))
    gain = np.clip((root - linear) / np.maximum(quadratic, 1e-9), 1.0, MAX_GAIN)
    # low + a·new + g·w·old = a·fresh + w·(carried + (g - 1)·old)
    old *= (gain - 1.0)[..., None]
    old += carried
    return cv2.blendLinear(old, fresh, weight, a), target


class Stabilizer:
    """Blends output frames with the previous shown one warped by the flow (encoder side), and
    with ``measure`` sums the warping error of the shown output and of the source.

    Sources are ``[h,w,3]`` uint8 frames, outputs ``[H,W,3]`` float32 ones in [0, 1] of any
    multiple of the source's size (flow and weights are scaled to it); the source figure is
    taken at the output's size, as `imgperc eval video` does. Returns a new array: the frame
    as shown (clamped to [0, 1]).
    """

    def __init__(self, *, measure: bool) -> None:
        self.measure = measure
        self.seconds = 0.0
        self.pairs = 0
        self._sums = {"source": 0.0, "output": 0.0}
        self._last: dict[str, np.ndarray] = {}
        self._energy: np.ndarray | None = None  # the detail's target energy (`blend_detail`)

    def __call__(self, source: np.ndarray, output: np.ndarray, motion: Motion) -> np.ndarray:
        tick = time.perf_counter()
        height, width = output.shape[:2]
        shown = self._last.get("output")
        if motion.weight is not None and shown is not None and shown.shape == output.shape:
            flow = resize_flow(motion.pair.backward, width, height)
            carried = warp(shown, flow, cubic=True)
            weight = resize_map(motion.weight, width, height)
            energy = None if self._energy is None else warp(self._energy, flow)
            output, self._energy = blend_detail(carried, output, weight, energy)
        else:
            self._energy = None
        output = np.clip(output, 0.0, 1.0)
        if self.measure:
            source = source.astype(np.float32) / 255.0
            if source.shape[:2] != (height, width):
                source = cv2.resize(source, (width, height), interpolation=cv2.INTER_CUBIC)
            if motion.pair is not None and "source" in self._last and self._last["output"].shape == output.shape:
                for key, frame in (("source", source), ("output", output)):
                    self._sums[key] += motion.pair.warping_error(self._last[key], frame)[0]
                self.pairs += 1
            self._last["source"] = source
        self._last["output"] = output
        self.seconds += time.perf_counter() - tick
        return output

    @property
    def source_error(self) -> float | None:
        """Mean warping error of the source (None before two frames)."""
        return self._sums["source"] / self.pairs if self.pairs else None

    @property
    def output_error(self) -> float | None:
        """Mean warping error of the shown output (None before two frames)."""
        return self._sums["output"] / self.pairs if self.pairs else None

    @property
    def ratio(self) -> float | None:
        """Output warping error over the source's (lower is steadier; None if undefined)."""
        if not self.pairs or not self._sums["source"]:
            return None
        return self._sums["output"] / self._sums["source"]

