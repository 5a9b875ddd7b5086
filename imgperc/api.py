"""The Python API: `imgperc.stylize(...)` and the image helpers the task commands share.

The core never imports a task plugin: `stylize` asks the plugin registry for the ``style``
image task, exactly like `imgperc video` does.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Union

from . import plugins
from .errors import InputError
from .io import Image, from_pil, read_image, resize, scaled_size, to_pil
from .limits import check_pixels
from .tasks import Transform

if TYPE_CHECKING:
    import PIL.Image

STYLE_TASK = "style"  # the image task `stylize` runs, provided by a plugin

ImageLike = Union["PIL.Image.Image", str, Path, Image]


def as_image(image: ImageLike) -> Image:
    """An `imgperc.io.Image` from a PIL image, a path or an Image."""
    if isinstance(image, Image):
        return image
    if isinstance(image, (str, Path)):
        return read_image(Path(image))
    import PIL.Image

    if isinstance(image, PIL.Image.Image):
        return from_pil(image)
    raise InputError(f"expected a PIL image, a path or an imgperc.io.Image, not {type(image).__name__}")


def resize_longest(image: Image, longest: int) -> Image:
    """``image`` resized (`imgperc.io.resize`) so that its longest side is ``longest`` pixels."""
    w, h = image.size
    new_h, new_w = scaled_size(h, w, longest=longest)
    check_pixels(new_w, new_h, f"resized to {longest} pixels, the image")
    if (new_w, new_h) == (w, h):
        return image
    return image.with_pixels(resize(image.pixels, (new_h, new_w)))


def transform_image(transform: Transform, image: Image) -> Image:
    """Run a prepared image task on one image; alpha is carried over (resized with the scale)."""
    pixels = transform(image.pixels[None])[0]
    return dataclasses.replace(image.with_pixels(pixels), grayscale=False)


def stylize(
    image: ImageLike,
    style: str | None = None,
    *,
    model: str | Path | None = None,
    size: int | None = None,
    preserve_color: bool = False,
    strength: float = 1.0,
    device: str = "auto",
) -> "PIL.Image.Image":
    """Stylize one image with a pretrained ``style`` (or a trained ``model`` file, which wins).

    Without either, the ``style`` image task's default style. The task comes from the plugin
    registry: a PluginError says so when no enabled plugin provides it.

    ``size`` resizes so the longest side has that many pixels first; ``preserve_color`` keeps
    the input's colours; ``strength`` blends with the input (0..1). Alpha is kept.
    """
    task = plugins.registry("image_tasks").require(STYLE_TASK)
    transform = task.prepare(
        style=None if model is not None else style or task.default_model,
        model=model,
        preserve_color=preserve_color,
        strength=strength,
        device=device,
    )
    picture = as_image(image)
    if size is not None:
        picture = resize_longest(picture, size)
    return to_pil(transform_image(transform, picture))
