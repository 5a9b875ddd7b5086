"""Optical flow between frames, its reliability, warping, and the warping error.

Flow is OpenCV's DIS (Kroeger et al. 2016) at its ULTRAFAST preset, on grey frames whose
longest side is at most `FLOW_SIDE` pixels: under a millisecond a pair on one core. A `FlowPair`
holds both directions at that reduced size; everything else (warping a frame of any size,
masks) scales it up on demand, so one estimate serves the source, a ``--size``d net input and
an upscaler's output alike.

Occlusions are found with the forward-backward check of Sundaram et al. 2010 (as in Ruder et
al. 2016): a pixel is unreliable where ``|f + b(x + f)|² > 0.01 (|f|² + |b(x + f)|²) + 0.5``,
flows in pixels of the full-size frame, and where the flow leaves the frame. Flows over
several frames are composed from the consecutive ones (`chain`). The warping error (Lai et al. 2018) of two frames is the
mean squared difference, over reliable pixels and the three RGB channels in [0, 1], between the
earlier frame and the later one warped back onto it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

FLOW_SIDE = 320  # longest side of the frames the flow is estimated on
_MIN_SIDE = 16  # DIS needs a few patches: smaller frames are padded
_FB_RELATIVE, _FB_ABSOLUTE = 0.01, 0.5

cv2.setNumThreads(1)  # a few milliseconds of work per frame: the network keeps the cores


def flow_size(width: int, height: int, side: int = FLOW_SIDE) -> tuple[int, int]:
    """(width, height) of the grey frames the flow of ``width`` x ``height`` frames is estimated on."""
    factor = min(1.0, side / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def grey(frame: np.ndarray, side: int = FLOW_SIDE) -> np.ndarray:
    """A ``[H,W,3]`` uint8 RGB frame as the uint8 grey image the flow is estimated on."""
    height, width = frame.shape[:2]
    size = flow_size(width, height, side)
    small = frame if size == (width, height) else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY)


@lru_cache(maxsize=4)
def _grid(height: int, width: int) -> np.ndarray:
    """Pixel coordinates ``[H,W,2]`` (x, y); shared: never write into it."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.dstack([xs, ys])


def warp(image: np.ndarray, flow: np.ndarray, *, cubic: bool = False) -> np.ndarray:
    """``image`` sampled at ``x + flow(x)`` (bilinear, or bicubic: sharper when warped again and
    again; edges repeated); ``flow`` is ``[H,W,2]`` (x, y) in ``image``'s pixels, at its size."""
    method = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    return cv2.remap(image, _grid(*flow.shape[:2]) + flow, None, method, borderMode=cv2.BORDER_REPLICATE)


def resize_flow(flow: np.ndarray, width: int, height: int) -> np.ndarray:
    """``flow`` resized to ``width`` x ``height``, its vectors in pixels of that size."""
    h, w = flow.shape[:2]
    if (w, h) == (width, height):
        return flow
    big = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    big[..., 0] *= width / w
    big[..., 1] *= height / h
    return big


def resize_map(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """A ``[h,w]`` float map resized (bilinear) to ``[height, width]``."""
    if values.shape[:2] == (height, width):
        return values
    return cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)


def consistent(flow: np.ndarray, back: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Where ``flow`` (A -> B, in A's grid) stays inside B and passes the forward-backward check
    against ``back`` (B -> A, in B's grid): a float mask of 1s and 0s. ``factor`` converts the
    flows' pixels into those of the full-size frames, whose units the check's constants are in."""
    height, width = flow.shape[:2]
    target = _grid(height, width) + flow
    returned = cv2.remap(back, target, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    gap = _squared(flow + returned)
    length = _squared(flow) + _squared(returned)
    bad = gap * factor**2 > _FB_RELATIVE * length * factor**2 + _FB_ABSOLUTE
    x, y = cv2.split(target)
    bad |= (x < 0) | (x > width - 1) | (y < 0) | (y > height - 1)
    return (~bad).astype(np.float32)


def _squared(vectors: np.ndarray) -> np.ndarray:
    """``|v|²`` of each vector of a ``[H,W,2]`` field."""
    x, y = cv2.split(vectors)
    return x * x + y * y


class FlowEstimator:
    """DIS optical flow, ULTRAFAST preset, both ways between two `grey` frames."""

    def __init__(self) -> None:
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)

    def _calc(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        h, w = a.shape
        pad = ((0, max(0, _MIN_SIDE - h)), (0, max(0, _MIN_SIDE - w)))
        if any(after for _, after in pad):
            a, b = np.pad(a, pad, mode="edge"), np.pad(b, pad, mode="edge")
        return self._dis.calc(a, b, None)[:h, :w]

    def pair(self, earlier: np.ndarray, later: np.ndarray, full_width: int) -> FlowPair:
        """The flow both ways between two grey frames, made from frames ``full_width`` wide."""
        return FlowPair(self._calc(earlier, later), self._calc(later, earlier), full_width / earlier.shape[1])


def chain(pairs: list[FlowPair]) -> FlowPair:
    """The flow between the first frame of ``pairs`` (consecutive pairs) and the last, both
    ways, composed step by step: each step's motion is small, which DIS at the reduced size
    follows far better than one long jump."""
    forward = pairs[-1].forward
    for pair in reversed(pairs[:-1]):
        forward = pair.forward + warp(forward, pair.forward)
    backward = pairs[0].backward
    for pair in pairs[1:]:
        backward = pair.backward + warp(backward, pair.backward)
    return FlowPair(forward, backward, pairs[0].factor)


@dataclass
class FlowPair:
    """The flow between an earlier and a later frame, both ways, at the reduced size.

    ``forward`` (earlier -> later) lives in the earlier frame's grid, ``backward`` in the later
    one's; ``factor`` is the full frames' width over the reduced one's.
    """

    forward: np.ndarray
    backward: np.ndarray
    factor: float
    _masks: dict[bool, np.ndarray] = field(default_factory=dict, repr=False)
    _scaled: dict[tuple[int, int], tuple[np.ndarray, int, np.ndarray]] = field(default_factory=dict, repr=False)

    def reliable(self, in_earlier: bool) -> np.ndarray:
        """The forward-backward mask (1: reliable) in the earlier frame's grid, or the later one's."""
        if in_earlier not in self._masks:
            there, back = (self.forward, self.backward) if in_earlier else (self.backward, self.forward)
            self._masks[in_earlier] = consistent(there, back, self.factor)
        return self._masks[in_earlier]

    def warping_error(self, earlier: np.ndarray, later: np.ndarray) -> tuple[float, float]:
        """Lai et al.'s warping error of two ``[H,W,3]`` float frames in [0, 1] of any (same) size:
        the masked MSE between ``earlier`` and ``later`` warped onto it; and the share of pixels
        that were reliable (the error is 0 when none is). Mask and flow at that size are kept,
        so scoring several clips against one pair resizes them once."""
        height, width = earlier.shape[:2]
        if (width, height) not in self._scaled:
            mask = (resize_map(self.reliable(True), width, height) > 0.5).view(np.uint8)
            self._scaled[width, height] = mask, cv2.countNonZero(mask), resize_flow(self.forward, width, height)
        mask, count, flow = self._scaled[width, height]
        if count == 0:
            return 0.0, 0.0
        difference = cv2.subtract(earlier, warp(later, flow))
        error = sum(cv2.mean(cv2.multiply(difference, difference), mask=mask)[:3]) / 3
        return float(error), count / mask.size
