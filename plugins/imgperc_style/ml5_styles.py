"""The ml5 styles by hub id and their hub entries, in a module without torch: the plugin
registers them from here (`.ml5` holds their architecture and converts their checkpoints)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import torch

    from imgperc.hub import ModelSpec

SOURCE = "ml5js/ml5-data-and-models@0612a3e"
LICENSE = "MIT"

# id -> (upstream folder, description)
STYLES: dict[str, tuple[str, str]] = {
    "muse": ("la_muse", "Pablo Picasso, La Muse (1935)"),
    "wave": ("wave", "Katsushika Hokusai, The Great Wave off Kanagawa"),
    "udnie": ("udnie", "Francis Picabia, Udnie (1913)"),
    "scream": ("scream", "Edvard Munch, The Scream (1893)"),
    "rain-princess": ("rain_princess", "Leonid Afremov, Rain Princess"),
    "wreck": ("wreck", "J. M. W. Turner, The Shipwreck of the Minotaur"),
    "mathura": ("mathura", "ml5 style 'mathura'"),
    "matilde-perez": ("matilde_perez", "ml5 style 'matilde_perez'"),
    "matta": ("matta", "ml5 style 'matta'"),
}


@functools.cache
def _file_table() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("ml5_files.json").read_text())


def _convert(files: Mapping[str, Path], *, style: str, upstream: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The hub converter: `.ml5.convert`, imported when a style is installed."""
    from .ml5 import convert

    return convert(files, style=style, upstream=upstream)


def model_spec(style_id: str) -> ModelSpec:
    """The hub entry of ml5 style ``style_id``, every upstream file pinned by size and sha256."""
    from imgperc.hub import ModelSpec, RemoteFile

    table = _file_table()
    base = f"https://raw.githubusercontent.com/{table['repository']}/{table['commit']}/{table['path']}"
    folder, description = STYLES[style_id]
    files = tuple(RemoteFile(f"{base}/{folder}/{name}", size, sha256) for name, (size, sha256) in table["files"][folder].items())
    return ModelSpec(
        id=style_id,
        task="style",
        description=description,
        license=LICENSE,
        source=SOURCE,
        files=files,
        convert=functools.partial(_convert, style=style_id, upstream=folder),
        aliases=(folder,) if folder != style_id else (),
    )
