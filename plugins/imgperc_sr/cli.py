"""`imgperc upscale` and the ``sr`` image task (loaded when a command runs: `.plugin` registers
them lazily)."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

import click

from imgperc.cli.image_files import ImageFilesCommand, model_rows
from imgperc.inference import engine_options
from imgperc.limits import FiniteFloatRange
from imgperc.tasks import BenchNet, ImageTask

from . import choices
from .models import BICUBIC, DENOISE_PAIR, TASK, default_model, scale_for
from .upscale import PAD, bind, finish_upscaled, prepare, tag

SCALES = tuple(str(s) for s in choices.SCALES)
MODEL_HELP = "bicubic, a built-in or hub model, a model you trained (`imgperc train sr --name`), or a model file."
OUTSCALE = click.Option(
    ["--outscale"],
    type=FiniteFloatRange(min=0.0, min_open=True),
    metavar="F",
    help="Any output scale (2, 3, 1.5, ...): runs the model of the nearest scale at or above F (x2 up to 2, "
         "x4 up to 4, x8 above; or that of -x/--model) and resizes its result with Pillow's Lanczos filter to exactly "
         "round(F·width) x round(F·height). Outputs are named NAME.xF.EXT.",
)


def sr_options() -> tuple[click.Option, ...]:
    """The options that pick and configure an upscaler (shared by `upscale` and the ``sr`` task)."""
    return (
        click.Option(["-x", "--scale"], type=click.Choice(SCALES), help="Upscaling factor (default: the --model's)."),
        click.Option(["--model"], metavar="NAME|PATH", help=f"Upscaler (default: the built-in perceptual model of -x; at x2 the fidelity one): {MODEL_HELP}"),
        click.Option(
            ["--denoise"],
            type=FiniteFloatRange(0.0, 1.0),
            metavar="D",
            help="Noise and JPEG-block removal against detail, 0..1, for a real-world model (default model: "
                 "x4-real, or x2-real with -x 2): blends its weights with its weak partner's (x4-fidelity, "
                 "x2-fidelity), 1 the real model "
                 "itself, 0 the partner. A model without a denoise pair is refused.",
        ),
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
        help="Super-resolution x2/x4/x8 with a built-in model, a trained one, or bicubic.",
        selector="scale",
        options=sr_options(),
        prepare=prepare,
        tag=tag,
        tag_patterns=("x[0-9]*",),  # x4, x4-fidelity, x2 and x1.5 (--outscale), x4-real-dn0.5
        finish=finish_upscaled,
        default_model=default_model,
        bench=BenchNet("sr-shuffle", {"scale": 4}, pad=PAD),
        bind=bind,
        image_options=(OUTSCALE,),
        run_fields={DENOISE_PAIR: "the model whose weights `--denoise 0` gives; this model is `--denoise 1`"},
    )


class UpscaleCommand(ImageFilesCommand):
    """`imgperc upscale`: the ``sr`` task's files command, whose ``--outscale`` (an image option:
    `imgperc video` frames keep the model's scale) resizes each output in ``finish``; without -x
    or --model, F picks the scale."""

    def _run(self, inputs: tuple[Path, ...], output: Path | None, recursive: bool, device: str, force: bool, quiet: bool,
             outscale: float | None = None, **values: Any) -> None:
        from imgperc.pipeline.files import FileOptions, run_image_task

        task = self.task
        if outscale is not None:
            if values.get("scale") is None and values.get("model") in (None, BICUBIC):
                values["scale"] = str(scale_for(outscale))
            task = dataclasses.replace(task, tag=partial(tag, outscale=outscale), finish=partial(finish_upscaled, outscale=outscale))
        files = FileOptions(inputs, output=output, recursive=recursive, device=device, force=force, quiet=quiet)
        run_image_task(task, values, files, verb=str(self.name))


def _models() -> dict[str, list[tuple[str, str]]]:
    bicubic = (BICUBIC, "Pillow's bicubic interpolation, the baseline (give -x)")
    return {"Models (--model NAME)": [bicubic, *model_rows(TASK)]}


sr_image_task = sr_task()  # registered for `imgperc video` and `imgperc.load`

upscale_command = UpscaleCommand(
    sr_image_task,
    "upscale",
    help="""Super-resolve images x2, x4 or x8, or to any scale with --outscale: each INPUT file,
    or the images in each INPUT folder.

    Outputs are exactly 2, 4 or 8 times the input's size (round(F·size) with --outscale F) and go
    beside their inputs as NAME.x4.EXT unless -o is given (NAME.x4-MODEL.EXT with --model).
    Alpha is upscaled bicubically; grayscale and 16-bit inputs give grayscale and 16-bit
    outputs.

    Which model: for clean pictures (renders, screenshots, images shrunk by a plain resize),
    -x 4 and -x 8 alone use the built-in perceptual model of that scale (sharp detail), -x 2
    the x2 fidelity one, and --model xN-fidelity gives the highest PSNR. For real photos (phone
    and camera pictures, old or re-saved JPEGs, noisy scans) use --model x4-real (x2-real for
    x2), trained on blur, noise and JPEG damage: it removes them instead of sharpening them;
    --denoise D (0..1, default model x4-real, x2-real with -x 2) sets how much it removes, lower
    keeping more fine detail and more noise. Models are listed below.

    Several inputs show a progress bar; `torchrun --nproc-per-node N -m imgperc upscale ...`
    shares them between N processes.
    """,
    short_help="Super-resolve images x2, x4 or x8, or to any scale (files or folders).",
    catalogue=_models,
)
