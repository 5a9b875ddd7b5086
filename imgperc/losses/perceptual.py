"""The composed perceptual loss: :class:`PerceptualLoss` turns a recipe (`.recipe`) into one
objective::

    loss = PerceptualLoss(resolve_recipe("vgg19-relu3"))
    loss.set_style(style)              # target Grams computed once
    report = loss(output, content=x)   # or loss.set_content(x) once, then loss(output)
    report.total.backward(); report.values()  # every term separately, weighted

Each call runs the loss network once on ``output``, and that one pass feeds every term (each
target given per call, ``content=`` or any other name the terms use, takes one more pass
without gradients).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import plugins
from ..errors import InputError
from .networks import LossNetwork, load_loss_network
from .recipe import LossRecipe, TermSpec
from .terms import LossTerm


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
    """The objective a recipe describes, over one loss network (loaded unless given).

    Its terms are the registered `LossTerm` classes the recipe's `TermSpec`s name, one per tap.
    Targets are named (``content``, ``style``, ``teacher``, ...): fixed once by `set_target`
    (`set_content`, `set_style`) or given per call as keyword arguments.
    """

    def __init__(self, recipe: LossRecipe, network: LossNetwork | None = None) -> None:
        super().__init__()
        self.recipe = recipe.validate()
        if network is None and recipe.layers:
            network = load_loss_network(recipe.network, recipe.layers)
        self.network = network
        self.terms = nn.ModuleList(term for spec in recipe.specs() for term in _build(spec))
        names = [term.name for term in self.terms]
        if len(set(names)) < len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise InputError(f"{recipe.label}: more than one term is named {', '.join(twice)} (give one another label)")

    @property
    def target_names(self) -> set[str]:
        """The names of the targets its terms compare with."""
        return {term.target for term in self.terms if term.target is not None}

    def _inputs(self, image: torch.Tensor, terms: list[LossTerm]) -> dict[str | None, torch.Tensor]:
        """What ``terms`` read of ``image``: itself, and its features if any term reads a tap."""
        features = self.network(image) if any(term.layer is not None for term in terms) else {}
        return {None: image, **features}

    @torch.no_grad()
    def set_target(self, name: str, image: torch.Tensor) -> None:
        """Fix the target ``name`` (features and their encodings computed once) for calls that pass none."""
        terms = [term for term in self.terms if term.target == name]
        if terms:
            inputs = self._inputs(image.detach(), terms)
            for term in terms:
                term.set_target(inputs)

    def set_style(self, image: torch.Tensor) -> None:
        """Compute the style target's Gram matrices once (``[1,3,H,W]`` RGB in [0,1])."""
        self.set_target("style", image)

    def set_content(self, image: torch.Tensor) -> None:
        """Fix the content target for calls that pass no ``content``."""
        self.set_target("content", image)

    def forward(self, output: torch.Tensor, content: torch.Tensor | None = None, **targets: torch.Tensor) -> LossReport:
        """Every term for ``output`` (``[N,3,H,W]`` in [0,1]); a target given here overrides a fixed one."""
        if content is not None:
            targets["content"] = content
        for name in sorted(self.target_names - set(targets)):
            if any(term.fixed is None for term in self.terms if term.target == name):
                raise RuntimeError(f"no {name} target: pass {name}=... or call set_target('{name}', ...) first")
        inputs = self._inputs(output, list(self.terms))
        given = {}
        with torch.no_grad():
            for name, image in targets.items():
                terms = [term for term in self.terms if term.target == name]
                if terms:
                    given[name] = self._inputs(image, terms)
        encoded: dict[tuple, torch.Tensor] = {}  # one encoding (e.g. a Gram matrix) per class and layer
        values = {}
        for term in self.terms:
            key = (type(term).encode, term.layer)
            if key not in encoded:
                encoded[key] = term.encode(inputs[term.layer])
            values[term.name] = term(inputs, given.get(term.target), encoded=encoded[key])
        return LossReport(torch.stack(list(values.values())).sum(), values)


def _build(spec: TermSpec) -> list[LossTerm]:
    """The registered class of ``spec.kind``, made once per tap with a non-zero multiplier (or once on the image)."""
    if not spec.active:
        return []
    kind = plugins.registry("loss_terms").get(spec.kind)
    names = {"target": spec.target, "label": spec.label or None, **spec.options}
    if spec.layers is None:
        return [kind(None, spec.weight, **names)]
    return [kind(layer, spec.weight * m, **names) for layer, m in spec.layers.items() if m]
