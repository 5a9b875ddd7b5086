"""Seconds per `-x SCALE` upscale of a SIZE x SIZE photo, for every built-in model of that scale.

    python benchmarks/sr_speed.py [--scale 4] [--size 512] [--runs 5] [--max-seconds 20]

Each model is loaded once (`imgperc.load`), run once untimed (compile or cached graph, first
allocation), then timed --runs times on the same photo (a centre crop of a ../shared content
photo, or a drawn scene without it); the median is printed with the CPU and load average.
A model whose untimed run took over --max-seconds is timed once only.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

import imgperc
from imgperc import hub

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "data" / "content" / "chicago.jpg"


def photo(size: int) -> Image.Image:
    if PHOTO.exists():
        image = Image.open(PHOTO).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
    y, x = np.mgrid[0:size, 0:size] / size
    return Image.fromarray((np.stack([np.sin(9 * x), np.cos(7 * y), np.sin(5 * x * y)], -1) * 127 + 128).astype(np.uint8))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    args = parser.parse_args()
    image = photo(args.size)
    models = sorted(s.id for s in hub.specs().values()
                    if s.task == "sr" and s.builtin is not None and s.extra.get("scale") == args.scale)
    print(f"{cpu_name()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"| model | s per {args.size}x{args.size} -x {args.scale} (median) | runs |")
    print("|---|---:|---:|")
    for name in models:
        model = imgperc.load(name)
        tick = time.perf_counter()
        model(image)
        first = time.perf_counter() - tick
        runs = 1 if first > args.max_seconds else args.runs
        times = []
        for _ in range(runs):
            tick = time.perf_counter()
            model(image)
            times.append(time.perf_counter() - tick)
        print(f"| `{name}` | {statistics.median(times):.2f} | {runs} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
