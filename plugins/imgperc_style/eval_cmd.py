"""`imgperc eval style`: the command, its options and its table; the evaluation is `.evaluate`.

Light to import: torch and the evaluation load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from imgperc.cli.options import SIZE_MIN, size_option
from imgperc.errors import InputError
from imgperc.limits import FiniteFloatRange
from imgperc.inference import report_options
from imgperc.losses.recipe import LossRecipe
from imgperc.report import ReportFiles, print_table

if TYPE_CHECKING:
    import torch

    from .evaluate import ImageLosses, Method, StyleEvaluation

DEFAULT_PRESET = "vgg19-relu3"
FOUR_TAPS_RECIPE = LossRecipe(
    name="vgg19-relu3-4taps",
    description="vgg19-relu3 with Gram taps relu1_2, relu2_2, relu3_3 and relu3_4 (each 1/C^2): the style check of issue 27",
    network="vgg19",
    content_layers={"relu2_2": 1.0},
    style_layers={"relu1_2": 1 / 64**2, "relu2_2": 1 / 128**2, "relu3_3": 1 / 256**2, "relu3_4": 1 / 256**2},
    content_weight=1.0,
    style_weight=1.0,
    tv_weight=0.0325,
)


def _table(result: StyleEvaluation) -> Table:
    layers = ", ".join(result.recipe.style_layers)
    table = Table(title=f"{Path(result.data).name}, style {Path(result.style_image).name}, longest side {result.size}: "
                        f"mean losses ({result.recipe.name}: style {layers}; content {', '.join(result.recipe.content_layers)})")
    table.add_column("method", no_wrap=True)  # model ids and file paths are never cut
    table.add_column("style loss", justify="right", no_wrap=True)
    table.add_column("content loss", justify="right", no_wrap=True)
    likeness = result.likeness_means()
    if likeness:
        for column in ("to teacher", "PSNR dB", "teacher shift floor", "floor PSNR dB"):
            table.add_column(column, justify="right", no_wrap=True)
    for method, (style, content) in result.means().items():
        cells = []
        if likeness:
            score = likeness.get(method)
            cells = ["", "", "", ""] if score is None else [
                f"{score.distance:.3f}" + ("" if score.floor_ratio is None else f" ({score.floor_ratio:.2f}x floor)"),
                f"{score.psnr:.1f}", f"{score.floor_distance:.3f} ({score.reference})", f"{score.floor_psnr:.1f}"]
        table.add_row(method, f"{style:.4g}", f"{content:.4g}", *cells)
    return table


@click.command("style")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True, help="Folder of photos.")
@click.option("--style-image", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="The style the models render.")
@click.option("--model", "models", multiple=True, metavar="NAME|PATH", help="A style model (repeat for several): pretrained, yours, or a file.")
@click.option("--gatys", type=click.IntRange(min=1), metavar="N", help="Also score Gatys et al.: N L-BFGS iterations from each photo (gatys plugin).")
@click.option("--any-style", "any_styles", type=FiniteFloatRange(0.0, 1.0), multiple=True, metavar="STRENGTH",
              help="Also score `stylize --style-image` with the same painting at this --strength (repeat for several).")
@click.option("--preset", default=DEFAULT_PRESET, show_default=True, help="Loss recipe whose taps and per-layer multipliers define the losses (vgg19-relu3-4taps: Gram at relu1_2, relu2_2, relu3_3, relu3_4).")
@size_option(default=512)
@click.option("--style-size", type=click.IntRange(min=SIZE_MIN), help="Longest side of the style image [default: --size].")
@report_options(crop_size=256, crop_unit="pixels")
def eval_style_command(
    data: Path,
    style_image: Path,
    models: tuple[str, ...],
    gatys: int | None,
    any_styles: tuple[float, ...],
    preset: str,
    size: int,
    style_size: int | None,
    output: Path,
    crops: Path | None,
    crop_size: int,
    device: str,
    precision: str,
    force: bool,
) -> None:
    """Compare style models by their style and content losses on a folder of photos.

    The style loss compares Gram matrices with --style-image, the content loss features with
    each photo (taps and per-layer multipliers of --preset; vgg19-relu3-4taps adds relu3_3).
    A distilled model (a student) is also compared with its teacher, which is scored too: the
    distance of their outputs (unit-normalised VGG-19 relu1_2/2_2/3_3 features; 0: identical)
    and PSNR, beside the teacher's own floor (its output on each photo against its output on
    the photo shifted 2 pixels sideways). Prints a table of mean losses and writes
    eval-style-DATA-STYLE.csv and .json to --output.
    """
    from imgperc.api import resize_longest
    from imgperc.inference import select_device
    from imgperc.io import collect_inputs, read_image
    from imgperc.losses import PerceptualLoss, get_preset

    from .anystyle_task import prepare_anystyle
    from .evaluate import add_teachers, evaluate, gatys_method, gatys_optimizer, scoring_recipe, side_by_side
    from .likeness import LikenessMeter
    from .stylize import StyleTransform, choose, load_net

    if not (models or gatys or any_styles):
        raise InputError("say what to score: --model NAME|PATH, --gatys N or --any-style STRENGTH")
    recipe = scoring_recipe(preset)
    choices = {ref: choose(None, ref) for ref in dict.fromkeys(models)}
    teachers = add_teachers(choices)
    optimize = gatys_optimizer() if gatys else None
    files = collect_inputs([data], recursive=True)
    style = resize_longest(read_image(style_image), style_size or size).pixels[None]
    report = ReportFiles(output, f"eval-style-{data.resolve().name}-{style_image.stem}", force, crops)
    report.prepare(f"{path.stem}.{style_image.stem}" for path in files)
    target_device = select_device(device)
    methods: dict[str, Method] = {ref: StyleTransform(load_net(c, device, precision), c.tag) for ref, c in choices.items()}
    scorer = PerceptualLoss(recipe).to(target_device)
    scorer.set_style(style.to(target_device))
    for strength in dict.fromkeys(any_styles):
        name = "any-style" if strength == 1.0 else f"any-style-{strength:g}"
        methods[name] = prepare_anystyle([style_image], style_size=style_size, strength=strength, device=device)
    if optimize is not None:
        methods[f"gatys-{gatys}"] = gatys_method(optimize, get_preset(preset), scorer, style.to(target_device), gatys)
    console = Console(stderr=True)

    def on_image(path: Path, photo: torch.Tensor, outputs: dict[str, torch.Tensor], entry: ImageLosses) -> None:
        if crops is not None:
            panels = [("photo", photo)] + [(f"{m} {entry.losses[m].style:.3g}", out) for m, out in outputs.items()]
            report.save_crop(f"{path.stem}.{style_image.stem}", side_by_side(panels, crop_size))
        if console.is_terminal:
            console.print(f"{entry.image}: " + ", ".join(f"{m} style {l.style:.4g}" for m, l in entry.losses.items()))

    meter = LikenessMeter().to(target_device) if teachers else None
    result = evaluate(files, methods, scorer, size=size, data=data, style_image=style_image, device=target_device,
                      teachers=teachers, meter=meter, on_image=on_image)
    print_table(_table(result))
    report.write(result.to_csv(), result.to_json())
