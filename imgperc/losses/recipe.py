"""Loss recipes (network + layers + weights) and presets.

A :class:`LossRecipe` names a loss network, the taps for the feature reconstruction
("content") and style terms with per-layer multipliers, and the global weights
``content_weight``, ``style_weight``, ``tv_weight``, ``pixel_weight``: the four standard terms.
Any other term, of any registered kind (`imgperc.losses.terms.LossTerm`), is a :class:`TermSpec`
in ``terms``. The weight of a layer's term is global weight x layer multiplier; a term whose
weight is 0 is not built, and its layers are not fetched. ``to_dict``/``from_dict`` give the
JSON form stored in every output's metadata.
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
class TermSpec:
    """One term of a recipe, in the vocabulary every `LossTerm` shares.

    ``kind``: the registered term class (``content``, ``style``, ``tv``, ``pixel`` or a plugin's);
    ``weight``: its global weight; ``layers``: tap -> multiplier, one term per tap (None: one term
    on the image itself); ``target``: what it is compared with (``content``, ``style``, or any
    name the caller passes, such as ``teacher``); ``label``: its name in reports (default: the
    kind); ``options``: the kind's own keyword arguments (``norm`` for ``pixel``, ...).
    """

    kind: str
    weight: float = 1.0
    layers: Mapping[str, float] | None = None
    target: str | None = None
    label: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether it builds any term (a non-zero weight, on the image or on a tap)."""
        return bool(self.weight) and (self.layers is None or bool(self.taps))

    @property
    def taps(self) -> tuple[str, ...]:
        """The taps it reads: those with a non-zero multiplier, none when its weight is 0."""
        return tuple(l for l, m in (self.layers or {}).items() if m) if self.weight else ()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["layers"] = None if self.layers is None else dict(self.layers)
        data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TermSpec":
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InputError(f"loss term has unknown fields: {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise InputError("loss term has no kind")
        return cls(**dict(data))


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
    terms: tuple[TermSpec, ...] = ()
    name: str = ""
    description: str = ""

    def specs(self) -> tuple[TermSpec, ...]:
        """Every term: the four standard ones (targets ``content`` and ``style``), then ``terms``."""
        return (
            TermSpec("content", self.content_weight, self.content_layers, target="content"),
            TermSpec("style", self.style_weight, self.style_layers, target="style"),
            TermSpec("tv", self.tv_weight),
            TermSpec("pixel", self.pixel_weight, target="content", options={"norm": self.pixel_norm}),
            *self.terms,
        )

    @property
    def label(self) -> str:
        """How errors name it: ``loss recipe 'NAME'``."""
        return f"loss recipe '{self.name}'" if self.name else "loss recipe"

    @property
    def layers(self) -> tuple[str, ...]:
        """Every tap the active (non-zero weight) terms read, in term order (content first)."""
        taps: list[str] = []
        for spec in self.specs():
            taps += [l for l in spec.taps if l not in taps]
        return tuple(taps)

    def validate(self) -> "LossRecipe":
        """Raise InputError for negative or non-finite weights, or layers without a network."""
        label = self.label
        values = {f: getattr(self, f) for f in WEIGHT_FIELDS}
        values.update({f"layer {l}": w for l, w in {**self.content_layers, **self.style_layers}.items()})
        for spec in self.terms:
            values[f"{spec.label or spec.kind} weight"] = spec.weight
            values.update({f"{spec.label or spec.kind} layer {l}": m for l, m in (spec.layers or {}).items()})
        for what, value in values.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InputError(f"{label}: {what.replace('_', ' ')} must be a finite number >= 0, got {value}")
        if self.pixel_norm not in PIXEL_NORMS:
            raise InputError(f"{label}: pixel norm must be one of {', '.join(PIXEL_NORMS)}, got {self.pixel_norm!r}")
        kinds = plugins.registry("loss_terms")
        for spec in self.terms:
            if spec.kind not in kinds:
                raise InputError(f"{label}: unknown loss term kind '{spec.kind}' (known: {', '.join(sorted(kinds))})")
        if self.network is None and self.layers:
            raise InputError(f"{label}: layers {', '.join(self.layers)} need a loss network")
        if self.network is not None:
            network_def(self.network).order(self.layers)
        if not any(spec.active for spec in self.specs()):
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
        data["terms"] = [spec.to_dict() for spec in self.terms]
        if not self.terms:  # stored only when used, so that runs from before `terms` existed still resume
            del data["terms"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LossRecipe":
        """Rebuild a recipe from :meth:`to_dict` output."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"loss recipe has unknown fields: {', '.join(sorted(unknown))}")
        return cls(**{**data, "terms": tuple(TermSpec.from_dict(t) for t in data.get("terms", ()))})

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
