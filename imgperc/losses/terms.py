"""Loss terms of Johnson et al. (2016), each carrying its weight and reporting its value.

Definitions (per image, averaged over the batch; ``phi_j`` = features at tap j, shape C_j x H_j x W_j):

- feature reconstruction: ``||phi_j(y_hat) - phi_j(y)||^2 / (C_j H_j W_j)``
- Gram matrix: ``G_j = psi psi^T / (C_j H_j W_j)`` with ``psi`` = ``phi_j`` reshaped to C_j x H_j W_j
- style: ``||G_j(y_hat) - G_j(y_s)||_F^2`` (squared Frobenius norm), one term per layer
- total variation: ``sum (x[i,j+1] - x[i,j])^2 + (x[i+1,j] - x[i,j])^2`` over channels and pixels
  of the [0,1] image (a sum, so its size grows with the image)
- per-pixel: ``||y_hat - y||^2 / (C H W)`` on [0,1] images (``l2``), or the mean absolute
  difference ``||y_hat - y||_1 / (C H W)`` (``l1``)

A term's ``forward`` returns its *weighted* value; ``name`` says what it is
(``content:relu2_2``, ``style:relu1_2``, ``tv``, ``pixel``).
"""

from __future__ import annotations

import torch
from torch import nn


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


class ContentTerm(nn.Module):
    """``weight * feature_reconstruction_loss`` at one tap, against a per-call or fixed target."""

    def __init__(self, layer: str, weight: float) -> None:
        super().__init__()
        self.layer, self.weight = layer, float(weight)
        self.name = f"content:{layer}"
        self.register_buffer("target", None)

    @torch.no_grad()
    def set_target(self, features: dict[str, torch.Tensor]) -> None:
        """Fix the target features (used when ``forward`` gets no target)."""
        self.target = features[self.layer].detach()

    def forward(self, features: dict[str, torch.Tensor], target: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        reference = target[self.layer] if target is not None else self.target
        if reference is None:
            raise RuntimeError(f"{self.name}: no content target (pass one or call set_content first)")
        return self.weight * feature_reconstruction_loss(features[self.layer], reference)


class StyleTerm(nn.Module):
    """``weight * style_loss`` at one tap; the target Gram is computed once by ``set_target``."""

    def __init__(self, layer: str, weight: float) -> None:
        super().__init__()
        self.layer, self.weight = layer, float(weight)
        self.name = f"style:{layer}"
        self.register_buffer("target", None)

    @torch.no_grad()
    def set_target(self, features: dict[str, torch.Tensor]) -> None:
        """Store the Gram matrix of the style target (batch of one, or one per output)."""
        self.target = gram_matrix(features[self.layer]).detach()

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.target is None:
            raise RuntimeError(f"{self.name}: no style target set (call set_style first)")
        return self.weight * style_loss(gram_matrix(features[self.layer]), self.target)


class TVTerm(nn.Module):
    """``weight * total_variation`` of the output image."""

    name = "tv"

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.weight * total_variation(image)


class PixelTerm(nn.Module):
    """``weight * pixel_loss`` (``l2`` or ``l1``) between the output and the target image."""

    name = "pixel"

    def __init__(self, weight: float, norm: str = "l2") -> None:
        super().__init__()
        self.weight, self.norm = float(weight), norm

    def forward(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.weight * pixel_loss(image, target, self.norm)
