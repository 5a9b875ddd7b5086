"""The ``serve`` plugin: adds `imgperc serve` (the web app and HTTP API, imported when it runs)."""

from __future__ import annotations

import click

from imgperc import hookimpl
from imgperc.lazy import LazyCommand


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(LazyCommand("serve", "imgperc_serve.command:serve_command", "Serve the web app and HTTP API on localhost."))
