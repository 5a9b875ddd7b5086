"""The ``gatys`` plugin: adds the `imgperc gatys` command (imported when it runs)."""

from __future__ import annotations

import click

from imgperc import hookimpl
from imgperc.lazy import LazyCommand


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(LazyCommand("gatys", "imgperc_gatys.cli:gatys_command", "Optimise an image to match CONTENT's features and STYLE's Gram matrices (Gatys et al.)."))
