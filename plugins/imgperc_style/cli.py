"""`imgperc stylize`: apply a pretrained or trained style net to image files and folders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import torch

from imgperc.api import resize_longest
from imgperc.atomic import check_writable
from imgperc.inference import DEVICES, engine_options, same_size_batches
from imgperc.io import collect_sources, output_paths, read_image, write_image

from .stylize import StyleTransform, choose, load_net


def style_options() -> tuple[click.Option, ...]:
    """The options that pick and configure a style (shared by `stylize` and the ``style`` task)."""
    return (
        click.Option(["--style"], metavar="NAME", help="Pretrained style (see `imgperc models list --task style`)."),
        click.Option(
            ["--model"],
            type=click.Path(dir_okay=False, path_type=Path),
            help="A trained style net file instead of a named style; outputs are tagged with its stem.",
        ),
        click.Option(["--preserve-color"], is_flag=True, help="Keep the input's colours: transfer luminance only."),
        click.Option(
            ["--strength"],
            type=click.FloatRange(0.0, 1.0),
            default=1.0,
            show_default=True,
            help="Blend of style over the input (0 = the input, 1 = fully stylized).",
        ),
        *engine_options("Run large images in N-pixel tiles (auto: only those that do not fit in memory)."),
    )


@click.command("stylize")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (one input) or folder (several).")
@click.option("-r", "--recursive", is_flag=True, help="Look for images in sub-folders too.")
@click.option("--size", type=click.IntRange(min=8), metavar="N", help="Resize so the longest side is N pixels first.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="Where to run the net.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the files written.")
def stylize_command(
    inputs: tuple[Path, ...],
    output: Path | None,
    recursive: bool,
    size: int | None,
    device: str,
    force: bool,
    quiet: bool,
    style: str | None,
    model: Path | None,
    preserve_color: bool,
    strength: float,
    precision: str,
    tile: str,
) -> None:
    """Stylize images: each INPUT file, or the images in each INPUT folder.

    Outputs go beside their inputs as NAME.STYLE.EXT unless -o is given.
    """
    choice = choose(style, model)
    sources = collect_sources(inputs, tag=choice.tag, recursive=recursive, verb="stylize")
    targets = output_paths(sources, tag=choice.tag, output=output)
    for target in targets:
        check_writable(target, overwrite=force)
    engine = load_net(choice, device, precision, tile)
    transform = StyleTransform(engine, choice.tag, preserve_color, strength)

    def images():
        for source, target in zip(sources, targets):
            image = read_image(source)
            yield target, resize_longest(image, size) if size is not None else image

    for group in same_size_batches(images(), lambda item: item[1].size, engine.batch_size):
        styled = transform(torch.stack([image.pixels for _, image in group]))
        for (target, image), pixels in zip(group, styled):
            write_image(target, dataclasses.replace(image.with_pixels(pixels), grayscale=False), overwrite=force)
            if not quiet:
                click.echo(str(target))


stylize_command.params[1:1] = style_options()  # right after INPUTS, so --help lists them first
