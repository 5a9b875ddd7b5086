"""Upscaling shared by `imgperc upscale`, `imgperc eval sr` and the ``sr`` image task (video).

`Upscaler` is the one function that upscales: a super-resolution net run by the core inference
engine, then the paper's histogram matching to the low-resolution input; or, for the
``bicubic`` baseline, Pillow's bicubic interpolation. `upscale_image` adds what files need:
alpha (upscaled separately, bicubic), grayscale outputs for grayscale inputs, bit depth kept.
Light to import (torch loads with the net), so the ``sr`` task's options are known without it
(`imgperc upscale --help`, `imgperc video --help`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgperc.errors import InputError

from .models import SRChoice, choose, model_choice

if TYPE_CHECKING:
    import torch
    from torch import nn

    from imgperc.hub import ResolvedModel
    from imgperc.inference import Engine
    from imgperc.io import Image

PAD = 16  # low-resolution pixels of reflection around the input: more than the net's reach
LUMA = (0.299, 0.587, 0.114)  # BT.601, to turn an upscaled grayscale input back into gray


@dataclass
class Upscaler:
    """A prepared upscaler, the `imgperc.tasks.Transform` of the ``sr`` image task.

    ``[N,3,H,W]`` in [0,1] -> ``[N,3,H·scale,W·scale]`` in [0,1]. ``net`` None means bicubic.
    """

    scale: int
    tag: str
    net: nn.Module | None = None
    histogram_match: bool = False

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        from imgperc.inference import run_net

        from .bicubic import upscale_bicubic
        from .histogram import match_histograms

        if self.net is None:
            return upscale_bicubic(batch, self.scale)
        output = run_net(self.net, batch, pad=PAD)
        if self.histogram_match:
            output = match_histograms(output, batch).clamp(0.0, 1.0)
        return output


def load_upscaler(
    choice: SRChoice,
    *,
    histogram_match: bool = False,
    device: str = "auto",
    precision: str = "auto",
    tile: str | int | None = "auto",
) -> Upscaler:
    """The chosen model's net in the inference engine (or the bicubic baseline), ready to run."""
    from imgperc.inference import Engine

    if choice.is_bicubic:
        return Upscaler(choice.scale, choice.tag)
    engine = Engine(choice.model.load().net, device=device, precision=precision, tile=tile)
    return _upscaler(engine, choice, histogram_match)


def bind(engine: Engine, model: ResolvedModel, *, scale: str | int | None = None, histogram_match: bool = False) -> Upscaler:
    """The upscaler of a net already in ``engine`` (``ImageTask.bind`` of the ``sr`` task);
    ``scale``, if given, must be the model's."""
    return _upscaler(engine, model_choice(model, int(scale) if scale is not None else None), histogram_match)


def _upscaler(engine: Engine, choice: SRChoice, histogram_match: bool) -> Upscaler:
    net_scale = getattr(engine.net, "scale", choice.scale)
    if net_scale != choice.scale:
        raise InputError(f"model '{choice.name}' builds an x{net_scale} net but says x{choice.scale}")
    return Upscaler(choice.scale, choice.tag, engine, histogram_match)


def _gray(pixels: torch.Tensor) -> torch.Tensor:
    import torch

    weights = torch.tensor(LUMA, dtype=pixels.dtype, device=pixels.device).view(3, 1, 1)
    return (pixels * weights).sum(0, keepdim=True).expand(3, -1, -1).contiguous()


def upscale_image(upscaler: Upscaler, image: Image) -> Image:
    """``image`` upscaled: exactly ``scale`` times its size, metadata and bit depth kept."""
    return finish_upscaled(image, upscaler(image.pixels[None])[0])


def finish_upscaled(image: Image, pixels: torch.Tensor) -> Image:
    """``image`` with its upscaled ``pixels``: a gray input stays gray, alpha is upscaled
    bicubically, metadata and bit depth are kept (the ``sr`` task's ``finish``)."""
    from .bicubic import upscale_bicubic

    if image.grayscale:
        pixels = _gray(pixels)
    scale = pixels.shape[-1] // image.pixels.shape[-1]
    alpha = None if image.alpha is None else upscale_bicubic(image.alpha[None], scale)[0]
    return dataclasses.replace(image, pixels=pixels, alpha=alpha)


def prepare(
    scale: str | int | None = None,
    model: str | Path | None = None,
    histogram_match: bool = False,
    device: str = "auto",
    precision: str | None = None,
    tile: str | None = None,
) -> Upscaler:
    """Pick and load an upscaler (``ImageTask.prepare`` of the ``sr`` task)."""
    choice = choose(model, int(scale) if scale is not None else None)
    return load_upscaler(choice, histogram_match=histogram_match, device=device, precision=precision or "auto", tile=tile or "auto")


def tag(values: dict[str, Any]) -> str:
    """Name part for outputs (``clip.x4.mp4``, ``clip.x4-bicubic.mp4``)."""
    scale = values.get("scale")
    return choose(values.get("model"), int(scale) if scale is not None else None).tag
