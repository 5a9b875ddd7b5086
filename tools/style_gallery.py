"""A gallery of each pretrained style beside its fast (distilled) version, on one photo.

    python tools/style_gallery.py PHOTO -o docs/images/fast-styles.jpg [--size 240] [--columns 3]

Each style gives two labelled panels, ``STYLE`` (the ml5 teacher) and ``STYLE-fast``, both from
`imgperc.stylize` at ``--size`` (longest side); the pairs are laid out ``--columns`` per row.
Styles without a shipped fast version are left out (and named on the way).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image
from torchvision.transforms.functional import pil_to_tensor

import imgperc
from imgperc import hub
from imgperc.report import labelled_row, save_sheet
from imgperc_style.ml5_styles import STYLES


def pair_rows(photo: Path, size: int, columns: int) -> list[Image.Image]:
    """One labelled row per ``columns`` styles: teacher | fast, teacher | fast, ..."""
    shipped = hub.specs()
    panels = []
    for style in STYLES:
        fast = f"{style}-fast"
        if fast not in shipped:
            print(f"{fast}: not shipped, left out")
            continue
        for name in (style, fast):
            panels.append((name, pil_to_tensor(imgperc.stylize(photo, name, size=size).convert("RGB")).float() / 255))
    per_row = 2 * columns
    return [labelled_row(panels[i : i + per_row]) for i in range(0, len(panels), per_row)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--size", type=int, default=240, help="longest side of each panel")
    parser.add_argument("--columns", type=int, default=3, help="style pairs per row")
    args = parser.parse_args()
    rows = pair_rows(args.photo, args.size, args.columns)
    if not rows:
        raise SystemExit("no fast styles are shipped: nothing to show")
    sheet = save_sheet(rows, args.output)
    print(f"{args.output}: {sheet.width}x{sheet.height}, {args.output.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
