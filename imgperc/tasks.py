"""Image-to-image tasks that plugins offer to the generic pipelines (batches of files, video).

A task (stylize, upscale, ...) says which CLI options select and configure it, and turns
those option values into a ``Transform``: a callable on batches of frames. `imgperc video`
builds its options from every registered task, so a new plugin's task works there at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import click
import torch


class Transform(Protocol):
    """A prepared task: ``[N,3,H,W]`` float RGB in [0,1] -> ``[N,3,H*scale,W*scale]`` in [0,1]."""

    scale: int

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class ImageTask:
    """One image task as registered through the ``register_image_tasks`` hook.

    ``selector`` is the name of the option whose presence picks this task (``style`` for
    ``--style``, ``scale`` for ``-x``); ``options`` are the click options it understands;
    ``prepare(**values)`` builds the transform; ``tag(values)`` names outputs
    (``clip.wave.mp4``, ``clip.x4.mp4``).
    """

    name: str
    help: str
    selector: str
    options: tuple[click.Option, ...]
    prepare: Callable[..., Transform]
    tag: Callable[[dict[str, Any]], str]
