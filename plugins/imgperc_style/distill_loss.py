"""`DistillLoss`: the weights and taps of `imgperc distill`'s loss terms, in a module without
torch (the command builds it from its options; `recipe` makes it a `LossRecipe`, the objective
`.distill` trains with)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from imgperc.errors import InputError
from imgperc.losses.recipe import PIXEL_NORMS, VGG19_STYLE_LAYERS, LossRecipe, TermSpec

from .likeness_recipe import LIKENESS_LAYERS, likeness_spec

OPTIONAL = {"painting": ("painting",), "likeness": ("likeness", "likeness_layers"), "stability": ("stability",)}
"""Fields a run.json holds only where their weight is non-zero (runs from before they existed still resume)."""


@dataclass(frozen=True)
class DistillLoss:
    """Weights of the distillation terms, each a distance of the student's output to a target.

    ``pixel``: to the teacher's output (``pixel_norm`` l1 or l2 on [0,1] RGB); ``feature``: to
    the teacher's output's loss-network features at each of ``feature_layers``; ``style``: to
    its Gram matrices at ``style_layers`` (each layer's term divided by its channels squared, as
    in the vgg19-relu3 preset); ``content``: to the photo's features at ``content_layer``;
    ``painting``: to the style image's Gram matrices at ``style_layers`` (divided likewise);
    ``likeness``: `.likeness`'s distance to the teacher's output (unit-normalised features at
    ``likeness_layers``, mean over them), the measure `imgperc eval style` reports; ``stability``:
    `.stability`'s distance of the student's output on a shifted, noised input to its output
    shifted alike (not a recipe term: it runs the student twice).
    """

    network: str = "vgg19"
    pixel: float = 1.0
    pixel_norm: str = "l1"
    feature: float = 1e-5
    feature_layers: tuple[str, ...] = ("relu2_2",)
    style: float = 0.0
    style_layers: tuple[str, ...] = VGG19_STYLE_LAYERS
    content: float = 0.0
    content_layer: str = "relu2_2"
    painting: float = 0.0
    likeness: float = 0.0
    likeness_layers: tuple[str, ...] = LIKENESS_LAYERS
    stability: float = 0.0

    def recipe(self) -> LossRecipe:
        """The terms as a loss recipe whose targets are ``teacher``, ``photo`` and ``painting``."""
        per_entry = {"per_entry": True}  # each layer's Gram term divided by its channels squared
        styles = dict.fromkeys(self.style_layers, 1.0)
        terms = (
            TermSpec("pixel", self.pixel, target="teacher", options={"norm": self.pixel_norm}),
            TermSpec("content", self.feature, dict.fromkeys(self.feature_layers, 1.0), target="teacher", label="feature"),
            TermSpec("style", self.style, styles, target="teacher", options=per_entry),
            TermSpec("content", self.content, {self.content_layer: 1.0}, target="photo"),
            TermSpec("style", self.painting, styles, target="painting", label="painting", options=per_entry),
            likeness_spec(self.likeness, self.likeness_layers),
        )
        network = self.network if any(spec.taps for spec in terms) else None
        return LossRecipe(network, content_weight=0.0, style_weight=0.0, terms=terms, name="distill",
                          description="distillation: the student's distance to its teacher's output, the photo and the painting")

    @property
    def taps(self) -> tuple[str, ...]:
        """The loss-network taps the non-zero terms read."""
        return self.recipe().layers

    def validate(self) -> "DistillLoss":
        """One-line errors for a norm, layers or weights that cannot make a loss."""
        if self.pixel_norm not in PIXEL_NORMS:
            raise InputError(f"--pixel-norm must be one of {', '.join(PIXEL_NORMS)}, got {self.pixel_norm!r}")
        checks = ((self.feature, "feature", self.feature_layers, "feature"), (self.style, "style", self.style_layers, "style"),
                  (self.painting, "painting", self.style_layers, "style"), (self.likeness, "likeness", self.likeness_layers, "likeness"))
        for weight, option, layers, layer_option in checks:
            if weight and not layers:
                raise InputError(f"--{option}-weight {weight} needs at least one layer in --{layer_option}-layers")
        if not (self.pixel or self.taps):
            alone = " (the stability term alone has no target)" if self.stability else ""
            raise InputError(f"every distillation weight is 0{alone}: give --pixel-weight, --feature-weight, "
                             "--likeness-weight, --style-weight, --content-weight or --painting-weight")
        self.recipe().validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (layers as lists, as they come back from a run's run.json; the `OPTIONAL`
        terms' fields only when used, so that runs started before the terms existed still resume)."""
        unused = {f for weight, fields in OPTIONAL.items() if not getattr(self, weight) for f in fields}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if k not in unused}
