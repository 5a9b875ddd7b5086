"""Stylization shared by `imgperc stylize`, the ``style`` image task and `imgperc.stylize`.

`stylize_batch` is the one function that stylizes; everything else picks and loads the net.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from imgperc import hub
from imgperc.errors import InputError, ModelNotAvailable
from imgperc.hub.user import user_models
from imgperc.inference import Engine, run_net
from imgperc.modelfile import build_model, read_metadata

from . import color

TASK = "style"


def stylize_batch(net: nn.Module, batch: torch.Tensor, *, preserve_color: bool = False, strength: float = 1.0) -> torch.Tensor:
    """[N,3,H,W] RGB in [0,1] -> the stylized batch, same shape, in [0,1]."""
    if strength <= 0.0:
        return batch.clone()
    styled = run_net(net, batch)
    if preserve_color:
        styled = color.preserve_color(styled, batch)
    return color.blend(styled, batch, strength)


def style_names() -> list[str]:
    """Ids of every style model on the hub, then the user's trained styles."""
    return sorted(spec.id for spec in hub.specs().values() if spec.task == TASK) + sorted(user_models(TASK))


@dataclass(frozen=True)
class StyleChoice:
    """A style picked by name (a hub model) or by model file, resolved without any download."""

    tag: str
    spec: hub.ModelSpec | None = None
    path: Path | None = None

    def model_file(self) -> Path:
        """The model file, downloading and converting a hub style on first use."""
        return self.path if self.path is not None else hub.ensure(self.spec.id)


def choose(style: str | None, model: str | Path | None) -> StyleChoice:
    """Validate ``--style NAME`` / ``--model PATH`` (exactly one) before any work is done."""
    if style and model:
        raise InputError("give either a style name or a model file, not both")
    if model:
        path = Path(model)
        if not path.is_file():
            raise InputError(f"model file {path} does not exist")
        task = read_metadata(path).get("task")
        if task not in (None, TASK):
            raise InputError(f"{path} is a '{task}' model, not a style model")
        return StyleChoice(tag=path.stem, path=path)
    if not style:
        raise InputError(f"choose a style with --style NAME (known: {', '.join(style_names())}) or a model file with --model PATH")
    try:
        spec = hub.find_spec(style)
    except ModelNotAvailable:
        spec = None
    if spec is None and style in user_models(TASK):
        return StyleChoice(tag=style, path=user_models(TASK)[style])
    if spec is None or spec.task != TASK:
        raise InputError(f"unknown style '{style}' (known: {', '.join(style_names())})")
    return StyleChoice(tag=spec.id, spec=spec)


def load_net(choice: StyleChoice, device: str = "auto", precision: str = "auto", tile: str | int | None = "auto") -> Engine:
    """The choice's net in the inference engine, on the selected device."""
    net, _ = build_model(choice.model_file())
    return Engine(net, device=device, precision=precision, tile=tile)


@dataclass
class StyleTransform:
    """A prepared style: the `imgperc.tasks.Transform` of the ``style`` image task (scale 1)."""

    net: nn.Module
    tag: str
    preserve_color: bool = False
    strength: float = 1.0
    scale: int = 1

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return stylize_batch(self.net, batch, preserve_color=self.preserve_color, strength=self.strength)


def prepare(
    style: str | None = None,
    model: str | Path | None = None,
    preserve_color: bool = False,
    strength: float = 1.0,
    device: str = "auto",
    precision: str | None = None,
    tile: str | None = None,
) -> StyleTransform:
    """Pick, load and configure a style net (``ImageTask.prepare`` of the ``style`` task)."""
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"strength must be between 0 and 1 (got {strength})")
    choice = choose(style, model)
    net = load_net(choice, device, precision or "auto", tile or "auto")
    return StyleTransform(net, choice.tag, preserve_color, strength)


def tag(values: dict[str, Any]) -> str:
    """Name part for outputs (``clip.wave.mp4``): the style id, or the model file's stem."""
    return choose(values.get("style"), values.get("model")).tag
