"""Stylization shared by `imgperc stylize`, the ``style`` image task and `imgperc.stylize`.

`stylize_batch` is the one function that stylizes; everything else picks the model (through the
core's `imgperc.hub.resolve`) and loads its net. Light to import (torch loads with the net), so
the ``style`` task's options are known without it (`imgperc stylize --help`, `imgperc video --help`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from imgperc.errors import InputError
from imgperc.hub import ResolvedModel, resolve_model

if TYPE_CHECKING:
    import torch
    from torch import nn

    from imgperc.inference import Engine
    from imgperc.tasks import Transform

TASK = "style"
DEFAULT_STYLE = "muse-fast"  # without --style or --model: built in, so nothing is downloaded
VIDEO_CONSISTENCY = "video_consistency"  # metadata: the --consistency a style was measured best at (docs/video.md)


def stylize_batch(net: nn.Module, batch: torch.Tensor, *, preserve_color: bool = False, strength: float = 1.0) -> torch.Tensor:
    """[N,3,H,W] RGB in [0,1] -> the stylized batch, same shape, in [0,1]."""
    from imgperc.inference import run_net

    from . import color

    if strength <= 0.0:
        return batch.clone()
    styled = run_net(net, batch)
    if preserve_color:
        styled = color.preserve_color(styled, batch)
    return color.blend(styled, batch, strength)


@dataclass(frozen=True)
class StyleChoice:
    """A style picked by name or file, resolved without any download; ``tag`` names outputs."""

    tag: str
    model: ResolvedModel


def choose(style: str | None, model: str | Path | None) -> StyleChoice:
    """Validate ``--style NAME`` / ``--model PATH`` (at most one; neither: `DEFAULT_STYLE`)
    before any work is done."""
    if style and model:
        raise InputError("give either a style name or a model file, not both")
    found = resolve_model(model or style or DEFAULT_STYLE, TASK, label="style")
    return StyleChoice(found.name, found)


def load_net(choice: StyleChoice, device: str = "auto", precision: str = "auto", tile: str | int | None = "auto") -> Engine:
    """The choice's net in the inference engine, on the selected device."""
    from imgperc.inference import Engine

    return Engine(choice.model.load().net, device=device, precision=precision, tile=tile)


@dataclass
class StyleTransform:
    """A prepared style: the `imgperc.tasks.Transform` of the ``style`` image task (scale 1)."""

    net: nn.Module
    tag: str
    preserve_color: bool = False
    strength: float = 1.0
    scale: int = 1
    consistency: float | None = None  # the model's measured video setting (`VIDEO_CONSISTENCY`), for `imgperc video`

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return stylize_batch(self.net, batch, preserve_color=self.preserve_color, strength=self.strength)


def check_strength(strength: float) -> None:
    """Refuse a ``strength`` outside 0..1."""
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"strength must be between 0 and 1 (got {strength})")


def bind(engine: Engine, model: ResolvedModel, *, preserve_color: bool = False, strength: float = 1.0) -> StyleTransform:
    """The transform of a style net already in ``engine`` (``ImageTask.bind`` of the ``style`` task)."""
    check_strength(strength)
    return StyleTransform(engine, model.name, preserve_color, strength, consistency=video_consistency(model))


def video_consistency(model: ResolvedModel) -> float | None:
    """The model's recorded `VIDEO_CONSISTENCY` (None: none); a one-line error unless it is a number in 0..1."""
    value = model.meta.get(VIDEO_CONSISTENCY)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise InputError(f"model '{model.name}' records {VIDEO_CONSISTENCY} {value!r}; it must be a number from 0 to 1")
    return float(value)


def prepare(
    style: str | None = None,
    model: str | Path | None = None,
    preserve_color: bool = False,
    strength: float = 1.0,
    device: str = "auto",
    precision: str | None = None,
    tile: str | None = None,
    style_image: Sequence[Path] = (),
    style_mix: str | None = None,
    style_size: int | None = None,
) -> Transform:
    """Pick, load and configure a style net, or any painting with ``style_image``
    (``ImageTask.prepare`` of the ``style`` task)."""
    from imgperc.inference.tiling import parse_tile

    from .anystyle_task import check_choice, prepare_anystyle

    check_strength(strength)
    check_choice(style_image, style, model, style_mix)
    if style_image:
        return prepare_anystyle(style_image, style_mix=style_mix, style_size=style_size, strength=strength,
                                preserve_color=preserve_color, device=device, precision=precision or "auto",
                                tile=parse_tile(tile or "auto"))
    choice = choose(style, model)
    net = load_net(choice, device, precision or "auto", tile or "auto")
    return bind(net, choice.model, preserve_color=preserve_color, strength=strength)


def tag(values: dict[str, Any]) -> str:
    """Name part for outputs (``clip.wave.mp4``): the style id, the model file's stem, or the
    paintings' stems."""
    from .anystyle_task import check_choice, painting_tag

    style_image = values.get("style_image") or ()
    check_choice(style_image, values.get("style"), values.get("model"), values.get("style_mix"))
    if style_image:
        return painting_tag(style_image)
    return choose(values.get("style"), values.get("model")).tag
