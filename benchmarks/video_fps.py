"""End-to-end video throughput next to the network alone, at 640x360 and 1280x720.

    python benchmarks/video_fps.py [--style wave] [--frames 25] [--sizes 640,1280] [--batch N]
        [--compile always|auto] [--preset veryfast] [--consistency 0.8] [--runs 1]

For each size (longest side) it decodes the first ``--frames`` frames of the clip into memory
and times the style network alone on them (after one warm-up batch), then times
``imgperc video`` doing the same frames (probe, decode, network, encode, audio remux) and prints
both rates, the share of the time decoding and encoding cost (1 - end-to-end / network), and
how busy the network was inside the end-to-end run; with ``--runs N``, the medians of N
alternating measurements, and the end-to-end range. ``--compile always`` (the default) measures
the steady state a long video reaches: the warm-up batch compiles the net for the frame size (or
loads its cached package), as `imgperc video` does by itself once eager running has cost as
long as a compile; ``auto`` measures a short clip's first run. ``--preset`` is x264's, as
`imgperc video --preset` (default: its default), ``--consistency`` as `imgperc video
--consistency` (default: the style's own, as there; the flow and blending milliseconds per frame, medians,
are printed too: they run in the decoder and encoder threads). The style model must be installed or
downloadable (set IMGPERC_MIRROR to use a local mirror).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import click
import torch

from imgperc import plugins
from imgperc.settings import ENV_COMPILE
from imgperc_video.command import resolve_consistency
from imgperc_video.io import DEFAULT_PRESET, X264_PRESETS, FrameReader, probe
from imgperc_video.process import auto_batch, fit_longest, process_video
from imgperc_video.runner import to_batch

CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video" / "bigbuckbunny.mp4"


def network_fps(transform, frames: list, batch: int) -> float:
    """Frames per second of the transform alone on frames already in memory."""
    batches = [to_batch(frames[i : i + batch]) for i in range(0, len(frames), batch)]
    with torch.inference_mode():
        transform(batches[0])  # warm-up (allocations, kernel selection)
        start = time.perf_counter()
        for chunk in batches:
            transform(chunk)
    return len(frames) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--style", default="wave")
    parser.add_argument("--frames", type=int, default=25, help="frames per measurement")
    parser.add_argument("--sizes", default="640,1280", help="longest sides to measure")
    parser.add_argument("--runs", type=int, default=1, help="runs per size; medians are printed (and the end-to-end range)")
    parser.add_argument("--batch", type=int, help="frames per batch (default: as `imgperc video`)")
    parser.add_argument("--compile", choices=("always", "auto"), default="always", help="the engine's compile mode (see above)")
    parser.add_argument("--preset", choices=X264_PRESETS, default=DEFAULT_PRESET, help="x264 preset of the end-to-end run")
    parser.add_argument("--consistency", type=float, help="imgperc video --consistency of the end-to-end run (default: as imgperc video)")
    args = parser.parse_args()
    os.environ[ENV_COMPILE] = args.compile

    task = plugins.registry("image_tasks").get("style")
    parse = click.Command("style", params=list(task.options))
    values = parse.make_context("style", ["--style", args.style]).params
    transform = task.prepare(**values)
    args.consistency = resolve_consistency(args.consistency, transform)
    info = probe(args.clip)
    seconds = args.frames / float(info.fps)
    print(f"clip {args.clip.name}, style {args.style}, {args.frames} frames per run, compile {args.compile}, x264 preset {args.preset}, "
          f"consistency {args.consistency:g}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'size':>10} {'batch':>5} {'network fps':>12} {'end-to-end fps':>15} {'e2e range':>12} {'decode+encode share':>20} {'network busy':>13}"
          f" {'flow ms':>8} {'blend ms':>9}")
    for longest in (int(side) for side in args.sizes.split(",")):
        width, height = fit_longest(info.width, info.height, longest)
        batch = args.batch or auto_batch(width, height, transform.scale)
        with FrameReader(info, duration=seconds, size=(width, height)) as reader:
            frames = list(reader)
        nets, totals, busy, flow_ms, blend_ms = [], [], [], [], []
        for _ in range(args.runs):
            nets.append(network_fps(transform, frames, batch))
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                result = process_video(
                    args.clip, Path(folder) / "out.mp4", transform, size=longest, duration=seconds, batch_size=batch, preset=args.preset,
                    consistency=args.consistency,
                )
                totals.append(result.stats.frames / (time.perf_counter() - start))
            busy.append(100 * result.stats.net_busy)
            flow_ms.append(1000 * result.stats.flow_seconds / result.stats.frames)
            blend_ms.append(1000 * result.stats.blend_seconds / result.stats.frames)
        net, total = statistics.median(nets), statistics.median(totals)
        share = 1.0 - total / net
        spread = f"{min(totals):.2f}-{max(totals):.2f}"
        print(
            f"{width:>5}x{height:<4} {batch:>5} {net:>12.3f} {total:>15.3f} {spread:>12} {100 * share:>19.1f}% "
            f"{statistics.median(busy):>12.1f}% {statistics.median(flow_ms):>8.1f} {statistics.median(blend_ms):>9.1f}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
