"""The composed perceptual loss: :class:`PerceptualLoss` turns a recipe (`.recipe`) into one
objective::

    loss = PerceptualLoss(resolve_recipe("vgg19-relu3"))
    loss.set_style(style)              # target Grams computed once
    report = loss(output, content=x)   # or loss.set_content(x) once, then loss(output)
    report.total.backward(); report.values()  # every term separately, weighted

Each call runs the loss network once on ``output``, and that one pass feeds every term (a
per-call ``content`` target takes one more pass without gradients).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .networks import LossNetwork, load_loss_network
from .recipe import LossRecipe
from .terms import ContentTerm, PixelTerm, StyleTerm, TVTerm


@dataclass
class LossReport:
    """One evaluation: the total objective and every weighted term by name."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor]

    def values(self) -> dict[str, float]:
        """``{"total": ..., "content:relu2_2": ..., "style:relu1_2": ..., "tv": ...}`` as floats."""
        return {"total": float(self.total.detach()), **{k: float(v.detach()) for k, v in self.terms.items()}}

    def grouped(self) -> dict[str, float]:
        """Per kind of term: ``{"content": ..., "style": ..., "tv": ..., "pixel": ...}``."""
        out: dict[str, float] = {}
        for name, value in self.terms.items():
            kind = name.split(":", 1)[0]
            out[kind] = out.get(kind, 0.0) + float(value.detach())
        return out


class PerceptualLoss(nn.Module):
    """The objective a recipe describes, over one loss network (loaded unless given)."""

    def __init__(self, recipe: LossRecipe, network: LossNetwork | None = None) -> None:
        super().__init__()
        self.recipe = recipe.validate()
        if network is None and recipe.layers:
            network = load_loss_network(recipe.network, recipe.layers)
        self.network = network
        cw, sw = recipe.content_weight, recipe.style_weight
        self.content_terms = nn.ModuleList(
            ContentTerm(l, cw * w) for l, w in recipe.content_layers.items() if cw and w
        )
        self.style_terms = nn.ModuleList(StyleTerm(l, sw * w) for l, w in recipe.style_layers.items() if sw and w)
        self.tv_term = TVTerm(recipe.tv_weight) if recipe.tv_weight else None
        self.pixel_term = PixelTerm(recipe.pixel_weight, recipe.pixel_norm) if recipe.pixel_weight else None
        self.register_buffer("content_image", None)

    @property
    def needs_content(self) -> bool:
        """Whether calls need a content target (given per call or fixed by ``set_content``)."""
        return bool(self.content_terms) or self.pixel_term is not None

    @torch.no_grad()
    def set_style(self, image: torch.Tensor) -> None:
        """Compute the style target's Gram matrices once (``[1,3,H,W]`` RGB in [0,1])."""
        if self.style_terms:
            features = self.network(image)
            for term in self.style_terms:
                term.set_target(features)

    @torch.no_grad()
    def set_content(self, image: torch.Tensor) -> None:
        """Fix the content target (features computed once) for calls that pass no ``content``."""
        self.content_image = image.detach()
        if self.content_terms:
            features = self.network(image)
            for term in self.content_terms:
                term.set_target(features)

    def forward(self, output: torch.Tensor, content: torch.Tensor | None = None) -> LossReport:
        """Every term for ``output`` (``[N,3,H,W]`` in [0,1]); ``content`` overrides the fixed target."""
        if self.needs_content and content is None and self.content_image is None:
            raise RuntimeError("no content target: pass content=... or call set_content first")
        features = self.network(output) if self.network is not None and self.recipe.layers else {}
        terms: dict[str, torch.Tensor] = {}
        if self.content_terms:
            target = None
            if content is not None:
                with torch.no_grad():
                    target = self.network(content)
            for term in self.content_terms:
                terms[term.name] = term(features, target)
        for term in self.style_terms:
            terms[term.name] = term(features)
        if self.tv_term is not None:
            terms[self.tv_term.name] = self.tv_term(output)
        if self.pixel_term is not None:
            terms[self.pixel_term.name] = self.pixel_term(output, content if content is not None else self.content_image)
        return LossReport(torch.stack(list(terms.values())).sum(), terms)
