"""`RegistryGroup`: a click group whose subcommands are the entries of a plugin registry."""

from __future__ import annotations

import click

from .. import plugins


class RegistryGroup(click.Group):
    """Subcommands come from the registry ``registry`` (``trainers``, ``evaluators``, ...).

    Entries are click commands (checked when registered), usually an `imgperc.lazy.LazyCommand`.
    """

    registry = ""
    kind = "entry"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(plugins.registry(self.registry))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entries = plugins.registry(self.registry)
        return entries.get(cmd_name) if cmd_name in entries else None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            known = ", ".join(self.list_commands(ctx)) or "none installed"
            raise click.UsageError(f"No such command '{name}': no {self.kind} of that name (known: {known}; plugins provide them, see `imgperc plugins`)", ctx)
        return super().resolve_command(ctx, args)
