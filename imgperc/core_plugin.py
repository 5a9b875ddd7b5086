"""The core's own hook implementations: loss networks, their hub models, loss terms, recipe presets.

Registered by the plugin host like any plugin (``imgperc.plugins.CORE_MODULES``), so core and
third-party networks and presets are listed and looked up the same way. Everything is
registered `Deferred`, so `imgperc plugins` stays instant; the hub models and presets are made
without torch too (`imgperc stylize --help` lists the models), the networks with it.
"""

from __future__ import annotations

import importlib
from functools import partial

from .hookspecs import Register, hookimpl
from .lazy import Deferred

# loss network (and the hub model holding its weights) -> its module in imgperc.losses.networks
NETWORKS = {"vgg16": "vgg16", "vgg19": "vgg19", "squeezenet1_1": "squeezenet"}
# the names of imgperc.losses.recipe.PRESETS (a test keeps the two in step)
PRESETS = ("paper", "vgg19-relu3", "sr-feat", "sr-feat-vgg19", "sr-pixel", "sr-l1", "sr-perceptual")
# loss-term kind -> its class in imgperc.losses.terms
TERMS = {"content": "ContentTerm", "style": "StyleTerm", "tv": "TVTerm", "pixel": "PixelTerm"}


def _network_module(name: str):
    return importlib.import_module(f"imgperc.losses.networks.{NETWORKS[name]}")


def _model_spec(name: str):
    return _network_module(name).model_spec()


def _preset(name: str):
    from .losses.recipe import PRESETS as presets

    return presets[name]


@hookimpl
def register_models(register: Register) -> None:
    for name in NETWORKS:
        register(name, Deferred(partial(_model_spec, name)))


@hookimpl
def register_loss_networks(register: Register) -> None:
    for name, module in NETWORKS.items():
        register(name, Deferred(f"imgperc.losses.networks.{module}:NETWORK"))


@hookimpl
def register_loss_terms(register: Register) -> None:
    for kind, name in TERMS.items():
        register(kind, Deferred(f"imgperc.losses.terms:{name}"))


@hookimpl
def register_loss_recipes(register: Register) -> None:
    for name in PRESETS:
        register(name, Deferred(partial(_preset, name)))
