"""`RegistryGroup`: a click group whose subcommands are the entries of a plugin registry."""

from __future__ import annotations

import click

from .. import plugins
from ..errors import PluginError


class RegistryGroup(click.Group):
    """Subcommands come from the registry ``registry`` (``trainers``, ``evaluators``, ...).

    An entry is a click command, or an object whose ``command`` attribute is one.
    """

    registry = ""
    kind = "entry"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(plugins.registry(self.registry))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entries = plugins.registry(self.registry)
        return self._command(entries.get(cmd_name)) if cmd_name in entries else None

    def _command(self, item: object) -> click.Command:
        command = item if isinstance(item, click.Command) else getattr(item, "command", None)
        if not isinstance(command, click.Command):
            raise PluginError(f"{self.kind} {item!r} is neither a click command nor has a .command")
        return command
