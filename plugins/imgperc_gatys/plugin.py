"""The ``gatys`` plugin: adds the `imgperc gatys` command."""

from __future__ import annotations

import click

from imgperc import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .cli import gatys_command

    cli.add_command(gatys_command)
