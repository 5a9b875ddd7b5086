"""Which loss network a command runs: the one asked for if its weights can be had, else
(only when the user named none) another one the command can use.

`with_available_network` fetches the weights before the command starts any work, so a
network that cannot be had is one line at the start (with what to do), never a failure after
a run folder was made. The paper's default, ``vgg16``, is one 528 MB file that offline
machines and mirrors may lack; the fallback then takes the next registered network the command
accepts (``vgg19`` with its own preset) and says so in one line. Whatever is chosen is what the
caller records (recipes, run signatures, metadata).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence, TypeVar

import click

from ... import plugins
from ...errors import DownloadError, InputError, ModelNotAvailable
from . import network_def

T = TypeVar("T")
Needs = Callable[[Any], "tuple[str | None, Sequence[str]]"]
UNAVAILABLE = (DownloadError, ModelNotAvailable)


def recipe_needs(recipe: Any) -> tuple[str | None, Sequence[str]]:
    """A `LossRecipe`'s network and the taps its active terms read."""
    return recipe.network, recipe.layers


def with_available_network(make: Callable[[str | None], T], *, fallback: bool, needs: Needs = recipe_needs) -> T:
    """What ``make`` builds, with a loss network whose weights are here (fetched once).

    ``make(None)`` builds what the user asked for, ``make(name)`` the same on loss network
    ``name`` (an InputError: the command cannot use that network); neither downloads anything.
    ``needs`` gives the network and taps of what it built. With ``fallback`` (the user named no
    network, nor a preset that fixes one), a network that cannot be had gives way to the first
    other registered one that can, said in one line; otherwise the error is one line whose hint
    names the other networks the command accepts.
    """
    from ..recipe import LossRecipe

    asked = make(None)
    try:
        return _fetched(asked, needs)
    except UNAVAILABLE as exc:
        failure = exc
    wanted = needs(asked)[0]
    usable = []
    for name in plugins.registry("loss_networks"):
        try:
            candidate = make(name) if name != wanted else None
        except InputError:
            candidate = None
        if candidate is None:
            continue
        usable.append(name)
        if not fallback:
            continue
        try:
            chosen = _fetched(candidate, needs)
        except UNAVAILABLE:
            continue
        preset = f" (preset {chosen.name})" if isinstance(chosen, LossRecipe) and chosen.name else ""
        click.echo(f"Note: {failure.message}; using loss network {name}{preset} instead (--loss-network chooses one)", err=True)
        return chosen
    if not usable:
        tail = ""
    elif fallback:
        tail = f"{', '.join(usable)}, which would stand in for it, cannot be had either"
    else:
        tail = f"or choose another --loss-network ({', '.join(usable)})"
    raise type(failure)(failure.message, "; ".join(h for h in (failure.hint, tail) if h)) from None


def _fetched(chosen: T, needs: Needs) -> T:
    network, taps = needs(chosen)
    if network is not None and taps:
        network_def(network).fetch(tuple(taps))
    return chosen
