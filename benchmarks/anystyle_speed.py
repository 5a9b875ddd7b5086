"""Seconds per image of `--style-image` (any painting as a style) at several sizes, and peak memory.

    python benchmarks/anystyle_speed.py --painting PAINTING.jpg [--sizes 512,1024] [--runs 5]
        [--precision auto|fp32|bf16] [--json FILE]

Loads the encoders and decoders once and the painting's statistics once (as a folder run or a
loaded library model does), then times the transform on a random photo-sized input of each size:
one untimed warm-up, then --runs timed calls; min / median / max seconds are printed, with the
process's peak resident memory after each size (it only grows, so run sizes smallest first). The
CPU model and its bf16/AMX features and the 1-minute load average are printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

import torch

from imgperc.inference.threads import configure_threads
from imgperc.inference.bench import machine

from imgperc_style.anystyle_task import prepare_anystyle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--painting", type=Path, required=True)
    parser.add_argument("--sizes", default="512,1024")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--precision", default="auto", help="auto: fp32, as --style-image runs by default")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_threads()
    transform = prepare_anystyle([args.painting], device="cpu", precision=args.precision, tile=None)
    precision = transform.precision
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f}, precision {precision}")
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        image = torch.rand(1, 3, size, size)
        times = []
        for run in range(args.runs + 1):
            start = time.perf_counter()
            transform(image)
            if run:
                times.append(time.perf_counter() - start)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row = {"size": size, "min_s": min(times), "median_s": statistics.median(times), "max_s": max(times), "peak_rss_mib": peak}
        rows.append(row)
        print(f"{size}x{size}: {row['min_s']:.3f} / {row['median_s']:.3f} / {row['max_s']:.3f} s (min / median / max), peak RSS {peak:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "precision": precision, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
