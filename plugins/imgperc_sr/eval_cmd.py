"""`imgperc eval sr`: the benchmark table, CSV and JSON, and optional crops.

Light to import: torch and the evaluation load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource
from rich import box
from rich.console import Console
from rich.table import Table

from imgperc.hub import builtin_specs
from imgperc.inference import report_options
from imgperc.report import ReportFiles, print_table

from .cli import MODEL_HELP, SCALES
from .eval_degradations import EVAL_DEGRADATIONS
from .models import BICUBIC, choose
from .plugin import weights_folder
from .upscale import load_upscaler

if TYPE_CHECKING:
    from imgperc.io import Image

    from .evaluate import Evaluation, ImageScores, Score

HEADERS = {"psnr": ("PSNR", ".2f"), "ssim": ("SSIM", ".4f"), "peak": ("peak", ".2f"), "niqe": ("NIQE", ".2f")}


def _table(result: Evaluation, title: str) -> Table:
    """One row per image and method and one of the ground truth's peak measure and NIQE, then
    the means: as narrow whatever the number of methods, with image names and model ids never
    cut. Without ground truth, the peak and NIQE columns only; a missing NIQE shows as -."""
    from .evaluate import TRUTH

    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)  # 80 columns with 6 methods
    for name in ("image", "size", "method"):
        table.add_column(name, no_wrap=True, justify="right" if name == "size" else "left")
    for name in result.fields:
        table.add_column(HEADERS[name][0], no_wrap=True, justify="right")

    def cells(values: dict[str, float | None]) -> list[str]:
        return ["" if f not in values else "-" if values[f] is None else f"{values[f]:{HEADERS[f][1]}}" for f in result.fields]

    for image in result.images:
        for k, method in enumerate(result.methods):
            first = (image.image, f"{image.width}x{image.height}") if k == 0 else ("", "")
            table.add_row(*first, method, *cells(vars(image.scores[method])), end_section=not result.reference and k == len(result.methods) - 1)
        if result.reference:
            table.add_row("", "", TRUTH, *cells({"peak": image.truth_peak, "niqe": image.truth_niqe}), style="dim", end_section=True)
    for k, (method, score) in enumerate(result.means().items()):
        table.add_row("mean" if k == 0 else "", "", method, *cells(vars(score)), style="bold")
    if result.reference:
        table.add_row("", "", TRUTH, *cells({"peak": result.truth_peak(), "niqe": result.truth_niqe()}), style="bold dim")
    return table


def _figure(score: Score, reference: bool) -> str:
    """A method's figure on the progress line: its PSNR, or its NIQE without ground truth."""
    if reference:
        return f"{score.psnr:.2f} dB"
    return "NIQE -" if score.niqe is None else f"NIQE {score.niqe:.2f}"


@click.command("sr")
@click.option("-x", "--scale", type=click.Choice(SCALES), required=True, help="Upscaling factor.")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Folder of high-resolution ground-truth images (with --no-reference: of photos to upscale).")
@click.option("--model", "models", multiple=True, metavar="NAME|PATH", help=f"A model to evaluate (repeat for several; default: the built-in ones of -x): {MODEL_HELP}")
@click.option("--degradation", type=click.Choice(EVAL_DEGRADATIONS), default=BICUBIC, show_default=True,
              help="How inputs are made: bicubic: plain bicubic downsampling (the benchmark protocol); blur: Gaussian blur "
                   "(sigma 1.0) first, as in training; jpeg50: bicubic, then JPEG quality 50; blur-noise-jpeg60: blur "
                   "sigma 1.5, bicubic, Gaussian noise sigma 5 (of 255, seeded), JPEG quality 60 (real-world photos).")
@click.option("--histogram-match/--no-histogram-match", default=False, show_default=True, help="The paper's post-processing of model outputs.")
@click.option("--no-reference", is_flag=True, help="Real photos without ground truth: each image of --data is itself the low-resolution "
                                                   "input (no degradation); only the peak measure and NIQE of the outputs are reported.")
@report_options(crop_size=128, crop_unit="high-resolution pixels")
def eval_sr_command(
    scale: str,
    data: Path,
    models: tuple[str, ...],
    degradation: str,
    histogram_match: bool,
    no_reference: bool,
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
    from each border, and so is the peak measure of each output and of the ground truth: how
    far the spectrum peaks at the upsampling periods (k/SCALE cycles per pixel) above the
    frequencies around them. Photos score about 1; a grid scores tens: compare a model's
    figure with the ground truth's. NIQE, a no-reference quality figure (lower is better), is
    measured on the same Y. Prints a table, writes eval-sr-DATA-xSCALE.csv and .json
    (-DEGRADATION added unless bicubic) to --output.

    With --no-reference, the images of --data are real photos: each is upscaled as it is, and
    only the peak measure and NIQE are reported (eval-sr-DATA-xSCALE-no-reference.csv, .json).
    """
    from imgperc.io import collect_inputs

    from .crops import side_by_side
    from .evaluate import evaluate, evaluate_photos

    if no_reference:
        source = click.get_current_context().get_parameter_source
        if source("degradation") is not ParameterSource.DEFAULT:
            raise click.UsageError("--degradation does not apply with --no-reference: the photos are the inputs")
        if crops is not None:
            raise click.UsageError("--crops needs ground truth: not with --no-reference")
    factor = int(scale)
    names = list(dict.fromkeys([BICUBIC, *(models or (s.id for s in builtin_specs(weights_folder()) if s.extra["scale"] == factor))]))
    choices = [choose(name, factor) for name in names]
    files = collect_inputs([data])
    stem = f"eval-sr-{data.resolve().name}-x{factor}" + ("-no-reference" if no_reference else "" if degradation == BICUBIC else f"-{degradation}")
    report = ReportFiles(output, stem, force, crops)
    report.prepare(f"{path.stem}.x{factor}" for path in files)
    upscalers = {c.name: load_upscaler(c, histogram_match=histogram_match, device=device, precision=precision) for c in choices}
    console = Console(stderr=True)

    def on_image(path: Path, truth: Image | None, low: Image, outputs: dict, scores: ImageScores) -> None:
        if crops is not None and truth is not None:
            labels = {m: f"{m} {s.psnr:.2f} dB" for m, s in scores.scores.items()}
            sheet = side_by_side(truth.pixels, low.pixels, outputs, labels, factor, crop_size)
            report.save_crop(f"{path.stem}.x{factor}", sheet)
        if console.is_terminal:
            console.print(f"{scores.image}: " + ", ".join(f"{m} {_figure(s, not no_reference)}" for m, s in scores.scores.items()))

    if no_reference:
        result = evaluate_photos(files, factor, upscalers, data=data, histogram_match=histogram_match, on_image=on_image)
        title = f"{data.name} x{factor}, photos without ground truth: peak and NIQE on Y, {factor}-pixel border"
    else:
        result = evaluate(files, factor, upscalers, degradation=degradation, data=data, histogram_match=histogram_match, on_image=on_image)
        title = f"{data.name} x{factor}, {degradation} degradation: PSNR (dB), SSIM, peak and NIQE on Y, {factor}-pixel border"
    print_table(_table(result, title))
    report.write(result.to_csv(), result.to_json())
