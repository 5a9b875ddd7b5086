"""The perceptual loss engine: loss networks, loss terms, recipes (public API).

Conventions: images are float RGB in [0, 1], NCHW; every loss network preprocesses for its own
weights. Typical use (training loops, the Gatys baseline, plugins)::

    from imgperc.losses import PerceptualLoss, resolve_recipe

    recipe = resolve_recipe("vgg19-relu3", style_weight=10.0)   # preset + overrides
    loss = PerceptualLoss(recipe)        # loads the network, fetching only the needed layers
    loss.set_style(style_image)          # [1,3,H,W]; target Grams computed once
    report = loss(output, content=batch) # one loss-network pass over `output` feeds every term
    report.total.backward()
    report.values()                      # {"total": ..., "content:relu2_2": ..., "style:relu1_2": ..., "tv": ...}
    recipe.to_dict()                     # what to store in an output's metadata

Modules: :mod:`.networks` (loss networks), :mod:`.terms` (the loss definitions),
:mod:`.recipe` (recipes, presets, :class:`PerceptualLoss`); `imgperc.core_plugin` registers them.
"""

from .networks import LossNetwork, NetworkDef, load_loss_network, network_def
from .recipe import DEFAULT_PRESET, PRESETS, LossRecipe, LossReport, PerceptualLoss, get_preset, resolve_recipe
from .terms import (
    ContentTerm,
    PixelTerm,
    StyleTerm,
    TVTerm,
    feature_reconstruction_loss,
    gram_matrix,
    pixel_loss,
    style_loss,
    total_variation,
)

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "ContentTerm",
    "LossNetwork",
    "LossRecipe",
    "LossReport",
    "NetworkDef",
    "PerceptualLoss",
    "PixelTerm",
    "StyleTerm",
    "TVTerm",
    "feature_reconstruction_loss",
    "get_preset",
    "gram_matrix",
    "load_loss_network",
    "network_def",
    "pixel_loss",
    "resolve_recipe",
    "style_loss",
    "total_variation",
]
