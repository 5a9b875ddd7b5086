"""`imgperc upscale` and `imgperc eval sr`, and the options of the ``sr`` image task."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from imgperc.atomic import atomic_path, check_writable
from imgperc.inference import DEVICES, PRECISION_HELP, PRECISIONS, engine_options
from imgperc.io import Image, collect_inputs, collect_sources, output_paths, read_image, write_image

from .crops import save_sheet, side_by_side
from .evaluate import BICUBIC, DEGRADATIONS, Evaluation, ImageScores, evaluate
from .models import builtin_specs, choose
from .upscale import load_upscaler, upscale_image

SCALES = ("4", "8")
MODEL_HELP = "bicubic, a built-in or hub model, a model you trained (`imgperc train sr --name`), or a model file."


def sr_options() -> tuple[click.Option, ...]:
    """The options that pick and configure an upscaler (shared by `upscale` and the ``sr`` task)."""
    return (
        click.Option(["-x", "--scale"], type=click.Choice(SCALES), help="Upscaling factor (default: the --model's)."),
        click.Option(["--model"], metavar="NAME|PATH", help=f"Upscaler (default: the built-in feature-loss model of -x): {MODEL_HELP}"),
        click.Option(
            ["--histogram-match/--no-histogram-match"],
            default=True,
            show_default=True,
            help="Match each output channel's histogram to the input's (the paper's post-processing; not for bicubic).",
        ),
        *engine_options(
            "Run large inputs in tiles of N low-resolution pixels, overlapping and blended "
            "(auto: only inputs whose output does not fit in memory)."
        ),
    )


@click.command("upscale")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (one input) or folder (several).")
@click.option("-r", "--recursive", is_flag=True, help="Look for images in sub-folders too.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="Where to run the net.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the files written.")
def upscale_command(
    inputs: tuple[Path, ...],
    output: Path | None,
    recursive: bool,
    device: str,
    force: bool,
    quiet: bool,
    scale: str | None,
    model: str | None,
    histogram_match: bool,
    precision: str,
    tile: str,
) -> None:
    """Super-resolve images x4 or x8: each INPUT file, or the images in each INPUT folder.

    Outputs are exactly 4 or 8 times the input's size and go beside their inputs as
    NAME.x4.EXT unless -o is given (NAME.x4-MODEL.EXT with --model). Alpha is upscaled
    bicubically; grayscale and 16-bit inputs give grayscale and 16-bit outputs.
    """
    choice = choose(model, int(scale) if scale else None)
    sources = collect_sources(inputs, tag=choice.tag, recursive=recursive, verb="upscale")
    targets = output_paths(sources, tag=choice.tag, output=output)
    for target in targets:
        check_writable(target, overwrite=force)
    upscaler = load_upscaler(choice, histogram_match=histogram_match, device=device, precision=precision, tile=tile)
    for source, target in zip(sources, targets):
        write_image(target, upscale_image(upscaler, read_image(source)), overwrite=force)
        if not quiet:
            click.echo(str(target))


upscale_command.params[1:1] = sr_options()  # right after INPUTS, so --help lists them first


def _table(result: Evaluation, title: str) -> Table:
    table = Table(title=title)
    table.add_column("image")
    table.add_column("size", justify="right")
    for method in result.methods:
        table.add_column(f"{method}\nPSNR", justify="right")
        table.add_column("SSIM", justify="right")
    for image in result.images:
        cells = [f"{s.psnr:.2f}|{s.ssim:.4f}" for s in (image.scores[m] for m in result.methods)]
        table.add_row(image.image, f"{image.width}x{image.height}", *(c for cell in cells for c in cell.split("|")))
    means = result.means()
    table.add_section()
    table.add_row("mean", "", *(c for m in result.methods for c in (f"{means[m].psnr:.2f}", f"{means[m].ssim:.4f}")), style="bold")
    return table


@click.command("sr")
@click.option("-x", "--scale", type=click.Choice(SCALES), required=True, help="Upscaling factor.")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True, help="Folder of high-resolution ground-truth images.")
@click.option("--model", "models", multiple=True, metavar="NAME|PATH", help=f"A model to evaluate (repeat for several; default: the built-in ones of -x): {MODEL_HELP}")
@click.option("--degradation", type=click.Choice(DEGRADATIONS), default=BICUBIC, show_default=True, help="bicubic: plain bicubic downsampling (the benchmark protocol); blur: Gaussian blur (sigma 1.0) first, as in training.")
@click.option("--histogram-match/--no-histogram-match", default=True, show_default=True, help="The paper's post-processing of model outputs.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True, help="Folder for the CSV and JSON results.")
@click.option("--crops", type=click.Path(file_okay=False, path_type=Path), help="Also save a side-by-side crop of every image in this folder.")
@click.option("--crop-size", type=click.IntRange(min=16), default=128, show_default=True, help="Side of the crops in high-resolution pixels.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="Where to run the nets.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True, help=PRECISION_HELP)
@click.option("--force", is_flag=True, help="Overwrite existing result files and crops.")
def eval_sr_command(
    scale: str,
    data: Path,
    models: tuple[str, ...],
    degradation: str,
    histogram_match: bool,
    output: Path,
    crops: Path | None,
    crop_size: int,
    device: str,
    precision: str,
    force: bool,
) -> None:
    """Benchmark super-resolution on a folder of ground-truth images (Set5, Set14, ...).

    Low-resolution inputs are made from the ground truth; bicubic interpolation and each model
    upscale them; PSNR and SSIM are measured on the Y channel (BT.601) with SCALE pixels cropped
    from each border. Prints a table, writes eval-sr-DATA-xSCALE.csv and .json to --output.
    """
    factor = int(scale)
    names = list(dict.fromkeys([BICUBIC, *(models or (s.id for s in builtin_specs() if s.extra["scale"] == factor))]))
    choices = [choose(name, factor) for name in names]
    files = collect_inputs([data])
    stem = f"eval-sr-{data.resolve().name}-x{factor}" + ("" if degradation == BICUBIC else f"-{degradation}")
    output.mkdir(parents=True, exist_ok=True)
    targets = {ext: output / f"{stem}.{ext}" for ext in ("csv", "json")}
    for target in targets.values():
        check_writable(target, overwrite=force)
    if crops is not None:
        crops.mkdir(parents=True, exist_ok=True)
        for path in files:
            check_writable(crops / f"{path.stem}.x{factor}.png", overwrite=force)
    upscalers = {c.name: load_upscaler(c, histogram_match=histogram_match, device=device, precision=precision) for c in choices}
    console = Console(stderr=True)

    def on_image(path: Path, truth: Image, low: Image, outputs: dict, scores: ImageScores) -> None:
        if crops is not None:
            labels = {m: f"{m} {s.psnr:.2f} dB" for m, s in scores.scores.items()}
            sheet = side_by_side(truth.pixels, low.pixels, outputs, labels, factor, crop_size)
            save_sheet(sheet, crops / f"{path.stem}.x{factor}.png", overwrite=force)
        if console.is_terminal:
            console.print(f"{scores.image}: " + ", ".join(f"{m} {s.psnr:.2f} dB" for m, s in scores.scores.items()))

    result = evaluate(files, factor, upscalers, degradation=degradation, data=data, histogram_match=histogram_match, on_image=on_image)
    title = f"{data.name} x{factor}, {degradation} degradation: PSNR (dB) and SSIM on Y, {factor}-pixel border"
    Console(width=max(100, 24 + 16 * len(names))).print(_table(result, title))
    for ext, text in (("csv", result.to_csv()), ("json", result.to_json())):
        with atomic_path(targets[ext], overwrite=force) as tmp:
            tmp.write_text(text)
        click.echo(str(targets[ext]))
