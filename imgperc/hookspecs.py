"""The hooks a plugin may implement, and what each one registers (checked at registration).

Every registration hook takes a ``register`` callable, so imgperc knows which plugin
contributed what: ``register(name, item)``, or ``register(item)`` for items that carry their
name (a ``ModelSpec``'s ``id``, an ``ImageTask``'s ``name``, ...). ``item`` may be an
`imgperc.lazy.Deferred`, made (and checked) on first use. `register_commands` receives the
click group instead. Implement hooks with ``@imgperc.hookimpl``. This module imports neither
torch nor click: `imgperc --help` must stay instant.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, TypeVar

import pluggy

if TYPE_CHECKING:
    import click
    from torch import nn

    from .hub.spec import ModelSpec
    from .lazy import Deferred
    from .losses.networks.definition import NetworkDef
    from .losses.recipe import LossRecipe
    from .losses.terms import LossTerm
    from .tasks import ImageTask

hookspec = pluggy.HookspecMarker("imgperc")
hookimpl = pluggy.HookimplMarker("imgperc")

T = TypeVar("T", contravariant=True)


class Register(Protocol[T]):
    """What a registration hook receives: ``register(name, item)`` or ``register(item)``."""

    def __call__(self, name_or_item: str | T, item: T | Deferred | None = None, /) -> None: ...


class TransformNetBuilder(Protocol):
    """A transform-net architecture: ``builder(**config)`` -> a fresh ``torch.nn.Module``.

    Model files name the architecture and its config, so the core rebuilds any plugin's net.
    """

    def __call__(self, **config: Any) -> nn.Module: ...


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the top-level `imgperc` command: ``cli.add_command(cmd)``.

    Keep them light: an `imgperc.lazy.LazyCommand` imports the real command when it runs.
    """


@hookspec
def register_models(register: Register[ModelSpec]) -> None:
    """Contribute pretrained models to the hub: ``register(ModelSpec(...))``."""


@hookspec
def register_transform_nets(register: Register[TransformNetBuilder]) -> None:
    """Contribute network architectures: ``register(name, builder)``, see `TransformNetBuilder`."""


@hookspec
def register_loss_networks(register: Register[NetworkDef]) -> None:
    """Contribute loss networks (feature extractors with named taps): ``register(name, NetworkDef(...))``."""


@hookspec
def register_loss_recipes(register: Register[LossRecipe]) -> None:
    """Contribute loss-recipe presets: ``register(name, LossRecipe(...))``."""


@hookspec
def register_loss_terms(register: Register[type[LossTerm]]) -> None:
    """Contribute loss-term kinds for recipes' ``terms``: ``register(kind, LossTermSubclass)``."""


@hookspec
def register_trainers(register: Register[click.Command]) -> None:
    """Contribute training tasks for `imgperc train TASK`: ``register(name, click_command)``."""


@hookspec
def register_evaluators(register: Register[click.Command]) -> None:
    """Contribute benchmarks for `imgperc eval TASK`: ``register(name, click_command)``."""


@hookspec
def register_image_tasks(register: Register[ImageTask]) -> None:
    """Contribute image-to-image tasks (files, video, bench, the API): ``register(ImageTask(...))``."""


def _instance_of(module: str, name: str) -> Callable[[Any], bool]:
    """An isinstance check that imports the class only when an item is checked."""

    def check(item: Any) -> bool:
        return isinstance(item, getattr(importlib.import_module(module), name))

    return check


def _subclass_of(module: str, name: str) -> Callable[[Any], bool]:
    """An issubclass check that imports the base class only when an item is checked."""

    def check(item: Any) -> bool:
        return isinstance(item, type) and issubclass(item, getattr(importlib.import_module(module), name))

    return check


@dataclass(frozen=True)
class Kind:
    """One registry: its hook, the contract of its items, and the attribute naming an item."""

    hook: str
    expects: str
    accepts: Callable[[Any], bool]
    name_attribute: str | None = None

    def problem(self, name: str, item: Any) -> str | None:
        """Why ``item`` cannot be registered as ``name`` (None: it can)."""
        if not self.accepts(item):
            return f"must be {self.expects}, not {type(item).__name__}"
        own = getattr(item, self.name_attribute, None) if self.name_attribute else None
        if own and own != name:
            return f"is registered as '{name}' but its {self.name_attribute} is '{own}'"
        return None


COMMAND = "a click command (an imgperc.lazy.LazyCommand keeps it light)"

# The registries, in the order `imgperc plugins` shows them.
KINDS: dict[str, Kind] = {
    "models": Kind("register_models", "an imgperc.hub.ModelSpec", _instance_of("imgperc.hub.spec", "ModelSpec"), "id"),
    "transform_nets": Kind("register_transform_nets", "a builder: callable(**config) -> torch.nn.Module", callable),
    "loss_networks": Kind(
        "register_loss_networks", "an imgperc.losses.NetworkDef", _instance_of("imgperc.losses.networks.definition", "NetworkDef"), "name"
    ),
    "loss_recipes": Kind("register_loss_recipes", "an imgperc.losses.LossRecipe", _instance_of("imgperc.losses.recipe", "LossRecipe"), "name"),
    "loss_terms": Kind("register_loss_terms", "a subclass of imgperc.losses.LossTerm", _subclass_of("imgperc.losses.terms", "LossTerm"), "kind"),
    "trainers": Kind("register_trainers", COMMAND, _instance_of("click", "Command")),
    "evaluators": Kind("register_evaluators", COMMAND, _instance_of("click", "Command")),
    "image_tasks": Kind("register_image_tasks", "an imgperc.tasks.ImageTask", _instance_of("imgperc.tasks", "ImageTask"), "name"),
}
