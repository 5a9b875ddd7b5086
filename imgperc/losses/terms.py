"""Loss terms of Johnson et al. (2016), each carrying its weight and reporting its value.

Definitions (per image, averaged over the batch; ``phi_j`` = features at tap j, shape C_j x H_j x W_j):

- feature reconstruction: ``||phi_j(y_hat) - phi_j(y)||^2 / (C_j H_j W_j)``
- Gram matrix: ``G_j = psi psi^T / (C_j H_j W_j)`` with ``psi`` = ``phi_j`` reshaped to C_j x H_j W_j
- style: ``||G_j(y_hat) - G_j(y_s)||_F^2`` (squared Frobenius norm), one term per layer
- total variation: ``sum (x[i,j+1] - x[i,j])^2 + (x[i+1,j] - x[i,j])^2`` over channels and pixels
  of the [0,1] image (a sum, so its size grows with the image)
- per-pixel: ``||y_hat - y||^2 / (C H W)`` on [0,1] images (``l2``), or the mean absolute
  difference ``||y_hat - y||_1 / (C H W)`` (``l1``)

Each term is a `LossTerm`, a small class registered by its ``kind`` (``content``, ``style``,
``tv``, ``pixel``; plugins add others): its ``forward`` returns its *weighted* value; ``name``
says what it is (``content:relu2_2``, ``style:relu1_2``, ``tv``, ``pixel``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Mapping, Optional

import torch
from torch import nn

from ..errors import InputError
from .recipe import PIXEL_NORMS


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``[N,C,H,W]`` -> ``[N,C,C]`` Gram matrices normalised by ``C*H*W``."""
    n, c, h, w = features.shape
    psi = features.reshape(n, c, h * w)
    return torch.bmm(psi, psi.transpose(1, 2)) / (c * h * w)


def feature_reconstruction_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distance over ``C*H*W``, averaged over the batch."""
    return (features - target).pow(2).flatten(1).mean(1).mean()


def style_loss(gram: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Squared Frobenius norm of the Gram difference, averaged over the batch (target broadcasts)."""
    return (gram - target_gram).pow(2).sum((1, 2)).mean()


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Sum of squared horizontal and vertical neighbour differences, averaged over the batch."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).pow(2).flatten(1).sum(1)
    dy = (image[..., 1:, :] - image[..., :-1, :]).pow(2).flatten(1).sum(1)
    return (dx + dy).mean()


def pixel_loss(image: torch.Tensor, target: torch.Tensor, norm: str = "l2") -> torch.Tensor:
    """Per-pixel loss: squared (``l2``) or absolute (``l1``) distance over ``C*H*W``, batch mean."""
    if norm == "l1":
        return (image - target).abs().flatten(1).mean(1).mean()
    return feature_reconstruction_loss(image, target)


Inputs = Mapping[Optional[str], torch.Tensor]
"""What a term reads from: loss-network features by tap, and the image itself under ``None``."""


class LossTerm(nn.Module, ABC):
    """One weighted comparison of the output with a target, the way pystiche's ``ComparisonLoss`` is.

    Every term shares one vocabulary: its *input* is the output's features at ``layer`` (the
    image itself when ``layer`` is None); its *target* names what it is compared with
    (``content``, ``style``, ``teacher``, ...; None for terms without one, such as ``tv``);
    ``weight`` multiplies its value. A subclass sets ``kind`` (its registry name, see
    ``register_loss_terms``) and defines ``score``; ``encode`` (e.g. a Gram matrix) is applied
    to the input and the target alike. ``forward`` returns the weighted value; ``name`` is
    ``label:layer`` (or ``label``), ``label`` defaulting to ``kind``.
    """

    kind: ClassVar[str]
    compares: ClassVar[bool] = True  # whether it needs a target

    def __init__(self, layer: str | None, weight: float, *, target: str | None = None, label: str | None = None) -> None:
        super().__init__()
        self.layer, self.weight, self.target = layer, float(weight), target
        label = label or self.kind
        self.name = f"{label}:{layer}" if layer is not None else label
        self.register_buffer("fixed", None)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The representation that is compared (default: the features or image as they are); a
        function of ``x`` alone, so terms of one class share it per layer (`PerceptualLoss`)."""
        return x

    @abstractmethod
    def score(self, input: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        """The unweighted value for encoded ``input`` and ``target``, averaged over the batch."""

    @torch.no_grad()
    def set_target(self, inputs: Inputs) -> None:
        """Fix the target (encoded once), used when ``forward`` gets none."""
        self.fixed = self.encode(inputs[self.layer]).detach()

    def forward(self, inputs: Inputs, target: Inputs | None = None, encoded: torch.Tensor | None = None) -> torch.Tensor:
        """The weighted value; ``encoded``: ``encode(inputs[layer])`` when the caller already has it."""
        reference = self.encode(target[self.layer]) if target is not None else self.fixed
        if reference is None and self.compares:
            raise RuntimeError(f"{self.name}: no {self.target or 'comparison'} target (pass one or call set_target first)")
        return self.weight * self.score(self.encode(inputs[self.layer]) if encoded is None else encoded, reference)


class ContentTerm(LossTerm):
    """Feature reconstruction: ``feature_reconstruction_loss`` at one tap."""

    kind = "content"

    def score(self, input: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        return feature_reconstruction_loss(input, target)


class StyleTerm(LossTerm):
    """``style_loss`` between Gram matrices at one tap (a target of one image broadcasts).

    ``per_entry``: divide by C^2, the mean over the C x C Gram entries instead of their sum.
    """

    kind = "style"

    def __init__(self, layer: str | None, weight: float, *, per_entry: bool = False, **names: str | None) -> None:
        super().__init__(layer, weight, **names)
        self.per_entry = per_entry

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return gram_matrix(x)

    def score(self, input: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        loss = style_loss(input, target)
        return loss / input.shape[1] ** 2 if self.per_entry else loss


class TVTerm(LossTerm):
    """``total_variation`` of the output image (no target)."""

    kind = "tv"
    compares = False

    def score(self, input: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        return total_variation(input)


class PixelTerm(LossTerm):
    """``pixel_loss`` (``norm`` l2 or l1) between the output image and the target image."""

    kind = "pixel"

    def __init__(self, layer: str | None, weight: float, *, norm: str = "l2", **names: str | None) -> None:
        if norm not in PIXEL_NORMS:
            raise InputError(f"pixel norm must be one of {', '.join(PIXEL_NORMS)}, got {norm!r}")
        super().__init__(layer, weight, **names)
        self.norm = norm

    def score(self, input: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        return pixel_loss(input, target, self.norm)
