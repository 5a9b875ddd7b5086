"""The Python API's conveniences, `imgperc.stylize` and `imgperc.upscale`, over `imgperc.load`
(`imgperc.model`), with the image helpers the task commands share.

The core never imports a task plugin: both ask the plugin registry for their image task
(``style``, ``sr``), exactly like `imgperc video` does. The models they load are kept, the
`CACHE_SIZE` most recently used, so a loop over many images loads its model once.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar, Union

from . import plugins
from .errors import InputError
from .hub import resolve_model
from .io import Image, from_pil, read_image, resize, scaled_size
from .limits import check_pixels
from .tasks import Transform, colour_output

if TYPE_CHECKING:
    import PIL.Image
    import torch

    from .model import Input, Model, Output

STYLE_TASK = "style"  # the image task `stylize` runs, provided by a plugin
SR_TASK = "sr"  # the image task `upscale` runs, provided by a plugin
CACHE_SIZE = 4  # models kept loaded by `stylize` and `upscale`

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
    raise InputError(f"expected a PIL image, a path, a numpy array or a torch tensor, not {type(image).__name__}")


def resize_pixels_longest(pixels: torch.Tensor, longest: int) -> torch.Tensor:
    """``[..., H, W]`` pixels resized (`imgperc.io.resize`) so that the longest side is
    ``longest`` (the same tensor when it already is); over the pixel limit is an InputError."""
    h, w = pixels.shape[-2:]
    new_h, new_w = scaled_size(h, w, longest=longest)
    check_pixels(new_w, new_h, f"resized to {longest} pixels, the image")
    return pixels if (new_h, new_w) == (h, w) else resize(pixels, (new_h, new_w))


def resize_longest(image: Image, longest: int) -> Image:
    """``image`` resized so that its longest side is ``longest`` pixels (alpha too)."""
    pixels = resize_pixels_longest(image.pixels, longest)
    return image if pixels is image.pixels else image.with_pixels(pixels)


def transform_image(transform: Transform, image: Image, finish: Callable[[Image, Any], Image] | None = None) -> Image:
    """Run a prepared image task on one image; ``finish`` (an ``ImageTask.finish``, default
    `imgperc.tasks.colour_output`: alpha resized with the scale) makes the result."""
    return (finish or colour_output)(image, transform(image.pixels[None])[0])


K = TypeVar("K")
V = TypeVar("V")


def lru_get(cache: OrderedDict[K, V], key: K, make: Callable[[], V], limit: int) -> V:
    """``cache[key]``, made by ``make()`` when absent; the ``limit`` most recently used are kept."""
    value = cache.pop(key) if key in cache else make()
    cache[key] = value
    while len(cache) > limit:
        cache.popitem(last=False)
    return value


# (name or path, task, device, precision) -> (the model file's (path, mtime) or None, the model)
_models: OrderedDict[tuple, tuple[tuple[Path, int] | None, Model]] = OrderedDict()


def _stamp(path: Path | None) -> tuple[Path, int] | None:
    return None if path is None else (path.resolve(), path.stat().st_mtime_ns)


def cached_model(name_or_path: str | Path, task: str, label: str, device: str = "auto", precision: str = "auto") -> Model:
    """`imgperc.load` of a model of ``task`` (called ``label`` in errors), keeping the
    `CACHE_SIZE` models used last. A kept model is reused without resolving its name again,
    unless its model file changed on disk."""
    from .model import load_resolved

    def load() -> tuple[tuple[Path, int] | None, Model]:
        found = resolve_model(name_or_path, task, label=label)
        return _stamp(found.path), load_resolved(found, device=device, precision=precision)

    key = (str(name_or_path), task, device, precision)
    stamp = _models[key][0] if key in _models else None
    if stamp is not None and stamp != _stamp(stamp[0]):
        del _models[key]  # its model file changed on disk: loaded again
    return lru_get(_models, key, load, CACHE_SIZE)[1]


def clear_model_cache() -> None:
    """Forget the models `stylize` and `upscale` keep loaded."""
    _models.clear()


def stylize(
    image: Input,
    style: str | None = None,
    *,
    model: str | Path | None = None,
    size: int | None = None,
    preserve_color: bool = False,
    strength: float = 1.0,
    device: str = "auto",
    precision: str = "auto",
    tile: str | int | None = "auto",
    style_image: str | Path | Sequence[str | Path] | None = None,
    style_mix: Sequence[float] | None = None,
    style_size: int | None = None,
) -> Output:
    """Stylize ``image`` with a named ``style`` or a trained ``model`` (a name or file; it wins),
    or with any painting: ``style_image`` (one path, or several mixed by ``style_mix`` weights;
    ``style_size``: the painting's longest side, which sets the stroke scale).

    Without any, the ``style`` task's default model (`ImageTask.default`; docs/api.md names
    the shipped one). ``size`` resizes so the longest side has that many pixels first;
    ``preserve_color`` keeps the input's colours; ``strength`` blends with the input (0..1).
    Returns what `imgperc.Model` returns for ``image``; alpha is kept.
    """
    task = plugins.registry("image_tasks").require(STYLE_TASK)
    if style_image is not None or style_mix is not None:
        from .model import apply

        paintings = (style_image,) if isinstance(style_image, (str, Path)) else tuple(style_image or ())
        mix = None if style_mix is None else ",".join(str(float(w)) for w in style_mix)
        transform = task.prepare(style=style, model=model, style_image=tuple(Path(p) for p in paintings), style_mix=mix,
                                 style_size=style_size, preserve_color=preserve_color, strength=strength, device=device,
                                 precision=precision, tile=tile)
        return apply(transform, image, size, task.finish)
    name = model if model is not None else style or task.default()
    styler = cached_model(name, STYLE_TASK, "style", device, precision)
    return styler(image, size=size, tile=tile, preserve_color=preserve_color, strength=strength)


def upscale(
    image: Input,
    scale: int | None = None,
    *,
    model: str | Path | None = None,
    histogram_match: bool = False,
    outscale: float | None = None,
    denoise: float | None = None,
    device: str = "auto",
    precision: str = "auto",
    tile: str | int | None = "auto",
) -> Output:
    """Super-resolve ``image`` ``scale`` (2, 4 or 8) times with ``model`` (a name or file).

    Without a model, the ``sr`` task's default for ``scale`` (x4 without either; docs/api.md
    names the shipped ones); with one, ``scale`` may be left out, and must be the model's if given.
    ``histogram_match`` matches the output's histograms to the input's. ``outscale`` (any
    number above 0) resizes the result to ``round(outscale·size)`` (without a scale or model it
    picks the scale: x2 up to 2, x4 up to 4, x8 above); ``denoise`` (0..1) blends a real-world model with
    its weak partner (without a model, the default one that has a partner). Returns what
    `imgperc.Model` returns for ``image``: a gray array stays gray, alpha is upscaled too.
    """
    task = plugins.registry("image_tasks").require(SR_TASK)
    name = model if model is not None else task.default(scale=scale, outscale=outscale, denoise=denoise)
    upscaler = cached_model(name, SR_TASK, "super-resolution model", device, precision)
    return upscaler(image, tile=tile, scale=scale, histogram_match=histogram_match, outscale=outscale, denoise=denoise)
