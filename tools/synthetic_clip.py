"""A test clip made from still photos: a slow camera pan, an object crossing it, sensor noise,
H.264 compression, and a scene cut, for measuring `imgperc video --consistency` on footage that
nothing was tuned on.

    python tools/synthetic_clip.py PHOTO_A PHOTO_B -o clip.mp4 [--size 640x360] [--seconds 4] [--fps 25]

The first half pans across PHOTO_A (0.6 pixels per frame, sub-pixel, with a slight zoom) while
a disc textured from PHOTO_B crosses it at 4 pixels per frame; the second half cuts to a pan
across PHOTO_B. Each frame gets Gaussian noise (sigma 2 of 255, seeded) before encoding.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image


def pan_frame(photo: Image.Image, size: tuple[int, int], t: float) -> np.ndarray:
    """The view of ``photo`` at time ``t`` (frames): a window moving right and zooming in slowly."""
    w, h = size
    zoom = 1.0 + 0.0008 * t
    cw, ch = photo.width / (1.25 * zoom), photo.width / (1.25 * zoom) * h / w
    left, top = 0.6 * t * cw / w, (photo.height - ch) / 2
    box = (left, top, left + cw, top + ch)
    return np.asarray(photo.transform((w, h), Image.Transform.EXTENT, box, Image.Resampling.BICUBIC), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo_a", type=Path)
    parser.add_argument("photo_b", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--fps", type=int, default=25)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    a, b = (Image.open(p).convert("RGB") for p in (args.photo_a, args.photo_b))
    frames = round(args.seconds * args.fps)
    rng = np.random.default_rng(0)
    radius = h // 5
    yy, xx = np.mgrid[0:h, 0:w]
    texture = np.asarray(b.resize((2 * radius, 2 * radius), Image.Resampling.LANCZOS), dtype=np.float32)
    writer = imageio_ffmpeg.write_frames(str(args.output), (w, h), fps=args.fps, codec="libx264", quality=8, macro_block_size=8)
    writer.send(None)
    try:
        for i in range(frames):
            if i < frames // 2:
                frame = pan_frame(a, (w, h), i)
                cx, cy = int(-radius + 4 * i), h // 2 + int(20 * np.sin(i / 8))
                disc = (xx - cx) ** 2 + (yy - cy) ** 2 < radius**2
                ty, tx = np.clip(yy - cy + radius, 0, 2 * radius - 1), np.clip(xx - cx + radius, 0, 2 * radius - 1)
                frame[disc] = texture[ty[disc], tx[disc]]
            else:
                frame = pan_frame(b, (w, h), i - frames // 2)
            frame = frame + rng.normal(0.0, 2.0, frame.shape)
            writer.send(np.ascontiguousarray(np.clip(frame, 0, 255).round().astype(np.uint8)))
    finally:
        writer.close()
    print(f"{args.output}: {frames} frames, {w}x{h}, {args.fps} fps, cut at frame {frames // 2}")


if __name__ == "__main__":
    main()
