"""Light stand-ins that plugins register, so that listing what they provide stays instant.

Plugin entry modules are imported by every `imgperc` invocation, `--help` included; torch is
not. A plugin therefore registers names with light objects and keeps its heavy imports for
when something is used:

- `Deferred`: a registry entry made on first use, e.g. ``register("vgg16", Deferred("pkg.mod:NETWORK"))``;
- `LazyCommand`: a click command known by its name and one-line help until it runs or shows
  its own ``--help``.

Packages whose ``__init__`` re-exports heavy modules do so through `exports`, so that their
light modules (option choices, ...) import without torch.
"""

from __future__ import annotations

import functools
import importlib
import sys
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Union

import click

from .errors import PluginError

Target = Union[str, Callable[[], Any]]
"""``"package.module:attribute"`` (imported when needed) or a zero-argument factory."""


def load(target: Target) -> Any:
    """What ``target`` names: the attribute after importing its module, or the factory's result."""
    if callable(target):
        return target()
    module, sep, attribute = target.partition(":")
    if not (sep and module and attribute):
        raise PluginError(f"'{target}' is not of the form 'package.module:attribute'")
    value: Any = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def exports(package: str, modules: Mapping[str, tuple[str, ...]]) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` (PEP 562) and ``__all__`` for a package that re-exports the
    names of ``modules`` (``{".engine": ("Engine", ...)}``, relative to ``package``), each module
    imported when one of its names is first used.
    """
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__, sorted(where)


@dataclass(frozen=True)
class Deferred:
    """A registry entry that is imported or built when it is first looked up.

    The registry checks the result against the kind's contract then, naming the plugin.
    """

    target: Target

    def load(self) -> Any:
        return load(self.target)


class LazyCommand(click.Command):
    """A click command that imports the real one (``target``) only when it runs or shows its help.

    ``short_help`` is what `imgperc --help` lists; keep it the real command's own short help.
    """

    def __init__(self, name: str, target: Target, short_help: str, *, hidden: bool = False) -> None:
        super().__init__(name, short_help=short_help, help=short_help, hidden=hidden)
        self.target = target

    @functools.cached_property
    def resolved(self) -> click.Command:
        """The real command (imported on first use)."""
        try:
            command = load(self.target)
        except Exception as exc:
            raise PluginError(f"command '{self.name}' could not be loaded ({type(exc).__name__}: {exc})") from exc
        if not isinstance(command, click.Command):
            raise PluginError(f"command '{self.name}': {self.target!r} gave {type(command).__name__}, not a click command")
        return command

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any) -> click.Context:
        return self.resolved.make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.resolved.invoke(ctx)
