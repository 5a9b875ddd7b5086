"""The warping-error ratio of a stylized clip that cannot flicker: one stylization, moved rigidly.

    python tools/rigid_floor.py PHOTO --style NAME [--style NAME ...] -o DIR [--size 320x180] [--frames 40]

The photo is stylized once per style (`imgperc stylize`); then the photo and each stylization
are panned together by the same sub-pixel steps (0.37 and 0.21 pixels per frame, bicubic) into
clips, and `imgperc eval video` scores the stylized clips against the photo's. Nothing in them
boils, so each ratio is the least the measure can give that style's texture: what warping its
finest marks costs (Lai et al.'s warping error is bilinear), not flicker. A style whose floor is
above a target cannot meet it by steadiness alone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

STEP = (0.37, 0.21)  # pixels per frame, right and down: sub-pixel, as real flows are


def write_pan(image: Image.Image, size: tuple[int, int], frames: int, path: Path) -> None:
    """``frames`` views of ``image`` through a ``size`` window moving by `STEP` per frame."""
    writer = imageio_ffmpeg.write_frames(str(path), size, fps=25, codec="libx264", quality=10, macro_block_size=1)
    writer.send(None)
    try:
        for t in range(frames):
            box = (1, 0, 4 + STEP[0] * t, 0, 1, 4 + STEP[1] * t)
            writer.send(np.ascontiguousarray(image.transform(size, Image.Transform.AFFINE, box, Image.Resampling.BICUBIC)))
    finally:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--style", action="append", required=True)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--size", default="320x180", help="the clips' frame size (the photo is resized to fit it with room to pan)")
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    args.output.mkdir(parents=True, exist_ok=True)
    photo = Image.open(args.photo).convert("RGB")
    width = size[0] + 8 + int(STEP[0] * args.frames) + 1
    photo = photo.resize((width, max(round(photo.height * width / photo.width), size[1] + 8 + int(STEP[1] * args.frames) + 1)),
                         Image.Resampling.LANCZOS)
    photo.save(args.output / "photo.png")
    write_pan(photo, size, args.frames, args.output / "photo.mp4")
    clips = []
    for style in args.style:
        still = args.output / f"{style}.png"
        subprocess.run(["imgperc", "stylize", "--style", style, str(args.output / "photo.png"), "-o", str(still), "-q", "--force"], check=True)
        write_pan(Image.open(still).convert("RGB"), size, args.frames, args.output / f"{style}.mp4")
        clips.append(str(args.output / f"{style}.mp4"))
    report = args.output / "report"
    sys.exit(subprocess.run(["imgperc", "eval", "video", str(args.output / "photo.mp4"), *clips, "-o", str(report), "--long-term", "0",
                             "--force"]).returncode)


if __name__ == "__main__":
    main()
