"""What `imgperc.load` saves: a model loaded once and called on --count images, against a load
per image as `imgperc.stylize` did before it kept its models.

    python benchmarks/load_once.py [--style muse-fast] [--count 100] [--size 256] [--device auto]
        [--precision auto] [--json FILE]

The images are the photos of ../shared/data/content (resized so the longest side is --size,
repeated to --count), held in memory as PIL images, so no file is read or written while timing.
One untimed call first imports and warms up what every path needs. Then, in the same process:

- ``per call``: ``imgperc.stylize(image, STYLE)`` with its model cache cleared before every call:
  each image resolves and builds the net and a fresh engine, as every call did before;
- ``stylize``: ``imgperc.stylize(image, STYLE)`` as it is now (its cache keeps the model);
- ``load once``: ``model = imgperc.load(STYLE)``, then ``model(image)`` per image.

Loads are counted where a model file becomes a net (`imgperc.hub.ResolvedModel.load`). Prints a
markdown table: loads, seconds in all, milliseconds per image. Meaningful only on a quiet
machine: a warning is printed when the 1-minute load average is above half the CPU count.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from PIL import Image, ImageOps

import imgperc
from imgperc import api
from imgperc.hub.resolve import ResolvedModel

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "content"
SUFFIXES = {".jpg", ".jpeg", ".png"}


def photos(folder: Path, count: int, size: int) -> list[Image.Image]:
    """``count`` RGB images from ``folder`` (repeated as needed), longest side ``size``."""
    sources = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    if not sources:
        raise SystemExit(f"no photos in {folder}")
    images = []
    for path in sources:
        image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        images.append(image)
    return [images[i % len(images)] for i in range(count)]


class LoadCounter:
    """Counts the models built from their files while it is active."""

    def __init__(self) -> None:
        self.count = 0
        self._real = ResolvedModel.load

    def __enter__(self) -> LoadCounter:
        real = self._real

        def counting(model: ResolvedModel):
            self.count += 1
            return real(model)

        ResolvedModel.load = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        ResolvedModel.load = self._real  # type: ignore[method-assign]


def timed(run: Callable[[], None]) -> tuple[int, float]:
    """``(loads, seconds)`` of ``run()``."""
    with LoadCounter() as loads:
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
    return loads.count, seconds


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", default="muse-fast", help="Style id, trained name or model file (default: muse-fast).")
    parser.add_argument("--photos", type=Path, default=PHOTOS, help="Folder of photos to use.")
    parser.add_argument("--count", type=int, default=100, help="Images per path.")
    parser.add_argument("--size", type=int, default=256, help="Longest side of the images, in pixels.")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda.")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16 or fp16.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args(argv)

    load_average = os.getloadavg()[0]
    if load_average > (os.cpu_count() or 1) / 2:
        print(f"Warning: load average {load_average:.1f} on {os.cpu_count()} CPUs: the figures will be noisy")
    images = photos(args.photos, args.count, args.size)
    options = {"device": args.device, "precision": args.precision}
    imgperc.stylize(images[0], args.style, **options)  # warm-up: imports, first engine, first shapes

    def per_call() -> None:
        for image in images:
            api.clear_model_cache()
            imgperc.stylize(image, args.style, **options)

    def stylize() -> None:
        api.clear_model_cache()
        for image in images:
            imgperc.stylize(image, args.style, **options)

    def load_once() -> None:
        model = imgperc.load(args.style, **options)
        for image in images:
            model(image)

    rows = {name: timed(run) for name, run in (("per call", per_call), ("stylize", stylize), ("load once", load_once))}
    print(f"\n{args.count} images of {args.size} pixels (longest side), style {args.style}, device {args.device}\n")
    print("| path | loads | seconds | ms/image |")
    print("|---|---:|---:|---:|")
    for name, (loads, seconds) in rows.items():
        print(f"| {name} | {loads} | {seconds:.2f} | {1000 * seconds / args.count:.1f} |")
    result = {"count": args.count, "size": args.size, "style": args.style, "device": args.device, "load_average": load_average,
              "paths": {name: {"loads": loads, "seconds": seconds} for name, (loads, seconds) in rows.items()}}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
