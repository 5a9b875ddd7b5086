"""`imgperc upscale` and the ``sr`` image task (loaded when a command runs: `.plugin` registers
them lazily)."""

from __future__ import annotations

import click

from imgperc.cli.image_files import ImageFilesCommand, model_rows
from imgperc.inference import engine_options
from imgperc.tasks import BenchNet, ImageTask

from .models import BICUBIC, TASK, default_model
from .upscale import PAD, bind, finish_upscaled, prepare, tag

SCALES = ("4", "8")
MODEL_HELP = "bicubic, a built-in or hub model, a model you trained (`imgperc train sr --name`), or a model file."


def sr_options() -> tuple[click.Option, ...]:
    """The options that pick and configure an upscaler (shared by `upscale` and the ``sr`` task)."""
    return (
        click.Option(["-x", "--scale"], type=click.Choice(SCALES), help="Upscaling factor (default: the --model's)."),
        click.Option(["--model"], metavar="NAME|PATH", help=f"Upscaler (default: the built-in perceptual model of -x): {MODEL_HELP}"),
        click.Option(
            ["--histogram-match/--no-histogram-match"],
            default=False,
            show_default=True,
            help="Match each output channel's histogram to the input's (the paper's post-processing; the "
                 "built-in fidelity and perceptual models need none; never for bicubic).",
        ),
        *engine_options(),
    )


def sr_task() -> ImageTask:
    """The ``sr`` image task: run by `imgperc upscale`, registered for `imgperc video`."""
    return ImageTask(
        name=TASK,
        help="Super-resolution x4/x8 with a built-in model, a trained one, or bicubic.",
        selector="scale",
        options=sr_options(),
        prepare=prepare,
        tag=tag,
        tag_patterns=tuple(pattern for x in SCALES for pattern in (f"x{x}", f"x{x}-*")),
        finish=finish_upscaled,
        default_model=default_model,
        bench=BenchNet("sr-shuffle", {"scale": 4}, pad=PAD),
        bind=bind,
    )


def _models() -> dict[str, list[tuple[str, str]]]:
    bicubic = (BICUBIC, "Pillow's bicubic interpolation, the baseline (give -x)")
    return {"Models (--model NAME)": [bicubic, *model_rows(TASK)]}


upscale_command = ImageFilesCommand(
    sr_task(),
    "upscale",
    help="""Super-resolve images x4 or x8: each INPUT file, or the images in each INPUT folder.

    Outputs are exactly 4 or 8 times the input's size and go beside their inputs as
    NAME.x4.EXT unless -o is given (NAME.x4-MODEL.EXT with --model). Alpha is upscaled
    bicubically; grayscale and 16-bit inputs give grayscale and 16-bit outputs. -x alone uses
    the built-in perceptual model of that scale (sharp, no grid); --model xN-fidelity gives
    the highest PSNR (models listed below). Several inputs show a progress bar;
    `torchrun --nproc-per-node N -m imgperc upscale ...` shares them between N processes.
    """,
    short_help="Super-resolve images x4 or x8 (files or folders).",
    catalogue=_models,
)
