"""The hooks a plugin may implement.

Every hook takes a ``register`` callable (or, for commands, the click group) so imgperc
knows which plugin contributed what. Implement them with ``@imgperc.hookimpl``.
"""

from __future__ import annotations

from typing import Any, Callable

import click
import pluggy

hookspec = pluggy.HookspecMarker("imgperc")
hookimpl = pluggy.HookimplMarker("imgperc")

Register = Callable[..., None]


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the top-level `imgperc` command."""


@hookspec
def register_models(register: Register) -> None:
    """Contribute pretrained models to the hub: ``register(ModelSpec)``."""


@hookspec
def register_transform_nets(register: Register) -> None:
    """Contribute network architectures: ``register(name, builder)``.

    ``builder(**config) -> torch.nn.Module``; model files name their architecture and config,
    so any plugin's net can be saved and loaded by the core.
    """


@hookspec
def register_loss_networks(register: Register) -> None:
    """Contribute loss networks (feature extractors with named taps): ``register(name, factory)``."""


@hookspec
def register_loss_recipes(register: Register) -> None:
    """Contribute loss-recipe presets: ``register(name, recipe)``."""


@hookspec
def register_trainers(register: Register) -> None:
    """Contribute training tasks for `imgperc train TASK`: ``register(name, trainer)``."""


@hookspec
def register_evaluators(register: Register) -> None:
    """Contribute benchmarks for `imgperc eval TASK`: ``register(name, click_command)``."""


@hookspec
def register_image_tasks(register: Register) -> None:
    """Contribute image-to-image tasks usable by batch and video pipelines: ``register(name, task)``."""


# Names of the registry kinds, in the order `imgperc plugins` shows them.
REGISTRY_HOOKS: dict[str, str] = {
    "models": "register_models",
    "transform_nets": "register_transform_nets",
    "loss_networks": "register_loss_networks",
    "loss_recipes": "register_loss_recipes",
    "trainers": "register_trainers",
    "evaluators": "register_evaluators",
    "image_tasks": "register_image_tasks",
}

Item = Any
