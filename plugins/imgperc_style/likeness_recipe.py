"""The likeness measure of `.likeness` as loss-recipe data, without torch (`imgperc distill`'s
options and `DistillLoss` read it; the term class itself is `.likeness.LikenessTerm`)."""

from __future__ import annotations

from imgperc.losses.recipe import LossRecipe, TermSpec

LIKENESS_NETWORK = "vgg19"
LIKENESS_LAYERS = ("relu1_2", "relu2_2", "relu3_3")


def likeness_spec(weight: float = 1.0, layers: tuple[str, ...] = LIKENESS_LAYERS, target: str = "teacher") -> TermSpec:
    """The likeness as one recipe term: the mean over ``layers`` (multiplier 1/len each) times ``weight``."""
    return TermSpec("likeness", weight, dict.fromkeys(layers, 1.0 / max(len(layers), 1)), target=target)


def likeness_recipe(network: str = LIKENESS_NETWORK, layers: tuple[str, ...] = LIKENESS_LAYERS) -> LossRecipe:
    """The likeness alone, compared with the target ``teacher``."""
    return LossRecipe(network, content_weight=0.0, style_weight=0.0, terms=(likeness_spec(1.0, layers),), name="likeness",
                      description="likeness: unit-normalised features, squared distance summed over channels, mean over pixels and taps")
