"""Pictures of `--style-image` (any painting as a style) for docs/any-style.md.

    python tools/anystyle_gallery.py grid PAINTING... --photos P1 P2 P3 -o docs/images/any-style-grid.jpg
    python tools/anystyle_gallery.py compare PAINTING --photo P --net NAME [--gatys 100] -o FILE
    python tools/anystyle_gallery.py controls PAINTING OTHER --photo P -o FILE

``grid``: one row per painting: the painting, then each photo stylized with it. ``compare``: the
photo, the pretrained net of that painting, Gatys et al. (``imgperc gatys``, N L-BFGS iterations,
VGG-19) and `--style-image`. ``controls``: one photo under --strength 0.25/0.5/0.75/1,
--style-size 256/512/1024, --style-mix with a second painting (1,0 / 0.5,0.5 / 0,1) and
--preserve-color. Every panel is stylized at twice ``--size`` (longest side), then shown ``--size`` square
(shorter side resized, centre crop).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from PIL import Image
from torchvision.transforms.functional import center_crop, pil_to_tensor

import imgperc
from imgperc.api import resize_longest
from imgperc.io import read_image, resize
from imgperc.report import labelled_row, save_sheet


def _panel(image: Image.Image, side: int) -> torch.Tensor:
    """A ``side`` x ``side`` panel: the shorter side resized to ``side``, centre-cropped."""
    pixels = resize(pil_to_tensor(image.convert("RGB")).float() / 255, shortest=side)
    return center_crop(pixels, [side, side])


def _photo(path: Path, size: int) -> Image.Image:
    return imgperc.io.to_pil(resize_longest(read_image(path), 2 * size))


def grid(paintings: list[Path], photos: list[Path], size: int) -> list[Image.Image]:
    rows = []
    for painting in paintings:
        panels = [(painting.stem, _panel(_photo(painting, size), size))]
        for photo in photos:
            panels.append((photo.stem, _panel(imgperc.stylize(photo, style_image=painting, size=2 * size), size)))
        rows.append(labelled_row(panels, fit_labels=True))
    return rows


def compare(painting: Path, photo: Path, net: str, gatys: int, size: int) -> list[Image.Image]:
    panels = [("photo", _panel(_photo(photo, size), size)), (f"painting {painting.stem}", _panel(_photo(painting, size), size)),
              (f"net {net}", _panel(imgperc.stylize(photo, net, size=2 * size), size))]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gatys.png"
        subprocess.run([sys.executable, "-m", "imgperc", "gatys", str(photo), "--style", str(painting), "--loss-network", "vgg19",
                        "--iterations", str(gatys), "--size", str(size), "-o", str(out), "-q"], check=True)
        panels.append((f"gatys {gatys} L-BFGS", _panel(Image.open(out), size)))
    panels.append(("--style-image", _panel(imgperc.stylize(photo, style_image=painting, size=2 * size), size)))
    return [labelled_row(panels, fit_labels=True)]


def controls(painting: Path, other: Path, photo: Path, size: int) -> list[Image.Image]:
    def run(label: str, **options) -> tuple[str, torch.Tensor]:
        return label, _panel(imgperc.stylize(photo, size=2 * size, **options), size)

    strength = [run(f"--strength {s}", style_image=painting, strength=s) for s in (0.25, 0.5, 0.75, 1.0)]
    scale = [run(f"--style-size {n}", style_image=painting, style_size=n) for n in (256, 512, 1024)]
    scale.append(run("--preserve-color", style_image=painting, preserve_color=True))
    mix = [run(f"--style-mix {a:g},{1 - a:g}", style_image=[painting, other], style_mix=[a, 1 - a]) for a in (1.0, 0.5, 0.0)]
    mix.insert(0, (f"painting {other.stem}", _panel(_photo(other, size), size)))
    return [labelled_row(row, fit_labels=True) for row in (strength, scale, mix)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("grid", "compare", "controls"))
    parser.add_argument("paintings", type=Path, nargs="+")
    parser.add_argument("--photos", type=Path, nargs="+")
    parser.add_argument("--photo", type=Path)
    parser.add_argument("--net", help="compare: the pretrained net of the painting")
    parser.add_argument("--gatys", type=int, default=100)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    if args.kind == "grid":
        rows = grid(args.paintings, args.photos, args.size)
    elif args.kind == "compare":
        rows = compare(args.paintings[0], args.photo, args.net, args.gatys, args.size)
    else:
        rows = controls(args.paintings[0], args.paintings[1], args.photo, args.size)
    sheet = save_sheet(rows, args.output, quality=82)
    print(f"{args.output}: {sheet.width}x{sheet.height}, {args.output.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
