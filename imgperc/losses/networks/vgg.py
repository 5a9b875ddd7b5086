"""Layer naming and construction shared by the VGG loss networks.

Blocks are numbered from 1; inside block ``b`` the convolutions are ``conv{b}_{i}``, each
followed by ``relu{b}_{i}``, and the block ends with ``pool{b}`` (2x2 max pooling). Weights are
given as ``{"conv{b}_{i}.weight": [out,in,3,3], "conv{b}_{i}.bias": [out]}``; channel widths are
read from the tensors, so small test weights with the same layout build too. The names import
without torch (the VGG-19 hub entry lists its files by them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from ...errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

VGG16_BLOCKS = (2, 2, 3, 3, 3)
VGG19_BLOCKS = (2, 2, 4, 4, 4)


def conv_names(blocks: tuple[int, ...]) -> tuple[str, ...]:
    """``conv1_1``, ``conv1_2``, ... in forward order."""
    return tuple(f"conv{b}_{i}" for b, n in enumerate(blocks, 1) for i in range(1, n + 1))


def layer_names(blocks: tuple[int, ...]) -> tuple[str, ...]:
    """Every tap name (conv, relu and pool layers) in forward order."""
    names: list[str] = []
    for b, n in enumerate(blocks, 1):
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return tuple(names)


def convs_needed(blocks: tuple[int, ...], taps: tuple[str, ...]) -> tuple[str, ...]:
    """The convolutions a forward pass up to the deepest of ``taps`` runs through."""
    names = layer_names(blocks)
    deepest = max(names.index(t) for t in taps)
    return tuple(n for n in names[: deepest + 1] if n.startswith("conv"))


def build_layers(blocks: tuple[int, ...], weights: Mapping[str, torch.Tensor], taps: tuple[str, ...]) -> list[tuple[str, nn.Module]]:
    """The named layers up to (and including) the deepest tap, loaded from ``weights``."""
    from torch import nn

    names = layer_names(blocks)
    deepest = max(names.index(t) for t in taps)
    layers: list[tuple[str, nn.Module]] = []
    for name in names[: deepest + 1]:
        if name.startswith("conv"):
            layers.append((name, _conv(name, weights)))
        elif name.startswith("relu"):
            layers.append((name, nn.ReLU(inplace=False)))
        else:
            layers.append((name, nn.MaxPool2d(kernel_size=2, stride=2)))
    return layers


def _conv(name: str, weights: Mapping[str, torch.Tensor]) -> nn.Conv2d:
    import torch
    from torch import nn

    try:
        weight, bias = weights[f"{name}.weight"], weights[f"{name}.bias"]
    except KeyError:
        raise InputError(f"VGG weights lack {name}") from None
    if weight.dim() != 4 or tuple(weight.shape[2:]) != (3, 3) or bias.shape != (weight.shape[0],):
        raise InputError(f"VGG weights for {name} have unexpected shapes {tuple(weight.shape)}, {tuple(bias.shape)}")
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], kernel_size=3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(weight.float())
        conv.bias.copy_(bias.float())
    return conv
