"""Peak memory of `imgperc stylize` on a large image, and tiled vs untiled output.

Runs the real command in fresh subprocesses and reads each one's peak resident memory from the
kernel (``wait4`` rusage: everything torch allocates counts, unlike tracemalloc):

1. SIZE x SIZE (default 4096) with ``--tile auto``: peak memory and wall time;
2. a size that fits both ways (default 1024) with ``--tile off`` and with a forced ``--tile``:
   PSNR and largest difference between the two 8-bit outputs.

    python benchmarks/tile_memory.py [--size 4096] [--compare 1024] [--tile 320] [--style muse]

The style is pulled from ``IMGPERC_MIRROR`` (e.g. file:///path/to/shared/mirror) if needed.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT.parent / "shared" / "data" / "content" / "chicago.jpg"


def make_input(path: Path, size: int) -> None:
    Image.open(CONTENT).convert("RGB").resize((size, size), Image.Resampling.BICUBIC).save(path)


def stylize(source: Path, target: Path, style: str, *extra: str) -> tuple[float, float]:
    """Run `imgperc stylize` in a fresh process: (peak RSS in MiB, wall seconds)."""
    command = [sys.executable, "-m", "imgperc", "stylize", str(source), "--style", style, "-o", str(target), "--force", "-q", *extra]
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return usage.ru_maxrss / 1024, seconds


def compare(a: Path, b: Path) -> tuple[float, int]:
    x = np.asarray(Image.open(a), dtype=np.float64)
    y = np.asarray(Image.open(b), dtype=np.float64)
    mse = float(((x - y) ** 2).mean())
    return (math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)), int(np.abs(x - y).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--compare", type=int, default=1024)
    parser.add_argument("--tile", type=int, default=320, help="forced tile for the comparison")
    parser.add_argument("--style", default="muse")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "imgperc", "models", "pull", args.style], check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.compare:
            source = work / f"in{args.compare}.png"
            make_input(source, args.compare)
            whole_peak, whole_s = stylize(source, work / "whole.png", args.style, "--tile", "off")
            tiled_peak, tiled_s = stylize(source, work / "tiled.png", args.style, "--tile", str(args.tile))
            psnr, worst = compare(work / "whole.png", work / "tiled.png")
            print(f"{args.compare}x{args.compare} untiled: peak {whole_peak:.0f} MiB, {whole_s:.1f} s")
            print(f"{args.compare}x{args.compare} --tile {args.tile}: peak {tiled_peak:.0f} MiB, {tiled_s:.1f} s")
            print(f"tiled vs untiled (8-bit outputs): PSNR {psnr:.1f} dB, largest difference {worst}/255", flush=True)
        if args.size:
            source = work / f"in{args.size}.png"
            make_input(source, args.size)
            peak, seconds = stylize(source, work / "big.png", args.style, "--tile", "auto")
            print(f"{args.size}x{args.size} --tile auto: peak {peak:.0f} MiB ({peak / 1024:.2f} GiB), {seconds:.0f} s, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
