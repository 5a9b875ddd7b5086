"""Pictures of `imgperc video --consistency` for docs/video.md: a strip of consecutive frames and
a per-frame plot of the warping error.

    python tools/video_strip.py SOURCE PER_FRAME CONSISTENT [--start T --duration T] \\
        --first 60 --count 4 --width 240 -o docs/images/video-consistency.jpg \\
        --plot docs/images/video-consistency-plot.png

PER_FRAME and CONSISTENT are two `imgperc video` results of the same part of SOURCE (say
``--consistency 0`` and the default); ``--start``/``--duration`` are those given to `imgperc
video`. The strip has five rows of ``--count`` consecutive frames from ``--first`` on: the
source, the per-frame result and its change from the frame before (x4), the consistent result
and its change (x4); flicker shows as bright speckle in the change rows, while a steady result
changes only where things move. ``--plot`` draws the warping error of each frame pair for the
source and both results (`imgperc eval video`'s measure and plot).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from imgperc.report import labelled_row, save_sheet
from imgperc_video.command import parse_time
from imgperc_video.evaluate import SOURCE, content_size, evaluate_video
from imgperc_video.io import FrameReader, probe
from imgperc_video.plot import line_plot

AMPLIFY = 4  # the change rows show |frame t - frame t-1| times this


def _frames(path: Path, first: int, count: int, *, size: tuple[int, int], start: float = 0.0,
            duration: float | None = None, crop: bool = True) -> list[np.ndarray]:
    """Frames ``first - 1`` .. ``first + count - 1`` of ``path`` (one before, for the change row)."""
    info = probe(path)
    width, height = size
    wanted = range(max(first - 1, 0), first + count)
    frames = []
    reader = FrameReader(info, start=start, duration=duration, size=None if crop else size)
    with reader:
        for index, frame in enumerate(reader):
            if index in wanted:
                frames.append(frame[:height, :width])
            if index >= wanted.stop - 1:
                break
    if len(frames) < count + (first > 0):
        raise SystemExit(f"{path} has fewer than {first + count} frames")
    return frames


def _panel(frame: np.ndarray, width: int) -> torch.Tensor:
    pixels = torch.from_numpy(frame.astype(np.float32) / 255).permute(2, 0, 1)
    height = round(pixels.shape[1] * width / pixels.shape[2])
    return torch.nn.functional.interpolate(pixels[None], size=(height, width), mode="area")[0]


def strip(source: Path, per_frame: Path, consistent: Path, *, first: int, count: int, width: int,
          start: float, duration: float | None) -> list:
    """The strip's rows (see the module docstring)."""
    size = content_size(probe(source), probe(per_frame))
    source_frames = _frames(source, first, count, size=size, start=start, duration=duration, crop=False)
    rows = [labelled_row([(f"source {first + i}", _panel(f, width)) for i, f in enumerate(source_frames[-count:])])]
    for label, path in (("per frame", per_frame), ("consistency", consistent)):
        frames = _frames(path, first, count, size=size)
        rows.append(labelled_row([(f"{label} {first + i}", _panel(f, width)) for i, f in enumerate(frames[-count:])]))
        changes = [np.clip(np.abs(b.astype(int) - a.astype(int)) * AMPLIFY, 0, 255).astype(np.uint8) for a, b in zip(frames, frames[1:])]
        changes = ([np.zeros_like(frames[0])] if first == 0 else []) + changes
        rows.append(labelled_row([(f"{label}: change x{AMPLIFY}", _panel(c, width)) for c in changes]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("per_frame", type=Path, help="`imgperc video --consistency 0` result")
    parser.add_argument("consistent", type=Path, help="`imgperc video` result with consistency")
    parser.add_argument("--start", help="as given to `imgperc video`")
    parser.add_argument("--duration", help="as given to `imgperc video`")
    parser.add_argument("--first", type=int, default=60, help="first frame of the strip")
    parser.add_argument("--count", type=int, default=4, help="consecutive frames in the strip")
    parser.add_argument("--width", type=int, default=240, help="width of each panel, pixels")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the strip (.jpg or .png)")
    parser.add_argument("--plot", type=Path, help="also draw the per-frame warping error here (.png)")
    args = parser.parse_args()
    start, duration = parse_time(args.start, "--start") or 0.0, parse_time(args.duration, "--duration")
    rows = strip(args.source, args.per_frame, args.consistent, first=args.first, count=args.count, width=args.width,
                 start=start, duration=duration)
    save_sheet(rows, args.output)
    print(args.output)
    if args.plot is not None:
        result = evaluate_video(args.source, [args.per_frame, args.consistent], gap=0, start=start, duration=duration)
        names = {SOURCE: "source", str(args.per_frame): "per frame", str(args.consistent): "consistency"}
        series = {names[name]: values for name, values in result.short.errors.items()}
        line_plot(result.short.frames, series, f"{args.source.name}: warping error of frame t vs t+1 (log scale)").save(args.plot)
        print(args.plot)
        for name in (str(args.per_frame), str(args.consistent)):
            print(f"{names[name]}: {result.short.mean(name):.4g} = {result.short.ratio(name):.2f}x the source's {result.short.mean(SOURCE):.4g}")


if __name__ == "__main__":
    main()
