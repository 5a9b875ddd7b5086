"""Would video frames go faster spread over worker processes? The compiled style net on one frame
size, run by P processes of T threads each, started together.

    python benchmarks/frame_workers.py [--style muse-fast] [--size 640x360] [--frames 40]
        [--layouts 1x2,1x1,2x1]

Each layout ``PxT`` starts P spawned processes; each loads the net into an `Engine` with T
threads (compiled, as `imgperc video` runs a long clip: the package cache makes the second layout
on a shape cheap), runs two warm-up frames, waits for the others, then times ``--frames`` frames.
The rate printed is all the frames over the wall time from the first start to the last finish,
and CPU/wall says how many cores the workers kept busy. The style model must be installed or
downloadable (set IMGPERC_MIRROR to use a local mirror).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time


def worker(style: str, shape: tuple[int, int], threads: int, frames: int, barrier, results) -> None:
    """Time ``frames`` runs of the style's engine, after warm-up and the barrier."""
    import torch

    from imgperc.inference.engine import Engine
    from imgperc_style.stylize import choose

    engine = Engine(choose(style, None).model.load().net, threads=threads, compile="always")
    frame = torch.rand(1, 3, *shape)
    with torch.inference_mode():
        for _ in range(2):
            engine.run(frame)
        barrier.wait()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(frames):
            engine.run(frame)
        results.put((start, time.perf_counter(), time.process_time() - cpu))


def measure(style: str, shape: tuple[int, int], processes: int, threads: int, frames: int) -> tuple[float, float]:
    """Frames per second over all workers, and the cores they kept busy."""
    context = mp.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=worker, args=(style, shape, threads, frames, barrier, results)) for _ in range(processes)]
    for process in workers:
        process.start()
    spans = [results.get() for _ in workers]
    for process in workers:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a worker failed (exit code {process.exitcode})")
    wall = max(end for _, end, _ in spans) - min(start for start, _, _ in spans)
    return processes * frames / wall, sum(cpu for _, _, cpu in spans) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="muse-fast")
    parser.add_argument("--size", default="640x360", help="frame WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=40, help="frames per worker")
    parser.add_argument("--layouts", default="1x2,1x1,2x1", help="comma-separated PROCESSESxTHREADS")
    args = parser.parse_args()
    width, height = (int(side) for side in args.size.split("x"))
    print(f"{args.style} at {width}x{height}, {args.frames} frames per worker, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for layout in args.layouts.split(","):
        processes, threads = (int(n) for n in layout.split("x"))
        fps, busy = measure(args.style, (height, width), processes, threads, args.frames)
        print(f"{processes} process(es) x {threads} thread(s): {fps:6.2f} frames/s, CPU/wall {busy:.2f}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
