"""`imgperc stylize` (a style over image files and folders) and the ``style`` image task
(loaded when a command runs: `.plugin` registers them lazily)."""

from __future__ import annotations

from pathlib import Path

import click

from imgperc.cli.image_files import ImageFilesCommand, model_rows
from imgperc.inference import engine_options
from imgperc.limits import FiniteFloatRange
from imgperc.tasks import BenchNet, ImageTask

from .anystyle_task import PAINTING_MIN, STYLE_SIZE
from .stylize import DEFAULT_STYLE, VIDEO_CONSISTENCY, bind, prepare, tag

TASK = "style"
FAST_STYLES = "Fast styles (--style NAME; built in: light nets, several times faster on CPUs)"


def style_options() -> tuple[click.Option, ...]:
    """The options that pick and configure a style (shared by `stylize` and the ``style`` task)."""
    return (
        click.Option(["--style"], metavar="NAME", help="A style by name (`imgperc models list --task style` lists them): pretrained, built-in fast, or trained (`imgperc train style --name`, `imgperc distill --name`)."),
        click.Option(
            ["--model"],
            type=click.Path(dir_okay=False, path_type=Path),
            help="A trained style net file instead of a named style; outputs are tagged with its stem.",
        ),
        click.Option(
            ["--style-image"],
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            multiple=True,
            metavar="PAINTING",
            help="Any image as the style, with no training (whitening-colouring transforms of VGG-19 features); "
                 "repeat it to mix paintings. Outputs are tagged with the painting's name.",
        ),
        click.Option(
            ["--style-mix"],
            metavar="W,W,...",
            help="Weights of the --style-image paintings, in order (e.g. 0.7,0.3; default: equal).",
        ),
        click.Option(
            ["--style-size"],
            type=click.IntRange(min=PAINTING_MIN),
            metavar="N",
            help=f"With --style-image: resize the painting so its longest side is N pixels (default {STYLE_SIZE}); "
                 "larger N gives larger strokes.",
        ),
        click.Option(["--preserve-color"], is_flag=True, help="Keep the input's colours: transfer luminance only."),
        click.Option(
            ["--strength"],
            type=FiniteFloatRange(0.0, 1.0),
            default=1.0,
            show_default=True,
            help="Blend of style over the input (0 = the input, 1 = fully stylized).",
        ),
        *engine_options(),
    )


def style_task() -> ImageTask:
    """The ``style`` image task: run by `imgperc stylize`, registered for `imgperc video`."""
    return ImageTask(
        name=TASK,
        help="Fast neural style transfer with a pretrained style or a trained net file.",
        selector="style",
        options=style_options(),
        prepare=prepare,
        tag=tag,
        default_model=DEFAULT_STYLE,
        bench=BenchNet("ml5", pad=None),
        bind=bind,
        also_selected_by=("style_image",),
        run_fields={VIDEO_CONSISTENCY: "`imgperc video`'s `--consistency` when none is given, measured per style in docs/video.md"},
    )


def styles_catalogue() -> dict[str, list[tuple[str, str]]]:
    """The --help lists: the pretrained and trained styles, then the built-in fast ones (if any)."""
    sections = {"Styles (--style NAME)": model_rows(TASK, builtin=False)}
    fast = model_rows(TASK, builtin=True)
    if fast:
        sections[FAST_STYLES] = fast
    return sections


class StylizeCommand(ImageFilesCommand):
    """`imgperc stylize`: says in one line which style it uses when none is chosen."""

    def invoke(self, ctx: click.Context) -> None:
        values = ctx.params
        if not any(values.get(name) for name in ("style", "model", "style_image", "quiet")):
            click.echo(f"No --style given: using the built-in fast style '{DEFAULT_STYLE}' (styles: `imgperc stylize --help`)", err=True)
        return super().invoke(ctx)


stylize_command = StylizeCommand(
    style_task(),
    "stylize",
    help="""Stylize images: each INPUT file, or the images in each INPUT folder.

    Outputs go beside their inputs as NAME.STYLE.EXT unless -o is given, the same size as the
    input (after --size); alpha, EXIF and ICC are kept. Give --style NAME (listed below; the
    fast ones have 10-16x fewer FLOPs), --model FILE (train one with `imgperc train
    style`), or --style-image PAINTING for any picture as the style, with no training;
    without any, the built-in muse-fast (no download). Several inputs show a progress bar;
    `torchrun --nproc-per-node N -m imgperc stylize ...` shares them between N processes.
    """,
    short_help="Apply a style to images (files or folders).",
    catalogue=styles_catalogue,
    resize=True,
)
