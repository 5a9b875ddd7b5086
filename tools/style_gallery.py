"""A gallery of each pretrained style beside its fast (distilled) version, on one photo.

    python tools/style_gallery.py PHOTO -o docs/images/fast-styles.jpg [--size 240] [--columns 3] \
        [--crops docs/images/fast-styles-crops.jpg --crop-size 512 --crop 128]

Each style gives two labelled panels, ``STYLE`` (the ml5 teacher) and ``STYLE-fast``, both from
`imgperc.stylize` at ``--size`` (longest side); the pairs are laid out ``--columns`` per row.
Styles without a shipped fast version are left out (and named on the way). ``--crops`` also
writes the same pairs as ``--crop`` x ``--crop`` squares at 100% from the centre of the photo
stylised at ``--crop-size`` (the size users run), where stroke detail shows.
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


def pair_rows(photo: Path, size: int, columns: int, crop: int | None = None) -> list[Image.Image]:
    """One labelled row per ``columns`` styles: teacher | fast, teacher | fast, ... (with
    ``crop``: the central ``crop`` square of each, at 100%)."""
    shipped = hub.specs()
    panels = []
    for style in STYLES:
        fast = f"{style}-fast"
        if fast not in shipped:
            print(f"{fast}: not shipped, left out")
            continue
        for name in (style, fast):
            pixels = pil_to_tensor(imgperc.stylize(photo, name, size=size).convert("RGB")).float() / 255
            if crop is not None:
                top, left = (pixels.shape[-2] - crop) // 2, (pixels.shape[-1] - crop) // 2
                pixels = pixels[:, top : top + crop, left : left + crop]
            panels.append((name, pixels))
    per_row = 2 * columns
    return [labelled_row(panels[i : i + per_row]) for i in range(0, len(panels), per_row)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--size", type=int, default=240, help="longest side of each panel")
    parser.add_argument("--columns", type=int, default=3, help="style pairs per row")
    parser.add_argument("--crops", type=Path, help="also write 100%% crops of each pair here")
    parser.add_argument("--crop-size", type=int, default=512, help="longest side the crops are cut from")
    parser.add_argument("--crop", type=int, default=128, help="side of each crop")
    args = parser.parse_args()
    sheets = [(args.output, pair_rows(args.photo, args.size, args.columns))]
    if args.crops:
        sheets.append((args.crops, pair_rows(args.photo, args.crop_size, args.columns, args.crop)))
    for path, rows in sheets:
        if not rows:
            raise SystemExit("no fast styles are shipped: nothing to show")
        sheet = save_sheet(rows, path)
        print(f"{path}: {sheet.width}x{sheet.height}, {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
