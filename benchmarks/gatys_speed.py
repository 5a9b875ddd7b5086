"""Seconds per Gatys iteration (one loss-network forward + backward) at several image sizes.

    python benchmarks/gatys_speed.py [--preset vgg19-relu3] [--sizes 128,256,512] [--iterations 10]
                                     [--optimizer lbfgs]

Content chicago.jpg and style starry_night.jpg from ../shared/data, resized so the longest side
is each size. Times ``--iterations`` iterations after one warm-up iteration and prints wall
seconds per iteration, and CPU seconds (all threads) which vary less on a shared machine. The
loss network must be installed or downloadable (set IMGPERC_MIRROR to use a local mirror).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from imgperc.api import resize_longest
from imgperc.io import read_image
from imgperc.losses import PerceptualLoss, resolve_recipe
from imgperc_gatys.gatys import initial_image, optimize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def seconds_per_iteration(loss: PerceptualLoss, content: torch.Tensor, iterations: int, optimizer: str) -> tuple[float, float]:
    """Wall and CPU seconds per iteration over ``iterations`` iterations (after a 1-iteration warm-up)."""
    start = initial_image(content, "noise", torch.Generator().manual_seed(0))
    optimize(loss, start, 1, optimizer=optimizer)
    wall, cpu = time.perf_counter(), time.process_time()
    optimize(loss, start, iterations, optimizer=optimizer)
    return (time.perf_counter() - wall) / iterations, (time.process_time() - cpu) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="vgg19-relu3")
    parser.add_argument("--sizes", default="128,256,512")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    args = parser.parse_args()
    recipe = resolve_recipe(args.preset)
    content_file, style_file = read_image(DATA / "content" / "chicago.jpg"), read_image(DATA / "styles" / "starry_night.jpg")
    loss = PerceptualLoss(recipe)
    print(f"preset {recipe.name} ({recipe.network}: {', '.join(recipe.layers)}), {args.optimizer}, "
          f"{torch.get_num_threads()} threads")
    for size in (int(s) for s in args.sizes.split(",")):
        content = resize_longest(content_file, size).pixels[None]
        loss.set_content(content)
        loss.set_style(resize_longest(style_file, size).pixels[None])
        wall, cpu = seconds_per_iteration(loss, content, args.iterations, args.optimizer)
        h, w = content.shape[2:]
        print(f"{w}x{h}: {wall:.3f} s/iteration ({cpu:.3f} s of CPU time, all threads)")


if __name__ == "__main__":
    main()
