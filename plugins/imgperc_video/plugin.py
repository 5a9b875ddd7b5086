"""Hook implementations of the video plugin (entry point ``video``): the commands load when they run."""

from __future__ import annotations

import click

from imgperc import hookimpl
from imgperc.hookspecs import Register
from imgperc.lazy import LazyCommand


def _video_command() -> click.Command:
    from .command import video_command

    return video_command()


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(LazyCommand("video", _video_command, "Apply a style (or any image task) to a video."))


@hookimpl
def register_evaluators(register: Register) -> None:
    register("video", LazyCommand("video", "imgperc_video.eval_cmd:eval_video_command",
                                  "Temporal consistency of processed clips: the warping error against their source."))
