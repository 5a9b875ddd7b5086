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

Modules: :mod:`.networks` (loss networks), :mod:`.terms` (the loss definitions, one
`LossTerm` class per kind), :mod:`.recipe` (recipes, their `TermSpec`s, presets),
:mod:`.perceptual` (:class:`PerceptualLoss`);
`imgperc.core_plugin` registers them. The names below load with their module when first used,
so the light ones (`.recipe`, the networks' hub entries) import without torch.
"""

from ..lazy import exports

__getattr__, __dir__, __all__ = exports(
    __name__,
    {
        ".networks": ("LossNetwork", "NetworkDef", "load_loss_network", "network_def", "with_available_network"),
        ".perceptual": ("LossReport", "PerceptualLoss"),
        ".recipe": ("DEFAULT_PRESET", "PRESETS", "LossRecipe", "TermSpec", "get_preset", "resolve_recipe"),
        ".terms": (
            "ContentTerm",
            "LossTerm",
            "PixelTerm",
            "StyleTerm",
            "TVTerm",
            "feature_reconstruction_loss",
            "gram_matrix",
            "pixel_loss",
            "style_loss",
            "total_variation",
        ),
    },
)
