"""`imgperc eval video`: the warping error of processed clips against their source.

The measure of Lai et al. (ECCV 2018, "Learning Blind Video Temporal Consistency"): optical flow
between consecutive *source* frames (`.flow`: DIS, at most 320 pixels on the longest side),
occluded pixels masked out by the forward-backward check, each clip's frame t+1 warped onto its
frame t, and the masked mean squared difference in RGB [0, 1]. The source's own figure (what
interpolation, occlusions the check misses and compression leave) is the baseline; the ratio
of a clip's figure to it is the headline. The long-term variant compares frame t with t+K, with
the flow chained through the consecutive flows between them (`.flow.chain`: estimated directly,
DIS at the reduced size loses motions of more than a few pixels), and occlusions found by the
same forward-backward check on the chained flows.

The outputs may be the source at another scale (``imgperc video --size``, an upscaler): the
source is read at the output's size, so both figures are in the same pixels.
"""

from __future__ import annotations

import csv
import io
import json
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from imgperc.errors import InputError

from .flow import FLOW_SIDE, FlowEstimator, FlowPair, chain, grey
from .io import FrameReader, VideoInfo, check_range, expected_frames, probe

SOURCE = "source"
_ASPECT_PIXELS = 2.0  # rounding of sizes (--size, upscaling) may move a side by this much
_ASPECT_SHARE = 0.01  # ... or by this share of it


@dataclass
class Series:
    """Per-pair errors of every clip at one frame gap: ``(frame, frame + gap)`` pairs."""

    gap: int
    frames: list[int] = field(default_factory=list)
    reliable: list[float] = field(default_factory=list)
    errors: dict[str, list[float]] = field(default_factory=dict)

    def add(self, frame: int, reliable: float, errors: dict[str, float]) -> None:
        self.frames.append(frame)
        self.reliable.append(reliable)
        for name, error in errors.items():
            self.errors.setdefault(name, []).append(error)

    def mean(self, name: str) -> float | None:
        values = self.errors.get(name, [])
        return sum(values) / len(values) if values else None

    def ratio(self, name: str) -> float | None:
        """``name``'s mean error over the source's (None without pairs or a still source)."""
        mine, source = self.mean(name), self.mean(SOURCE)
        return None if mine is None or not source else mine / source


@dataclass
class VideoEvaluation:
    """Short-term (consecutive frames) and long-term (``gap`` apart) warping errors."""

    source: str
    outputs: list[str]
    width: int
    height: int
    frames: int
    short: Series
    long: Series | None

    def series(self) -> list[tuple[str, Series]]:
        return [("short", self.short)] + ([("long", self.long)] if self.long is not None else [])

    def to_csv(self) -> str:
        """One row per frame pair and gap, then the mean and the ratio rows of each gap."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        names = [SOURCE, *self.outputs]
        writer.writerow(["kind", "frame", "to", "reliable", *names])
        for kind, series in self.series():
            for i, frame in enumerate(series.frames):
                writer.writerow([kind, frame, frame + series.gap, f"{series.reliable[i]:.4f}",
                                 *(f"{series.errors[n][i]:.6g}" for n in names)])
        for kind, series in self.series():
            writer.writerow([f"mean {kind}", "", "", "", *(_cell(series.mean(n)) for n in names)])
            writer.writerow([f"ratio {kind}", "", "", "", *(_cell(series.ratio(n)) for n in names)])
        return out.getvalue()

    def to_json(self) -> str:
        """Settings, per-pair errors, means and ratios, as JSON."""
        doc: dict[str, Any] = {
            "source": self.source,
            "outputs": self.outputs,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "metric": {
                "error": "masked mean squared difference, RGB in [0, 1], frame t vs frame t+gap warped onto it (Lai et al. 2018)",
                "flow": f"OpenCV DIS, ULTRAFAST preset, grey source frames at most {FLOW_SIDE} pixels on the longest side; "
                        "long-term flow chained through the consecutive flows between t and t+gap",
                "occlusion": "forward-backward check |f + b|^2 > 0.01 (|f|^2 + |b|^2) + 0.5 (Sundaram et al. 2010)",
            },
        }
        for kind, series in self.series():
            doc[kind] = {
                "gap": series.gap,
                "mean": {n: series.mean(n) for n in (SOURCE, *self.outputs)},
                "ratio": {n: series.ratio(n) for n in self.outputs},
                "pairs": [
                    {"frame": f, "to": f + series.gap, "reliable": series.reliable[i],
                     "errors": {n: series.errors[n][i] for n in (SOURCE, *self.outputs)}}
                    for i, f in enumerate(series.frames)
                ],
            }
        return json.dumps(doc, indent=2, allow_nan=False)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def content_size(source: VideoInfo, output: VideoInfo) -> tuple[int, int]:
    """The picture size of ``output`` without the row or column that an odd size gains when
    encoded (`.io.FrameWriter`), if it shows ``source`` at some scale; else an InputError."""
    sw, sh = source.width, source.height
    best: tuple[float, tuple[int, int]] | None = None
    for width in _unpadded(output.width):
        for height in _unpadded(output.height):
            off = min(abs(height - width * sh / sw) / max(_ASPECT_PIXELS, _ASPECT_SHARE * height),
                      abs(width - height * sw / sh) / max(_ASPECT_PIXELS, _ASPECT_SHARE * width))
            if best is None or off < best[0]:
                best = (off, (width, height))
    if best is None or best[0] > 1.0:
        raise InputError(f"{source.path} is {sw}x{sh} and {output.path} {output.width}x{output.height}: "
                         "not the same picture (eval video compares a clip with its source at any scale)")
    return best[1]


def _unpadded(side: int) -> list[int]:
    """The sides a picture encoded ``side`` pixels wide may have had (odd ones gain one)."""
    return [side, side - 1] if side % 2 == 0 and side > 1 else [side]


def _check(source: VideoInfo, outputs: list[VideoInfo], start: float, duration: float | None) -> tuple[int, int]:
    """The size all clips are compared at; an InputError for clips that cannot be compared."""
    check_range(source, start, duration)
    expected = expected_frames(source, start, duration)
    sizes = {(o.width, o.height) for o in outputs}
    if len(sizes) > 1:
        listed = ", ".join(f"{o.path} {o.width}x{o.height}" for o in outputs)
        raise InputError(f"the outputs differ in size ({listed}): compare outputs of one size at a time")
    for output in outputs:
        if output.rotation != source.rotation:
            raise InputError(f"{source.path} is stored rotated by {source.rotation:g} degrees and {output.path} by "
                             f"{output.rotation:g}: compare clips stored the same way")
        if expected is not None and output.frames is not None and abs(expected - output.frames) > 1:
            part = "" if (start, duration) == (0.0, None) else " in that range"
            raise InputError(f"{source.path} has about {expected} frames{part} and {output.path} {output.frames}: "
                             "eval video compares clips of the same length, frame by frame")
    return content_size(source, outputs[0])


def _frames(readers: list[FrameReader], size: tuple[int, int]) -> Iterator[list[np.ndarray]]:
    """The clips' frames in step, outputs cropped to ``size``; an InputError when one ends first."""
    width, height = size
    count = 0
    for frames in zip_longest(*readers):
        if any(frame is None for frame in frames):
            short = next(r for r, f in zip(readers, frames) if f is None)
            long = next(r for r, f in zip(readers, frames) if f is not None)
            raise InputError(f"{short.info.path} has {count} frames and {long.info.path} more: "
                             "eval video compares clips of the same length, frame by frame")
        count += 1
        yield [frame[:height, :width] for frame in frames]


def evaluate_video(
    source: Path,
    outputs: list[Path],
    *,
    gap: int = 10,
    start: float = 0.0,
    duration: float | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> VideoEvaluation:
    """Warping errors of ``outputs`` and of ``source`` (see the module docstring); ``gap`` 0
    leaves out the long-term figures. ``start``/``duration`` pick the part of ``source`` that
    the outputs show (as given to `imgperc video`); the outputs are read whole."""
    source_info = probe(source)
    output_infos = [probe(path) for path in outputs]
    names = [str(path) for path in outputs]
    if len(set(names)) < len(names) or str(source) in names:
        raise InputError("give each clip once")
    width, height = _check(source_info, output_infos, start, duration)
    short, long = Series(1), Series(gap) if gap else None
    flow = FlowEstimator()
    history: deque[list[np.ndarray]] = deque(maxlen=max(gap, 1) + 1)
    pairs: deque[FlowPair] = deque(maxlen=max(gap, 1))
    last_grey: np.ndarray | None = None
    frames = 0
    readers = [FrameReader(source_info, start=start, duration=duration, size=(width, height))]
    readers += [FrameReader(info) for info in output_infos]
    with ExitStack() as stack:
        for reader in readers:
            stack.enter_context(reader)
        for clips in _frames(readers, (width, height)):
            history.append(clips)
            previous, last_grey = last_grey, grey(clips[0])
            if previous is not None:
                pairs.append(flow.pair(previous, last_grey, width))
                _score(short, pairs[-1], history[-2], history[-1], frames - 1, names)
            if long is not None and len(history) == gap + 1:
                _score(long, chain(list(pairs)), history[0], history[-1], frames - gap, names)
            frames += 1
            if on_frame is not None:
                on_frame(frames)
    if frames < 2:
        raise InputError(f"{source} has only one frame: the warping error needs two")
    return VideoEvaluation(str(source), names, width, height, frames, short, long)


def _score(series: Series, pair: FlowPair, earlier: list[np.ndarray], later: list[np.ndarray], frame: int, names: list[str]) -> None:
    errors, reliable = {}, 0.0
    for name, a, b in zip([SOURCE, *names], earlier, later):
        errors[name], reliable = pair.warping_error(a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0)
    series.add(frame, reliable, errors)
