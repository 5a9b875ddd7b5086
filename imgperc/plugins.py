"""Plugin discovery (entry points), per-plugin registries and provenance.

Built-in task plugins (``plugins/imgperc_*``) are found through the same ``imgperc`` entry
point group as third-party ones. The core registers its own hooks (loss networks, ...)
directly as the plugin named ``imgperc``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import click
import pluggy

from . import hookspecs
from .errors import PluginError
from .lazy import Deferred
from .settings import plugin_allowlist

if TYPE_CHECKING:
    import importlib.metadata as metadata

ENTRY_POINT_GROUP = "imgperc"
CORE_PLUGIN = "imgperc"
CORE_MODULES: tuple[str, ...] = ("imgperc.core_plugin",)


@dataclass
class PluginInfo:
    """What `imgperc plugins` reports about one plugin."""

    name: str
    version: str
    module: str
    provides: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None


class Registry:
    """Named items of one kind (models, transform nets, ...) and the plugin that gave each.

    Items are checked against the kind's contract (`imgperc.hookspecs.KINDS`) when they are
    added; a `Deferred` item when it is first looked up.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.label = kind.replace("_", " ").removesuffix("s")
        self.owners: dict[str, str] = {}
        self._entries: dict[str, Any] = {}

    def add(self, name: str, item: Any, owner: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin '{owner}' registered a {self.label} without a name (got {name!r})")
        if name in self._entries and self.owners[name] != owner:
            raise PluginError(f"{self.label} '{name}' from plugin '{owner}' clashes with plugin '{self.owners[name]}'")
        self._entries[name] = item if isinstance(item, Deferred) else self._checked(name, item, owner)
        self.owners[name] = owner

    def _checked(self, name: str, item: Any, owner: str) -> Any:
        problem = hookspecs.KINDS[self.kind].problem(name, item)
        if problem:
            raise PluginError(f"{self.label} '{name}' from plugin '{owner}' {problem}")
        return item

    def get(self, name: str) -> Any:
        """The item (a deferred one is made and checked now); a PluginError if it is unknown or broken."""
        try:
            entry = self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise PluginError(f"unknown {self.kind.replace('_', ' ')} '{name}' (known: {known})") from None
        if isinstance(entry, Deferred):
            owner = self.owners[name]
            try:
                entry = self._checked(name, entry.load(), owner)
            except Exception as exc:
                del self._entries[name]  # reported once; later lookups call it unknown
                if isinstance(exc, PluginError):
                    raise
                raise PluginError(f"plugin '{owner}' could not provide {self.label} '{name}' ({type(exc).__name__}: {exc})") from None
            self._entries[name] = entry
        return entry

    def require(self, name: str) -> Any:
        """Like `get`, but a name no loaded plugin registered says that its plugin is missing."""
        if name not in self._entries:
            raise PluginError(
                f"the '{name}' {self.label} is not available: install or enable the plugin that provides it (see `imgperc plugins`)"
            )
        return self.get(name)

    @property
    def items(self) -> dict[str, Any]:
        """Every item, made; one that cannot be made is left out with a one-line warning."""
        made = {}
        for name in list(self._entries):
            try:
                made[name] = self.get(name)
            except PluginError as exc:
                _warn(str(exc))
        return made

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)


def _warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


class PluginHost:
    """Loads plugins once and builds the registries from their hooks."""

    def __init__(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> None:
        self.pm = pluggy.PluginManager("imgperc")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._registries: dict[str, Registry] = {}
        self._commands: dict[str, click.Command] | None = None
        self._load_core()
        if entry_points is None:
            from importlib.metadata import entry_points as installed

            entry_points = installed(group=ENTRY_POINT_GROUP)
        self._load_entry_points(entry_points)

    def _load_core(self) -> None:
        from . import __version__

        info = PluginInfo(CORE_PLUGIN, __version__, "imgperc")
        self.infos[CORE_PLUGIN] = info
        for module_name in CORE_MODULES:
            module = importlib.import_module(module_name)
            self.pm.register(module, name=f"{CORE_PLUGIN}:{module_name}")

    def _load_entry_points(self, eps: Iterable[metadata.EntryPoint]) -> None:
        allow = plugin_allowlist()
        for ep in sorted(eps, key=lambda e: e.name):
            if allow is not None and ep.name not in allow:
                continue
            if ep.name in self.infos:
                _warn(f"plugin '{ep.name}' is installed twice; using the first ({self.infos[ep.name].module})")
                continue
            version = ep.dist.version if ep.dist is not None else "?"
            info = PluginInfo(ep.name, version, ep.value)
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # a broken plugin must not break imgperc
                info.error = f"{type(exc).__name__}: {exc}"
                _warn(f"plugin '{ep.name}' failed to load and was skipped ({info.error})")
            self.infos[ep.name] = info

    def _owner(self, plugin_name: str) -> str:
        return plugin_name.split(":", 1)[0]

    def _hookimpls(self, hook_name: str):
        return getattr(self.pm.hook, hook_name).get_hookimpls()

    def _call_each(self, hook_name: str, make_arg: Callable[[str], Any]) -> None:
        """Call one hook plugin by plugin, so a failing plugin is reported and skipped."""
        for impl in self._hookimpls(hook_name):
            owner = self._owner(impl.plugin_name)
            try:
                impl.function(make_arg(owner))
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                self.infos[owner].error = self.infos[owner].error or message
                _warn(f"plugin '{owner}' failed in {hook_name} and was skipped there ({message})")

    def registry(self, kind: str) -> Registry:
        """The registry of one kind ('models', 'transform_nets', ...), built on first use."""
        if kind not in self._registries:
            registry = Registry(kind)
            name_attribute = hookspecs.KINDS[kind].name_attribute

            def make_register(owner: str) -> hookspecs.Register[Any]:
                def register(name_or_item: Any, item: Any = None, /) -> None:
                    if item is None and name_attribute and not isinstance(name_or_item, str):
                        name, item = getattr(name_or_item, name_attribute, None), name_or_item
                    else:
                        name = name_or_item
                    registry.add(name, item, owner)
                    self.infos[owner].provides.setdefault(kind, []).append(name)

                return register

            self._call_each(hookspecs.KINDS[kind].hook, make_register)
            self._registries[kind] = registry
        return self._registries[kind]

    def commands(self, reserved: Iterable[str] = ()) -> dict[str, click.Command]:
        """The commands plugins contribute (built once), recording who added which.

        ``reserved`` are the core's own command names, which no plugin may take.
        """
        if self._commands is None:
            self._commands = {}
            taken = set(reserved)

            def group_for(owner: str) -> _CommandCollector:
                return _CommandCollector(self._commands, taken, self.infos[owner])

            self._call_each("register_commands", group_for)
        return self._commands

    def load_all(self) -> None:
        """Build every registry (for `imgperc plugins`)."""
        for kind in hookspecs.KINDS:
            self.registry(kind)


class _CommandCollector:
    """What a plugin's ``register_commands(cli)`` receives: the parts of a click group it needs."""

    def __init__(self, commands: dict[str, click.Command], reserved: set[str], info: PluginInfo) -> None:
        self._commands = commands
        self._reserved = reserved
        self._info = info

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not isinstance(cmd, click.Command):
            raise PluginError(f"plugin '{self._info.name}' added a {type(cmd).__name__} as a command; it must be {hookspecs.COMMAND}")
        name = name or cmd.name
        if name in self._reserved or name in self._commands:
            raise PluginError(f"command '{name}' is already provided by imgperc or another plugin")
        self._commands[name] = cmd
        self._info.provides.setdefault("commands", []).append(name)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
        def decorator(f: Callable[..., Any]) -> click.Command:
            cmd = click.command(*args, **kwargs)(f)
            self.add_command(cmd)
            return cmd

        return decorator

    def group(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Group]:
        def decorator(f: Callable[..., Any]) -> click.Group:
            grp = click.group(*args, **kwargs)(f)
            self.add_command(grp)
            return grp

        return decorator


_host: PluginHost | None = None


def host() -> PluginHost:
    """The process-wide plugin host (created on first use)."""
    global _host
    if _host is None:
        _host = PluginHost()
    return _host


def reset() -> None:
    """Forget loaded plugins (tests, or after installing a plugin in-process)."""
    global _host
    _host = None


def registry(kind: str) -> Registry:
    """Shortcut: the registry of ``kind`` from the process-wide host."""
    return host().registry(kind)
