"""Hook implementations of the video plugin (entry point ``video``)."""

from __future__ import annotations

import click

from imgperc import hookimpl

from .command import video_command


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(video_command())
