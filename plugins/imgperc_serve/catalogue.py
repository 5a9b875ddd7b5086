"""What the server offers: the models of `imgperc models list` for its tasks, and the style
gallery's thumbnails, made from the installed style nets on a small picture drawn here.

Thumbnails are made once per model file and cached in imgperc's data folder
(``IMGPERC_HOME/cache/serve``); a style that is not installed yet (downloaded on first use)
has none, so listing never downloads anything.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from imgperc.api import SR_TASK, STYLE_TASK

THUMBNAIL = 160  # pixels a side
SCENE_VERSION = "1"  # change when `scene` draws something else, to make the thumbnails again
TASKS = (STYLE_TASK, SR_TASK)


def models() -> list[dict[str, Any]]:
    """`imgperc models list --json`'s rows for the server's tasks, with each upscaler's
    ``scale`` and whether a style has a ``thumbnail``."""
    from imgperc.cli.models_cmd import list_rows

    rows = [row for row in list_rows(None) if row["task"] in TASKS]
    for row in rows:
        if row["task"] == SR_TASK:
            row["scale"] = scale(row["id"])
        else:
            row["thumbnail"] = f"/v1/thumbnails/{row['id']}.jpg" if row["installed"] else None
    return rows


def scale(name: str) -> int | None:
    """The scale of the upscaler ``name`` (an id, alias or trained model), from its metadata."""
    from imgperc.hub import resolve_model

    meta = resolve_model(name, SR_TASK).meta
    return meta.get("scale", meta.get("config", {}).get("scale"))


def names(task: str) -> list[str]:
    """Every name the server takes for a model of ``task``: ids, their aliases, trained models."""
    return [name for row in models() if row["task"] == task for name in (row["id"], *row["aliases"])]


def scene(side: int = THUMBNAIL) -> "Any":
    """A small landscape drawn from shapes (sky, sun, hills, a lake, a house): the thumbnails' photo."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (side, side))
    draw = ImageDraw.Draw(image)
    for y in range(side):  # the sky, from deep blue to pale near the horizon
        t = y / side
        draw.line([(0, y), (side, y)], fill=(int(70 + 150 * t), int(120 + 110 * t), int(200 + 40 * t)))
    s = side / 160
    draw.ellipse([112 * s, 18 * s, 142 * s, 48 * s], fill=(255, 214, 90))
    draw.polygon([(0, 100 * s), (45 * s, 62 * s), (90 * s, 98 * s), (130 * s, 70 * s), (side, 96 * s), (side, side), (0, side)],
                 fill=(60, 120, 60))
    draw.rectangle([0, 118 * s, side, side], fill=(40, 90, 150))
    draw.rectangle([30 * s, 88 * s, 62 * s, 116 * s], fill=(210, 190, 160))
    draw.polygon([(26 * s, 90 * s), (46 * s, 72 * s), (66 * s, 90 * s)], fill=(160, 50, 40))
    draw.rectangle([42 * s, 102 * s, 50 * s, 116 * s], fill=(90, 60, 40))
    for x in (100, 112, 124):  # three trees
        draw.polygon([(x * s, 112 * s), ((x + 6) * s, 86 * s), ((x + 12) * s, 112 * s)], fill=(30, 80, 40))
    return image


def thumbnail(style: str) -> bytes:
    """The gallery's JPEG of ``style`` (installed or built in), made once and cached."""
    import imgperc
    from imgperc.atomic import atomic_path
    from imgperc.hub import resolve_model
    from imgperc.settings import home_dir

    model_file = resolve_model(style, STYLE_TASK, label="style").file()
    stat = model_file.stat()
    key = hashlib.sha256(f"{model_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{THUMBNAIL}:{SCENE_VERSION}".encode()).hexdigest()[:16]
    cached = home_dir("cache", "serve") / f"{Path(style).name}-{key}.jpg"
    if cached.is_file():
        return cached.read_bytes()
    buffer = io.BytesIO()
    imgperc.stylize(scene(), style).save(buffer, "JPEG", quality=85)
    with atomic_path(cached, overwrite=True) as temporary:
        temporary.write_bytes(buffer.getvalue())
    return buffer.getvalue()
