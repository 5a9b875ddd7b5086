"""Hook implementations of the video plugin (entry point ``video``): the command loads when it runs."""

from __future__ import annotations

import click

from imgperc import hookimpl
from imgperc.lazy import LazyCommand


def _video_command() -> click.Command:
    from .command import video_command

    return video_command()


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(LazyCommand("video", _video_command, "Apply a style (or any image task) to a video."))
