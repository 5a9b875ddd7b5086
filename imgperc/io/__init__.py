"""Image files in and out: :mod:`.image` (read/write with metadata), :mod:`.paths` (batches),
:mod:`.resample` (resizing).

The names below load with their module when first used.
"""

from ..lazy import exports

__getattr__, __dir__, __all__ = exports(
    __name__,
    {
        ".image": ("IMAGE_EXTENSIONS", "MAX_PIXELS", "Image", "from_pil", "read_image", "to_pil", "write_image"),
        ".paths": ("collect_inputs", "collect_sources", "output_paths"),
        ".resample": ("resize", "scaled_size"),
    },
)
