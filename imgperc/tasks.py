"""Image-to-image tasks that plugins offer to the generic pipelines (batches of files, video).

A task (stylize, upscale, ...) says which CLI options select and configure it, and turns
those option values into a ``Transform``: a callable on batches of frames. `imgperc video`
builds its options from every registered task, so a new plugin's task works there at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

if TYPE_CHECKING:
    import click
    import torch

    from .io import Image


class Transform(Protocol):
    """A prepared task: ``[N,3,H,W]`` float RGB in [0,1] -> ``[N,3,H*scale,W*scale]`` in [0,1]."""

    scale: int

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class BenchNet:
    """What `imgperc bench --task NAME` times: the transform net ``net`` built with ``config``,
    run with the reflection ``pad`` the task's own command uses (None: the one the net asks
    for, `imgperc.inference.net_pad`, as `imgperc.inference.run_net` gives it by default)."""

    net: str
    config: Mapping[str, Any] = field(default_factory=dict)
    pad: int | None = 0


@dataclass(frozen=True)
class ImageTask:
    """One image task as registered through the ``register_image_tasks`` hook.

    ``selector`` is the name of the option whose presence picks this task (``style`` for
    ``--style``, ``scale`` for ``-x``); ``options`` are the click options it understands;
    ``prepare(**values)`` builds the transform (image-file commands also pass ``device=`` when
    it takes one); ``tag(values)`` names outputs (``clip.wave.mp4``, ``clip.x4.mp4``);
    ``finish(image, pixels)``, if given, makes an output file's image from its input and the
    transformed pixels (default: `imgperc.pipeline.files.colour_output`);
    ``default_model`` is used when no model is chosen (`imgperc.stylize` without a style);
    ``bench`` is the net `imgperc bench` times for this task.
    """

    name: str
    help: str
    selector: str
    options: tuple[click.Option, ...]
    prepare: Callable[..., Transform]
    tag: Callable[[dict[str, Any]], str]
    finish: Callable[[Image, torch.Tensor], Image] | None = None
    default_model: str | None = None
    bench: BenchNet | None = None
