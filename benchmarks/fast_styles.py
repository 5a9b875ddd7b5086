"""Steady-state `imgperc stylize` images/s on a folder of photos, its spread over runs, and the speed peer.

    python benchmarks/fast_styles.py [--style muse-fast | --model FILE] [--photos DIR] [--count 40]
        [--size 512] [--runs 5] [--small 4] [--peer transformer_net.py] [--json FILE]

Makes --count SIZExSIZE JPEG photos in a temp folder from --photos (shorter side resized to SIZE,
centre crop; flips and offset crops when there are fewer photos than --count). One untimed
`imgperc stylize` with ``IMGPERC_COMPILE=always`` fills the compiled-graph cache; then each run
times the command (a subprocess) on the --count photos and on the first --small of them:
(count - small) / (t_big - t_small) is the steady-state rate, free of process start-up and
model loading. Every run's rate is printed, then min / median / max.

The speed peer is ``TransformerNet`` of pytorch/examples fast_neural_style: fp32 eager PyTorch,
random weights (speed does not depend on them), 0-255 input as its ``stylize`` gives it, one
image at a time over the same photos after one warm-up, with imgperc's thread count. Its code
is not in this repository: fetch
https://raw.githubusercontent.com/pytorch/examples/main/fast_neural_style/neural_style/transformer_net.py
and pass the file as --peer. Peer rows time the net alone, and load + net + save as its
``stylize`` does (the like of what the `imgperc stylize` figure covers).

Prints markdown tables for docs/benchmarks.md. Meaningful only on a quiet machine: a warning is
printed when the 1-minute load average at the start is above half the CPU count.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from imgperc.inference.threads import configure_threads, physical_cores
from imgperc.precision import resolve

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "content"
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
PEER_URL = "https://raw.githubusercontent.com/pytorch/examples/main/fast_neural_style/neural_style/transformer_net.py"
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def cpu() -> tuple[str, list[str]]:
    """The CPU model and which of FLAGS it has, from /proc/cpuinfo."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown CPU", []
    fields = dict(line.split(":", 1) for line in lines if ":" in line)  # the last CPU's; all are alike
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    return fields.get("model name", "unknown CPU"), [f for f in FLAGS if f in fields.get("flags", "").split()]


def make_photos(sources: list[Path], folder: Path, count: int, size: int) -> list[Path]:
    """``count`` size x size JPEGs in ``folder``, cycling through ``sources`` with flips and offset crops."""
    folder.mkdir()
    paths = []
    for i in range(count):
        cycle = i // len(sources)
        with Image.open(sources[i % len(sources)]) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        scale = size / min(image.size)
        image = image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))), Image.LANCZOS)
        at = (0.5, 0.0, 1.0, 0.25, 0.75)[(cycle // 2) % 5]  # where the crop sits along the longer side
        left, top = round((image.width - size) * at), round((image.height - size) * at)
        image = image.crop((left, top, left + size, top + size))
        if cycle % 2:
            image = ImageOps.mirror(image)
        paths.append(folder / f"photo{i:03d}.jpg")
        image.save(paths[-1], quality=95)
    return paths


def stylize(style: list[str], folder: Path, out: Path, env: dict[str, str] | None = None) -> float:
    """Seconds that `imgperc stylize` takes on ``folder`` (a subprocess); exits on failure."""
    command = [sys.executable, "-m", "imgperc", "stylize", *style, str(folder), "-o", str(out), "--force", "-q"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"`{' '.join(command[1:])}` failed ({done.returncode}):\n{done.stderr.strip()}")
    return seconds


def peer_speed(path: Path, photos: list[Path], out: Path) -> dict[str, float]:
    """Seconds per image of the peer's TransformerNet: net alone, and load + net + save."""
    spec = importlib.util.spec_from_file_location("peer_transformer_net", path)
    if spec is None or spec.loader is None:
        sys.exit(f"--peer {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    net = module.TransformerNet().eval()
    out.mkdir()
    net_seconds = 0.0
    start = time.perf_counter()
    with torch.inference_mode():
        for i, photo in enumerate([photos[0], *photos]):  # the first is the untimed warm-up
            if i == 1:
                net_seconds, start = 0.0, time.perf_counter()
            with Image.open(photo) as image:  # as its utils.load_image and ToTensor().mul(255)
                x = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).float().unsqueeze(0)
            began = time.perf_counter()
            y = net(x)
            net_seconds += time.perf_counter() - began
            array = y[0].clamp(0, 255).numpy().transpose(1, 2, 0).astype("uint8")  # as its utils.save_image
            Image.fromarray(array).save(out / photo.name)
    return {"net": net_seconds / len(photos), "end_to_end": (time.perf_counter() - start) / len(photos)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--style", default="muse-fast", help="style name (default: muse-fast)")
    which.add_argument("--model", type=Path, help="a trained style net file instead of --style")
    parser.add_argument("--photos", type=Path, default=PHOTOS, help=f"folder of photos (default: {PHOTOS})")
    parser.add_argument("--count", type=int, default=40, help="photos per timed folder")
    parser.add_argument("--small", type=int, default=4, help="photos in the small folder subtracted out")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--peer", type=Path, help="pytorch/examples fast_neural_style transformer_net.py")
    parser.add_argument("--json", type=Path, help="also write all raw figures to this file")
    args = parser.parse_args()
    sources = sorted(p for p in args.photos.glob("*") if p.suffix.lower() in SUFFIXES) if args.photos.is_dir() else []
    if not sources:
        parser.error(f"no photos (.jpg, .png, ...) in {args.photos}: give --photos DIR")
    if not 0 < args.small < args.count:
        parser.error("need 0 < --small < --count")
    if args.peer is not None and not args.peer.is_file():
        parser.error(f"--peer {args.peer}: no such file (fetch it from {PEER_URL})")
    style = ["--model", str(args.model)] if args.model else ["--style", args.style]
    label = args.model.stem if args.model else args.style

    threads = configure_threads()  # the peer's threads; the CLI subprocesses choose the same
    model, flags = cpu()
    load_start = os.getloadavg()
    precision = resolve("auto", torch.device("cpu"), "inference")
    print(f"{model}; flags: {', '.join(flags) or 'none of ' + ', '.join(FLAGS)}")
    print(f"{physical_cores()} physical cores, {os.cpu_count()} CPUs; {threads} threads; torch {torch.__version__}; "
          f"imgperc precision auto = {precision}; load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        print(f"WARNING: 1-minute load {load_start[0]:.2f} is above half the {os.cpu_count()} CPUs: the figures are not trustworthy")
    sys.stdout.flush()

    temp = Path(tempfile.mkdtemp(prefix="imgperc-fast-styles-"))
    try:
        photos = make_photos(sources, temp / "big", args.count, args.size)
        (temp / "small").mkdir()
        for photo in photos[: args.small]:
            shutil.copy(photo, temp / "small")
        stylize(style, temp / "small", temp / "warm", dict(os.environ, IMGPERC_COMPILE="always"))  # fill the cache
        runs = []
        for _ in range(args.runs):
            small = stylize(style, temp / "small", temp / "out-small")
            big = stylize(style, temp / "big", temp / "out-big")
            steady = (args.count - args.small) / (big - small) if big > small else None  # None: lost in noise
            runs.append({"small_s": small, "big_s": big, "images_per_s": steady,
                         "whole_images_per_s": args.count / big})
        peer = peer_speed(args.peer, photos, temp / "peer") if args.peer else None
    finally:
        shutil.rmtree(temp, ignore_errors=True)

    rates = [run["images_per_s"] for run in runs if run["images_per_s"] is not None]
    median = statistics.median(rates) if rates else float("nan")
    print(f"\n`imgperc stylize --style {label}` on {args.count} and {args.small} photos of {args.size}x{args.size}, compiled-graph cache warm\n")
    print(f"| run | {args.count} photos (s) | {args.small} photos (s) | images/s (steady) | images/s (whole command) |")
    print("|---:|---:|---:|---:|---:|")
    for i, run in enumerate(runs, 1):
        steady = "n/a (big folder not slower)" if run["images_per_s"] is None else f"{run['images_per_s']:.2f}"
        print(f"| {i} | {run['big_s']:.2f} | {run['small_s']:.2f} | {steady} | {run['whole_images_per_s']:.2f} |")
    print(f"\n| images/s (steady) over {len(rates)} of {len(runs)} runs | min | median | max |\n|---|---:|---:|---:|")
    print(f"| `{label}` | {min(rates, default=median):.2f} | {median:.2f} | {max(rates, default=median):.2f} |")

    print(f"\n| {args.size}x{args.size}, {threads} threads | ms/image | images/s | imgperc / this |\n|---|---:|---:|---:|")
    print(f"| imgperc stylize `{label}` ({precision}, steady, median) | {1000 / median:.1f} | {median:.2f} | 1.00 |")
    if peer:
        for key, name in (("net", "net alone"), ("end_to_end", "load + net + save")):
            print(f"| pytorch/examples TransformerNet fp32 eager, {name} | {1000 * peer[key]:.1f} | {1 / peer[key]:.2f} | {median * peer[key]:.2f} |")
    else:
        print(f"\n(no speed peer: fetch {PEER_URL} and pass it as --peer FILE)")
    load_end = os.getloadavg()
    print(f"\nload average at the end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({
            "style": label, "count": args.count, "small": args.small, "size": args.size, "cpu": model, "flags": flags,
            "physical_cores": physical_cores(), "threads": threads, "torch": torch.__version__, "precision": precision,
            "load_average_start": load_start, "load_average_end": load_end, "runs": runs,
            "images_per_s": {"min": min(rates), "median": median, "max": max(rates)} if rates else None,
            "peer_s_per_image": peer}, indent=2) + "\n")


if __name__ == "__main__":
    main()
