"""Image files in and out: :mod:`.image` (read/write with metadata), :mod:`.paths` (batches),
:mod:`.resample` (resizing)."""

from .image import IMAGE_EXTENSIONS, MAX_PIXELS, Image, from_pil, read_image, to_pil, write_image
from .paths import collect_inputs, collect_sources, output_paths
from .resample import resize, scaled_size

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "Image",
    "collect_inputs",
    "collect_sources",
    "from_pil",
    "output_paths",
    "read_image",
    "resize",
    "scaled_size",
    "to_pil",
    "write_image",
]
