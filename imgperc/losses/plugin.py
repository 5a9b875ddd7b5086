"""The core's own hook implementations: loss networks, their hub models, recipe presets.

Registered by the plugin host like any plugin (``imgperc.plugins.CORE_MODULES``), so core and
third-party networks and presets are listed and looked up the same way.
"""

from __future__ import annotations

from ..hookspecs import Register, hookimpl
from .networks import squeezenet, vgg16, vgg19
from .recipe import PRESETS

NETWORK_MODULES = (vgg16, vgg19, squeezenet)


@hookimpl
def register_models(register: Register) -> None:
    for module in NETWORK_MODULES:
        register(module.model_spec())


@hookimpl
def register_loss_networks(register: Register) -> None:
    for module in NETWORK_MODULES:
        register(module.NETWORK.name, module.NETWORK)


@hookimpl
def register_loss_recipes(register: Register) -> None:
    for name, recipe in PRESETS.items():
        register(name, recipe)
