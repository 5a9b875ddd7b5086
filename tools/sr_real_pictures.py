"""Pictures of real-world upscaling for docs/super-resolution.md.

    python tools/sr_real_pictures.py crops PHOTO --box X Y SIZE -o docs/images/sr-real-crops.jpg
    python tools/sr_real_pictures.py denoise PHOTO --box X Y SIZE -o docs/images/sr-denoise.jpg

``crops``: one row per test degradation of `imgperc eval sr` (``jpeg50``: a re-saved JPEG;
``blur-noise-jpeg60``: a noisy phone photo): the damaged input enlarged (nearest), bicubic,
``x4-fidelity``, ``x4-real`` and the ground truth, each the same ``SIZE``² crop of the x4 result
at (X, Y), shown at ``--zoom``. ``denoise``: the noisy input under ``x4-real --denoise``
0, 0.25, 0.5, 0.75 and 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

import imgperc
from imgperc.io import read_image
from imgperc.report import labelled_row, save_sheet
from imgperc_sr.bicubic import upscale_bicubic
from imgperc_sr.eval_degradations import REAL_WORLD

SCALE = 4


def damaged(photo: Path, degradation: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The ground truth (cropped to a multiple of the scale) and its damaged x1/4 input."""
    truth = read_image(photo).pixels[:3]
    h, w = truth.shape[-2:]
    truth = truth[:, : h - h % SCALE, : w - w % SCALE]
    return truth, REAL_WORLD[degradation](truth, SCALE)


def upscaled(low: torch.Tensor, **options) -> torch.Tensor:
    return imgperc.upscale(low, scale=SCALE, **options)


def panel(image: torch.Tensor, box: tuple[int, int, int], zoom: int) -> torch.Tensor:
    x, y, size = box
    crop = image[:, y : y + size, x : x + size]
    return F.interpolate(crop[None], scale_factor=zoom, mode="nearest")[0].clamp(0, 1)


def crops_rows(photo: Path, box: tuple[int, int, int], zoom: int) -> list:
    rows = []
    for degradation in REAL_WORLD:
        truth, low = damaged(photo, degradation)
        shown = [(f"{degradation} input", F.interpolate(low[None], scale_factor=SCALE, mode="nearest")[0]),
                 ("bicubic", upscale_bicubic(low[None], SCALE)[0]),
                 ("x4-fidelity", upscaled(low, model="x4-fidelity")),
                 ("x4-real", upscaled(low, model="x4-real")),
                 ("ground truth", truth)]
        rows.append(labelled_row([(label, panel(image, box, zoom)) for label, image in shown]))
    return rows


def denoise_rows(photo: Path, box: tuple[int, int, int], zoom: int) -> list:
    _, low = damaged(photo, "blur-noise-jpeg60")
    shown = [(f"--denoise {d:g}", upscaled(low, model="x4-real", denoise=d)) for d in (0, 0.25, 0.5, 0.75, 1)]
    return [labelled_row([(label, panel(image, box, zoom)) for label, image in shown])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("crops", "denoise"))
    parser.add_argument("photo", type=Path)
    parser.add_argument("--box", type=int, nargs=3, metavar=("X", "Y", "SIZE"), required=True,
                        help="crop of the x4 result: left, top, side (pixels)")
    parser.add_argument("--zoom", type=int, default=2)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    make = crops_rows if args.kind == "crops" else denoise_rows
    sheet = save_sheet(make(args.photo, tuple(args.box), args.zoom), args.output)
    print(f"{args.output}: {sheet.width}x{sheet.height}, {args.output.stat().st_size // 1024} kB")


if __name__ == "__main__":
    main()
