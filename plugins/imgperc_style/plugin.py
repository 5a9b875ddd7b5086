"""Hook implementations of the style plugin (entry point ``style``)."""

from __future__ import annotations

import click

from imgperc import hookimpl
from imgperc.tasks import ImageTask

from . import ml5, nets, stylize
from .cli import style_options, stylize_command


@hookimpl
def register_transform_nets(register) -> None:
    register("johnson", nets.johnson)
    register(ml5.ARCHITECTURE, ml5.ml5)


@hookimpl
def register_models(register) -> None:
    for spec in ml5.model_specs():
        register(spec)


@hookimpl
def register_image_tasks(register) -> None:
    register(
        "style",
        ImageTask(
            name="style",
            help="Fast neural style transfer with a pretrained style or a trained net file.",
            selector="style",
            options=style_options(),
            prepare=stylize.prepare,
            tag=stylize.tag,
        ),
    )


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(stylize_command)


@hookimpl
def register_trainers(register) -> None:
    from .train import train_style_command

    register("style", train_style_command)
