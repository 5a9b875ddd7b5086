"""Hook implementations of the super-resolution plugin (entry point ``sr``)."""

from __future__ import annotations

from imgperc import hookimpl

from .nets import sr_johnson

ARCHITECTURE = "sr-johnson"


@hookimpl
def register_transform_nets(register) -> None:
    register(ARCHITECTURE, sr_johnson)


@hookimpl
def register_trainers(register) -> None:
    from .train import train_sr_command

    register("sr", train_sr_command)


@hookimpl
def register_models(register) -> None:
    from .models import builtin_specs

    for spec in builtin_specs():
        register(spec)


@hookimpl
def register_image_tasks(register) -> None:
    from imgperc.tasks import ImageTask

    from . import upscale
    from .cli import sr_options

    register(
        "sr",
        ImageTask(
            name="sr",
            help="Super-resolution x4/x8 with a built-in model, a trained one, or bicubic.",
            selector="scale",
            options=sr_options(),
            prepare=upscale.prepare,
            tag=upscale.tag,
        ),
    )


@hookimpl
def register_commands(cli) -> None:
    from .cli import upscale_command

    cli.add_command(upscale_command)


@hookimpl
def register_evaluators(register) -> None:
    from .cli import eval_sr_command

    register("sr", eval_sr_command)
