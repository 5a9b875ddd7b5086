"""Is the style kept under `imgperc video --consistency`? Mean style and content losses per frame.

    python tools/video_style_loss.py SOURCE STYLE_IMAGE PER_FRAME CONSISTENT... \\
        [--start T --duration T] [--every 5] [--size 512] [--preset vgg19-relu3]

Every ``--every``-th frame of each output (`imgperc video` results of the same part of SOURCE;
``--start``/``--duration`` as given to it) is scored as `imgperc eval style` scores a stylized
photo: the style loss against STYLE_IMAGE (Gram matrices) and the content loss against the
source frame, with the taps of ``--preset`` (`imgperc_style.evaluate.scoring_recipe`), frames
and style image at ``--size`` (longest side). Prints each output's mean losses and their ratio
to the first output's (the per-frame result): blending that washes the style out raises the
style loss.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from imgperc.api import resize_longest
from imgperc.io import read_image
from imgperc.losses import PerceptualLoss
from imgperc_style.evaluate import score, scoring_recipe
from imgperc_video.command import parse_time
from imgperc_video.evaluate import content_size
from imgperc_video.io import FrameReader, probe


def _sampled(path: Path, every: int, *, size: tuple[int, int] | None = None, crop: tuple[int, int] | None = None,
             start: float = 0.0, duration: float | None = None) -> list[torch.Tensor]:
    """Every ``every``-th frame as ``[1,3,H,W]`` floats in [0, 1]."""
    frames = []
    with FrameReader(probe(path), start=start, duration=duration, size=size) as reader:
        for index, frame in enumerate(reader):
            if index % every == 0:
                if crop is not None:
                    frame = frame[: crop[1], : crop[0]]
                frames.append(torch.from_numpy(frame.astype(np.float32) / 255).permute(2, 0, 1)[None])
    return frames


def _fit(pixels: torch.Tensor, longest: int) -> torch.Tensor:
    height, width = pixels.shape[-2:]
    factor = longest / max(height, width)
    return torch.nn.functional.interpolate(pixels, size=(round(height * factor), round(width * factor)), mode="area")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("style_image", type=Path)
    parser.add_argument("outputs", type=Path, nargs="+", help="the per-frame result first, then the others")
    parser.add_argument("--start", help="as given to `imgperc video`")
    parser.add_argument("--duration", help="as given to `imgperc video`")
    parser.add_argument("--every", type=int, default=5, help="score every N-th frame")
    parser.add_argument("--size", type=int, default=512, help="longest side the frames and the style image are scored at")
    parser.add_argument("--preset", default="vgg19-relu3", help="loss recipe (as `imgperc eval style --preset`)")
    args = parser.parse_args()
    start, duration = parse_time(args.start, "--start") or 0.0, parse_time(args.duration, "--duration")
    size = content_size(probe(args.source), probe(args.outputs[0]))
    scorer = PerceptualLoss(scoring_recipe(args.preset))
    scorer.set_style(resize_longest(read_image(args.style_image), args.size).pixels[None])
    sources = _sampled(args.source, args.every, size=size, start=start, duration=duration)
    means = {}
    for output in args.outputs:
        frames = _sampled(output, args.every, crop=size)
        if len(frames) != len(sources):
            raise SystemExit(f"{output} has another length than the part of {args.source} it should show")
        styles, contents = [], []
        for source, frame in zip(sources, frames):
            scorer.set_content(_fit(source, args.size))
            losses = score(scorer, _fit(frame, args.size))
            styles.append(float(losses.style))
            contents.append(float(losses.content))
        means[output] = (sum(styles) / len(styles), sum(contents) / len(contents))
    first_style, first_content = means[args.outputs[0]]
    print(f"{len(sources)} frames (every {args.every}), {args.preset}, longest side {args.size}")
    for output, (style, content) in means.items():
        print(f"{output}: style {style:.4g} ({style / first_style:.3f}x), content {content:.4g} ({content / first_content:.3f}x)")


if __name__ == "__main__":
    main()
