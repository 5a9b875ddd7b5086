"""`imgperc.load`: a model loaded once, then called on many images.

The model's task comes from its metadata (a hub model's spec, a file's ``task``), and the task
from the plugin registry: the core names no plugin. The task's ``bind`` turns the loaded net, in
an inference `Engine`, into its transform for a set of options; transforms are kept per option
set and engines per ``tile``, so calls reuse the compiled engine.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import torch

from . import plugins
from .api import ImageLike, as_image, lru_get, resize_longest, resize_pixels_longest, transform_image
from .errors import InputError, PluginError
from .hub import resolve_model
from .inference import Engine, select_device
from .inference.tiling import parse_tile
from .io import to_pil
from .io.arrays import from_array, to_array
from .precision import resolve as resolve_precision

if TYPE_CHECKING:
    import PIL.Image

    from .hub import ResolvedModel
    from .tasks import ImageTask, Transform

Input = Union[ImageLike, np.ndarray, torch.Tensor]
Output = Union["PIL.Image.Image", np.ndarray, torch.Tensor]
CORE_OPTIONS = ("size", "tile")  # what every model takes, besides its task's own options
MAX_TRANSFORMS = 16  # prepared option sets kept per model


class Model:
    """A model of an image task, its net loaded once; call it on images (see `__call__`).

    ``id`` is the hub id, the trained model's name or the file's stem; ``task`` the image task's
    name; ``device`` and ``precision`` where and how it runs (`to` changes them).
    """

    def __init__(self, task: ImageTask, model: ResolvedModel, *, device: str = "auto", precision: str = "auto") -> None:
        if task.bind is None:
            raise PluginError(f"the '{task.name}' image task cannot be loaded as a model (its plugin gives no ImageTask.bind)")
        self.id = model.name
        self.task = task.name
        self._task = task
        self._model = model
        loaded = model.load()
        self._net = loaded.net
        self.architecture: str | None = loaded.meta.get("architecture")
        parameters = list(inspect.signature(task.bind).parameters.values())[2:]
        self._options = tuple(p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        self._place(device, precision)

    def __repr__(self) -> str:
        return (f"imgperc.Model(id={self.id!r}, task={self.task!r}, architecture={self.architecture!r}, "
                f"device={self.device!r}, precision={self.precision!r})")

    def to(self, device: str | torch.device, precision: str | None = None) -> Model:
        """Run on ``device`` (``auto``, ``cpu``, ``cuda``), and in ``precision`` if given; returns self."""
        self._place(device.type if isinstance(device, torch.device) else device, precision or self._precision_choice)
        return self

    def _place(self, device: str, precision: str) -> None:
        where = select_device(device)
        self.precision = resolve_precision(precision, where, "inference")
        self.device = str(where)
        self._precision_choice = precision  # ``auto`` is chosen again for another device
        self._engines: dict[int | str | None, Engine] = {}
        self._transforms: OrderedDict[tuple, Transform] = OrderedDict()
        self._engine("auto")  # the net on its device now, so that a first call does no loading

    def _engine(self, tile: int | str | None) -> Engine:
        if tile not in self._engines:
            self._engines[tile] = Engine(self._net, device=self.device, precision=self.precision, tile=tile)
        return self._engines[tile]

    def _transform(self, tile: str | int | None, **options: Any) -> Transform:
        """The task's transform for ``options``, made once per option set."""
        unknown = [name for name in options if name not in self._options]
        if unknown:
            known = ", ".join((*CORE_OPTIONS, *self._options))
            raise InputError(f"unknown option '{unknown[0]}' for a {self.task} model (options: {known})")
        key = (parse_tile(tile), tuple(sorted(options.items())))
        return lru_get(self._transforms, key, lambda: self._task.bind(self._engine(key[0]), self._model, **options), MAX_TRANSFORMS)

    def __call__(self, image: Input, *, size: int | None = None, tile: str | int | None = "auto", **options: Any) -> Output:
        """``image`` transformed, as the same kind: a numpy array for an array (same dtype), a
        tensor for a ``[N,3,H,W]`` (or ``[3,H,W]``) float tensor in [0,1], else a PIL image (for
        a PIL image, a path or an `imgperc.io.Image`). Alpha is kept.

        ``size`` first resizes so the longest side has that many pixels; ``tile`` runs large
        images in tiles (``auto``: only those that do not fit in memory; ``off``; pixels); the
        other ``options`` are the task's (an unknown one is an InputError that lists them).
        """
        return apply(self._transform(tile, **options), image, size, self._task.finish)


def apply(transform: Transform, image: Input, size: int | None = None, finish: Any = None) -> Output:
    """A prepared transform on ``image``, returned as the same kind (see `Model.__call__`);
    ``finish``: the task's ``ImageTask.finish``."""
    with torch.inference_mode():
        if isinstance(image, torch.Tensor):
            return _run_tensor(transform, image, size)
        if isinstance(image, np.ndarray):
            picture = from_array(image)
            return to_array(transform_image(transform, _resized(picture, size), finish), image)
        return to_pil(transform_image(transform, _resized(as_image(image), size), finish))


def _resized(picture: Any, size: int | None) -> Any:
    return resize_longest(picture, size) if size is not None else picture


def _run_tensor(transform: Transform, batch: torch.Tensor, size: int | None) -> torch.Tensor:
    """``[N,3,H,W]`` or ``[3,H,W]`` floats in [0,1] through ``transform``: same rank, dtype and device."""
    if batch.ndim not in (3, 4) or batch.shape[-3] != 3 or not batch.is_floating_point():
        raise InputError(f"expected a float tensor [N,3,H,W] or [3,H,W] in [0, 1], got {batch.dtype} {list(batch.shape)}")
    pixels = batch if batch.ndim == 4 else batch[None]
    pixels = pixels.float()
    if size is not None:
        pixels = resize_pixels_longest(pixels, size)
    out = transform(pixels).to(batch.dtype)
    return out if batch.ndim == 4 else out[0]


def load(name_or_path: str | Path, device: str = "auto", precision: str = "auto") -> Model:
    """Load a model once: a hub id or alias (`imgperc models list`), a model you trained
    (``--name``) or a model file; its task comes from its metadata."""
    return load_resolved(resolve_model(name_or_path, None), device=device, precision=precision)


def load_resolved(found: ResolvedModel, *, device: str = "auto", precision: str = "auto") -> Model:
    """`load` a model that `imgperc.hub.resolve_model` found."""
    tasks = plugins.registry("image_tasks")
    if found.task not in tasks:
        offered = ", ".join(tasks) or "none"
        raise PluginError(
            f"'{found.name}' is a '{found.task}' model, and no enabled plugin provides a '{found.task}' image task "
            f"(image tasks: {offered}; see `imgperc plugins`)"
        )
    return Model(tasks.get(found.task), found, device=device, precision=precision)
