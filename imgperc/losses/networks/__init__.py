"""Loss networks: frozen feature extractors with named taps (see :mod:`.base` for the contract).

Built in: ``vgg16`` (torchvision, the paper's), ``vgg19`` (Oxford weights, TF.js export,
downloaded per layer) and ``squeezenet1_1``. Plugins add more through the
``register_loss_networks`` hook by registering a :class:`NetworkDef`. Commands pick theirs
with `with_available_network` (:mod:`.available`): the one asked for, else one that can be had.
Each network's module declares its hub model without torch (listing models imports every
one); torch loads with the network itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ... import plugins
from ...lazy import exports

if TYPE_CHECKING:
    from .base import LossNetwork
    from .definition import NetworkDef


def network_def(name: str) -> NetworkDef:
    """The registered definition of loss network ``name`` (clear error if unknown)."""
    return plugins.registry("loss_networks").get(name)


def load_loss_network(name: str, taps: Sequence[str]) -> LossNetwork:
    """Loss network ``name`` truncated after the deepest of ``taps``; fetches only needed weights."""
    return network_def(name).load(taps)


__getattr__, __dir__, _exported = exports(
    __name__,
    {
        ".available": ("with_available_network",),
        ".base": ("CaffePreprocess", "ImageNetNormalize", "LossNetwork"),
        ".definition": ("NetworkDef",),
    },
)
__all__ = [*_exported, "load_loss_network", "network_def"]
