"""Upscaling shared by `imgperc upscale`, `imgperc eval sr` and the ``sr`` image task (video).

`Upscaler` is the one function that upscales: a super-resolution net run by the core inference
engine, then the paper's histogram matching to the low-resolution input; or, for the
``bicubic`` baseline, Pillow's bicubic interpolation; then, with ``outscale``, the result
resized to any scale (`resize_outscale`: Pillow's Lanczos filter). ``--denoise`` runs a net
blended with its weak partner (`.denoise`). `upscale_image` adds what files need:
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

from .models import SRChoice, check_outscale, choose, model_choice

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
    With ``outscale`` F, the result is then resized to ``[N,3,round(H·F),round(W·F)]``: for
    `imgperc.upscale` (the files pipeline wants ``scale`` times: `imgperc upscale` resizes in
    `finish_upscaled`).
    """

    scale: int
    tag: str
    net: nn.Module | None = None
    histogram_match: bool = False
    outscale: float | None = None

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        from imgperc.inference import run_net

        from .bicubic import upscale_bicubic
        from .histogram import match_histograms

        if self.outscale is not None:
            outscale_size(batch.shape[-2:], self.outscale)  # over the pixel limit: refused before any work
        if self.net is None:
            output = upscale_bicubic(batch, self.scale)
        else:
            output = run_net(self.net, batch, pad=PAD)
            if self.histogram_match:
                output = match_histograms(output, batch).clamp(0.0, 1.0)
        return output if self.outscale is None else resize_outscale(output, batch.shape[-2:], self.outscale)


def outscale_size(size: tuple[int, int], outscale: float) -> tuple[int, int]:
    """``(H, W)`` times ``outscale``, rounded: ``(round(H·F), round(W·F))``; an InputError for
    no pixels or over the pixel limit (`imgperc.limits`)."""
    from imgperc.limits import check_pixels

    check_outscale(outscale)
    height, width = (round(n * outscale) for n in size)
    if height < 1 or width < 1:
        raise InputError(f"--outscale {outscale:g} of a {size[1]}x{size[0]} image leaves no pixels")
    check_pixels(width, height)
    return height, width


def resize_outscale(pixels: torch.Tensor, size: tuple[int, int], outscale: float) -> torch.Tensor:
    """``[..., h, w]`` upscaled from an input of ``size`` (H, W) resized to `outscale_size` with
    Pillow's Lanczos filter (antialiased when shrinking), clamped to [0, 1]."""
    from PIL import Image as PILImage

    from .bicubic import pillow_resize

    target = outscale_size(size, outscale)
    if tuple(pixels.shape[-2:]) == target:
        return pixels
    flat = pixels.reshape(-1, *pixels.shape[-3:]) if pixels.ndim > 3 else pixels[None]
    resized = pillow_resize(flat, target, PILImage.Resampling.LANCZOS).clamp(0.0, 1.0)
    return resized.reshape(*pixels.shape[:-2], *target)


def load_upscaler(
    choice: SRChoice,
    *,
    histogram_match: bool = False,
    device: str = "auto",
    precision: str = "auto",
    tile: str | int | None = "auto",
) -> Upscaler:
    """The chosen model's net (blended by its ``--denoise`` strength) in the inference engine, or
    the bicubic baseline, ready to run."""
    from imgperc.inference import Engine

    if choice.is_bicubic:
        return Upscaler(choice.scale, choice.tag)
    engine = Engine(_net(choice), device=device, precision=precision, tile=tile)
    return _upscaler(engine, choice, histogram_match, None)


def _net(choice: SRChoice) -> nn.Module:
    if choice.denoise is None:
        return choice.model.load().net
    from .denoise import blended_net

    return blended_net(choice.model, choice.denoise)


def bind(
    engine: Engine,
    model: ResolvedModel,
    *,
    scale: str | int | None = None,
    histogram_match: bool = False,
    denoise: float | None = None,
    outscale: float | None = None,
) -> Upscaler:
    """The upscaler of a net already in ``engine`` (``ImageTask.bind`` of the ``sr`` task);
    ``scale``, if given, must be the model's. ``denoise`` runs a blended net in an engine like
    ``engine``; ``outscale`` resizes the result (see `Upscaler`)."""
    from imgperc.inference import Engine

    check_outscale(outscale)
    choice = model_choice(model, int(scale) if scale is not None else None, denoise=denoise)
    if denoise is not None:
        engine = Engine(_net(choice), device=engine.device, precision=engine.precision, tile=engine.tile, compile=engine.compile_mode)
    return _upscaler(engine, choice, histogram_match, outscale)


def _upscaler(engine: Engine, choice: SRChoice, histogram_match: bool, outscale: float | None) -> Upscaler:
    net_scale = getattr(engine.net, "scale", choice.scale)
    if net_scale != choice.scale:
        raise InputError(f"model '{choice.name}' builds an x{net_scale} net but says x{choice.scale}")
    return Upscaler(choice.scale, choice.tag, engine, histogram_match, outscale)


def _gray(pixels: torch.Tensor) -> torch.Tensor:
    import torch

    weights = torch.tensor(LUMA, dtype=pixels.dtype, device=pixels.device).view(3, 1, 1)
    return (pixels * weights).sum(0, keepdim=True).expand(3, -1, -1).contiguous()


def upscale_image(upscaler: Upscaler, image: Image) -> Image:
    """``image`` upscaled: exactly ``scale`` times its size, metadata and bit depth kept."""
    return finish_upscaled(image, upscaler(image.pixels[None])[0])


def finish_upscaled(image: Image, pixels: torch.Tensor, outscale: float | None = None) -> Image:
    """``image`` with its upscaled ``pixels`` (resized to ``outscale`` times the image first, if
    given: `imgperc upscale --outscale`): a gray input stays gray, alpha is resized bicubically
    to the output's size, metadata and bit depth are kept (the ``sr`` task's ``finish``)."""
    from .bicubic import bicubic_resize

    if outscale is not None:
        pixels = resize_outscale(pixels, image.pixels.shape[-2:], outscale)
    if image.grayscale:
        pixels = _gray(pixels)
    alpha = None if image.alpha is None else bicubic_resize(image.alpha[None], tuple(pixels.shape[-2:]))[0].clamp(0.0, 1.0)
    return dataclasses.replace(image, pixels=pixels, alpha=alpha)


def prepare(
    scale: str | int | None = None,
    model: str | Path | None = None,
    histogram_match: bool = False,
    denoise: float | None = None,
    device: str = "auto",
    precision: str | None = None,
    tile: str | None = None,
) -> Upscaler:
    """Pick and load an upscaler (``ImageTask.prepare`` of the ``sr`` task)."""
    choice = choose(model, int(scale) if scale is not None else None, denoise=denoise)
    return load_upscaler(choice, histogram_match=histogram_match, device=device, precision=precision or "auto", tile=tile or "auto")


def tag(values: dict[str, Any], outscale: float | None = None) -> str:
    """Name part for outputs (``clip.x4.mp4``, ``clip.x4-bicubic.mp4``, ``photo.x4-real-dn0.5.png``;
    with ``outscale`` 2, ``photo.x2.png``, and for a named net of another scale its own name too,
    ``photo.x2-x4-fidelity.png``, never another model's; ``outscale`` defaults to ``values``' own)."""
    outscale = outscale if outscale is not None else values.get("outscale")
    scale = values.get("scale")
    choice = choose(values.get("model"), int(scale) if scale is not None else None, outscale=outscale, denoise=values.get("denoise"))
    if outscale is None or outscale == choice.scale:
        return choice.tag
    if choice.is_bicubic or choice.tag == f"x{choice.scale}":  # no net, or the default one: the scale stands for it
        return f"x{outscale:g}" + choice.tag.removeprefix(f"x{choice.scale}")
    return f"x{outscale:g}-{choice.tag}"
