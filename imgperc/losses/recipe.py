"""Loss recipes (network + layers + weights) and presets.

A :class:`LossRecipe` names a loss network, the taps for the feature reconstruction
("content") and style terms with per-layer multipliers, and the global weights
``content_weight``, ``style_weight``, ``tv_weight``, ``pixel_weight``. The weight of a layer's
term is global weight x layer multiplier; a term whose weight is 0 is not built, and its layers
are not fetched. ``to_dict``/``from_dict`` give the JSON form stored in every output's metadata.
`imgperc.losses.perceptual.PerceptualLoss` turns a recipe into one objective. Light (no
torch): commands build their options and defaults from these names.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import plugins
from ..errors import InputError
from .networks import network_def

DEFAULT_PRESET = "paper"
WEIGHT_FIELDS = ("content_weight", "style_weight", "tv_weight", "pixel_weight")
PIXEL_NORMS = ("l2", "l1")


@dataclass(frozen=True)
class LossRecipe:
    """A loss network, its taps with per-layer multipliers, and the global weights."""

    network: str | None
    content_layers: Mapping[str, float] = field(default_factory=dict)
    style_layers: Mapping[str, float] = field(default_factory=dict)
    content_weight: float = 1.0
    style_weight: float = 1.0
    tv_weight: float = 0.0
    pixel_weight: float = 0.0
    pixel_norm: str = "l2"
    name: str = ""
    description: str = ""

    @property
    def layers(self) -> tuple[str, ...]:
        """Every tap the active (non-zero weight) terms read, content first."""
        taps: list[str] = []
        if self.content_weight:
            taps += [l for l, w in self.content_layers.items() if w]
        if self.style_weight:
            taps += [l for l, w in self.style_layers.items() if w and l not in taps]
        return tuple(taps)

    def validate(self) -> "LossRecipe":
        """Raise InputError for negative or non-finite weights, or layers without a network."""
        label = f"loss recipe '{self.name}'" if self.name else "loss recipe"
        values = {f: getattr(self, f) for f in WEIGHT_FIELDS}
        values.update({f"layer {l}": w for l, w in {**self.content_layers, **self.style_layers}.items()})
        for what, value in values.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InputError(f"{label}: {what.replace('_', ' ')} must be a finite number >= 0, got {value}")
        if self.pixel_norm not in PIXEL_NORMS:
            raise InputError(f"{label}: pixel norm must be one of {', '.join(PIXEL_NORMS)}, got {self.pixel_norm!r}")
        if self.network is None and self.layers:
            raise InputError(f"{label}: layers {', '.join(self.layers)} need a loss network")
        if self.network is not None:
            network_def(self.network).order(self.layers)
        if not (self.layers or self.tv_weight or self.pixel_weight):
            raise InputError(f"{label}: every term has weight 0")
        return self

    def replace(self, **changes: Any) -> "LossRecipe":
        """A copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (stored in outputs' metadata)."""
        data = dataclasses.asdict(self)
        data["content_layers"] = dict(self.content_layers)
        data["style_layers"] = dict(self.style_layers)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LossRecipe":
        """Rebuild a recipe from :meth:`to_dict` output."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"loss recipe has unknown fields: {', '.join(sorted(unknown))}")
        return cls(**dict(data))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _per_layer(layers: tuple[str, ...], widths: tuple[int, ...]) -> dict[str, float]:
    """Multipliers 1/C_j^2: the Frobenius style term becomes the mean squared Gram difference."""
    return {layer: 1.0 / c**2 for layer, c in zip(layers, widths)}


PAPER_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
VGG19_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_4")

# Where the weights come from (paper, reference implementation, tuning here): docs/losses.md.
PRESETS: dict[str, LossRecipe] = {
    r.name: r
    for r in (
        LossRecipe(
            name="paper",
            description="Johnson et al. style transfer: VGG-16, content relu2_2, style relu1_2/2_2/3_3/4_3",
            network="vgg16",
            content_layers={"relu2_2": 1.0},
            style_layers=_per_layer(PAPER_STYLE_LAYERS, (64, 128, 256, 512)),
            content_weight=1.0,
            style_weight=1e5,
            tv_weight=1.6e-6,
        ),
        LossRecipe(
            name="vgg19-relu3",
            description="style transfer that runs on the mirrored VGG-19 (taps up to relu3_4): "
            "content relu2_2, style relu1_2/2_2/3_4",
            network="vgg19",
            content_layers={"relu2_2": 1.0},
            style_layers=_per_layer(VGG19_STYLE_LAYERS, (64, 128, 256)),
            content_weight=1.0,
            style_weight=1.0,
            tv_weight=0.0325,
        ),
        LossRecipe(
            name="sr-feat",
            description="Johnson et al. super-resolution: feature reconstruction at VGG-16 relu2_2",
            network="vgg16",
            content_layers={"relu2_2": 1.0},
            tv_weight=1.6e-6,
        ),
        LossRecipe(
            name="sr-feat-vgg19",
            description="super-resolution feature loss at VGG-19 relu2_2 (same tap position as VGG-16's)",
            network="vgg19",
            content_layers={"relu2_2": 1.0},
            tv_weight=0.0325,
        ),
        LossRecipe(
            name="sr-pixel",
            description="super-resolution baseline: per-pixel loss only (no loss network)",
            network=None,
            content_weight=0.0,
            style_weight=0.0,
            pixel_weight=1.0,
        ),
        LossRecipe(
            name="sr-l1",
            description="super-resolution fidelity: mean absolute pixel error (L1, as EDSR; best PSNR here)",
            network=None,
            content_weight=0.0,
            style_weight=0.0,
            pixel_weight=1.0,
            pixel_norm="l1",
        ),
        LossRecipe(
            name="sr-perceptual",
            description="super-resolution, perceptual: VGG-19 relu2_2 feature loss plus a small L1 pixel "
            "term and total variation that keep colours true and flat areas clean",
            network="vgg19",
            content_layers={"relu2_2": 1.0},
            content_weight=3e-6,
            pixel_weight=1.0,
            pixel_norm="l1",
            tv_weight=1e-5,
        ),
    )
}


def get_preset(name: str) -> LossRecipe:
    """A registered preset (built in or from a plugin)."""
    return plugins.registry("loss_recipes").get(name)


def resolve_recipe(
    preset: str | None = None,
    *,
    network: str | None = None,
    content_weight: float | None = None,
    style_weight: float | None = None,
    tv_weight: float | None = None,
    pixel_weight: float | None = None,
) -> LossRecipe:
    """The recipe a command runs with: a preset, maybe another network, maybe other weights.

    With only ``network``, that network's default preset is used; with neither, ``paper``.
    Another network is accepted when it has every tap the preset uses.
    """
    if preset is None:
        preset = network_def(network).default_recipe if network else DEFAULT_PRESET
        if preset is None:
            raise InputError(f"loss network '{network}' has no default recipe; choose one with --preset")
    recipe = get_preset(preset)
    if network is not None and network != recipe.network:
        if recipe.network is None:
            raise InputError(f"preset '{preset}' uses no loss network, so --loss-network {network} does not apply")
        network_def(network).order(recipe.layers)
        recipe = recipe.replace(network=network)
    recipe = recipe.replace(
        content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight, pixel_weight=pixel_weight
    )
    return recipe.validate()
