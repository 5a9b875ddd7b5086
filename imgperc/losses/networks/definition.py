"""`NetworkDef`: what the ``register_loss_networks`` hook registers for one loss network.

Light (no torch), so that a network's module can declare it, and its hub model, without
loading the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from ...errors import InputError

if TYPE_CHECKING:
    from .base import LossNetwork


@dataclass(frozen=True)
class NetworkDef:
    """What the ``register_loss_networks`` hook registers for one network.

    ``layers``: every tap name in forward order. ``loader(taps)`` fetches whatever weights the
    taps need (only those) and returns the truncated ``LossNetwork``. ``prefetch(taps)`` fetches
    those weights without building anything (default: the loader does it). ``default_recipe`` is
    the preset used when only this network is named; ``models`` are the hub ids holding its weights.
    """

    name: str
    description: str
    layers: tuple[str, ...]
    loader: Callable[[tuple[str, ...]], LossNetwork]
    default_recipe: str | None = None
    models: tuple[str, ...] = ()
    prefetch: Callable[[tuple[str, ...]], object] | None = None

    def order(self, taps: Sequence[str]) -> tuple[str, ...]:
        """The taps in forward order; a clear error for names this network does not have."""
        unknown = [t for t in taps if t not in self.layers]
        if unknown:
            raise InputError(
                f"loss network '{self.name}' has no layer {', '.join(unknown)} (layers: {', '.join(self.layers)})"
            )
        return tuple(sorted(set(taps), key=self.layers.index))

    def fetch(self, taps: Sequence[str]) -> None:
        """Make sure the weights ``taps`` need are here (downloading them once), building nothing
        where the network can."""
        ordered = self._requested(taps)
        (self.prefetch or self.loader)(ordered)

    def _requested(self, taps: Sequence[str]) -> tuple[str, ...]:
        ordered = self.order(taps)
        if not ordered:
            raise InputError(f"no layers requested from loss network '{self.name}'")
        return ordered

    def load(self, taps: Sequence[str]) -> LossNetwork:
        """The network truncated after the deepest of ``taps`` (downloading only what it needs)."""
        return self.loader(self._requested(taps))
