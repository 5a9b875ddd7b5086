"""`imgperc gatys`: the optimisation baseline, one content image and one style image.

Light to import: torch, the images and the loss load when the command runs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from imgperc.atomic import atomic_path, check_writable
from imgperc.cli.options import SIZE_MIN, device_option, force_option, output_option, quiet_option, size_option
from imgperc.errors import InputError
from imgperc.limits import FiniteFloatRange

from .gatys import DEFAULT_LR, INITS, OPTIMIZERS, Step, initial_image, optimize

if TYPE_CHECKING:
    from imgperc.io import Image

LOG_FORMATS = (".csv", ".json")


def _paths(content: Path, output: Path | None, log: Path | None, save_every: int | None, iterations: int, force: bool):
    """Output, metadata sidecar, log and intermediate image paths, all checked before any work."""
    from imgperc.io import output_paths

    (target,) = output_paths([content], tag="gatys", output=output)
    sidecar = target.with_name(target.name + ".json")
    snapshots = {}
    if save_every:
        for i in range(save_every, iterations, save_every):
            snapshots[i] = target.with_name(f"{target.stem}.{i:04d}{target.suffix}")
    if log is not None and log.suffix.lower() not in LOG_FORMATS:
        raise InputError(f"{log}: the log must be a .csv or .json file")
    for path in (target, sidecar, *snapshots.values(), *([log] if log else [])):
        check_writable(path, overwrite=force)
    return target, sidecar, snapshots


def _load(path: Path, size: int) -> Image:
    from imgperc.api import resize_longest
    from imgperc.io import read_image

    return resize_longest(read_image(path), size)


def _term_text(values: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in values.items())


def _write_log(path: Path, rows: list[dict[str, Any]], recipe: dict[str, Any], force: bool) -> None:
    if path.suffix.lower() == ".json":
        text = json.dumps({"recipe": recipe, "objective": rows}, indent=1)
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    with atomic_path(path, overwrite=force) as tmp:
        tmp.write_text(text)


@click.command("gatys")
@click.argument("content", type=click.Path(path_type=Path))
@click.option("--style", "style", required=True, type=click.Path(path_type=Path), help="Style image.")
@output_option("Output image [default: CONTENT.gatys.EXT beside it].")
@click.option("--iterations", type=click.IntRange(min=1), default=500, show_default=True, help="Optimisation steps of the image (L-BFGS or Adam).")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="lbfgs", show_default=True, help="Projected L-BFGS or Adam.")
@click.option("--lr", type=FiniteFloatRange(min=0, min_open=True), help="Step size [default: 1.0 for lbfgs, 0.02 for adam].")
@click.option("--init", type=click.Choice(INITS), default="noise", show_default=True, help="Start from white noise or the content.")
@size_option(default=512)
@click.option("--style-size", type=click.IntRange(min=SIZE_MIN), help="Longest side of the style image [default: --size].")
@click.option("--preset", metavar="NAME", help="Loss recipe preset [default: paper, or the network's own].")
@click.option("--loss-network", metavar="NAME", help="Loss network (vgg16, vgg19, ...).")
@click.option("--content-weight", type=FiniteFloatRange(min=0), metavar="W", help="Override the recipe's content weight.")
@click.option("--style-weight", type=FiniteFloatRange(min=0), metavar="W", help="Override the recipe's style weight.")
@click.option("--tv-weight", type=FiniteFloatRange(min=0), metavar="W", help="Override the recipe's total-variation weight.")
@click.option("--save-every", type=click.IntRange(min=1), metavar="N", help="Also save the image every N iterations.")
@click.option("--log", type=click.Path(path_type=Path), metavar="FILE", help="Write the objective per iteration to FILE: a .csv or .json file.")
@click.option("--seed", type=int, help="Seed for the noise initialisation.")
@device_option()
@force_option()
@quiet_option()
@click.pass_context
def gatys_command(
    ctx: click.Context,
    content: Path,
    style: Path,
    output: Path | None,
    iterations: int,
    optimizer: str,
    lr: float | None,
    init: str,
    size: int,
    style_size: int | None,
    preset: str | None,
    loss_network: str | None,
    content_weight: float | None,
    style_weight: float | None,
    tv_weight: float | None,
    save_every: int | None,
    log: Path | None,
    seed: int | None,
    device: str,
    force: bool,
    quiet: bool,
) -> None:
    """Optimise an image to match CONTENT's features and STYLE's Gram matrices (Gatys et al.).

    The baseline of Johnson et al.: projected L-BFGS on their Equation 5. The resolved loss
    recipe goes into OUTPUT.json beside the output (and is printed with -v).
    """
    import torch

    from imgperc.inference import select_device
    from imgperc.io import write_image
    from imgperc.losses import PerceptualLoss, resolve_recipe, with_available_network

    target, sidecar, snapshots = _paths(content, output, log, save_every, iterations, force)
    on = select_device(device)
    content_image = _load(content, size)
    style_image = _load(style, style_size or size)
    recipe = with_available_network(
        lambda network: resolve_recipe(
            preset, network=network or loss_network, content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight
        ),
        fallback=preset is None and loss_network is None,
    )
    verbose = (ctx.find_root().obj or {}).get("verbose", 0)
    if verbose:
        click.echo(f"loss recipe: {recipe.to_json()}", err=True)
    loss = PerceptualLoss(recipe).to(on)
    content_pixels = content_image.pixels[None].to(on)
    loss.set_content(content_pixels)
    loss.set_style(style_image.pixels[None].to(on))
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    start = initial_image(content_pixels, init, generator)

    rows: list[dict[str, Any]] = []
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("gatys"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[terms]}"),
        console=console,
        disable=quiet or not console.is_terminal,
    )

    def on_step(step: Step) -> None:
        rows.append({"iteration": step.iteration, "seconds": round(step.seconds, 4), **step.values})
        progress.update(task, completed=step.iteration, terms=_term_text(step.values))
        if step.iteration in snapshots:
            write_image(snapshots[step.iteration], content_image.with_pixels(step.image[0].cpu()), overwrite=force)

    with progress:
        task = progress.add_task("gatys", total=iterations, terms="")
        result = optimize(loss, start, iterations, optimizer=optimizer, lr=lr, on_step=on_step)

    seconds = rows[-1]["seconds"]
    write_image(target, content_image.with_pixels(result[0].cpu()), overwrite=force)
    meta = {
        "command": "gatys",
        "content": str(content),
        "style": str(style),
        "size": list(content_image.size),
        "style_size": list(style_image.size),
        "iterations": iterations,
        "optimizer": optimizer,
        "lr": lr if lr is not None else DEFAULT_LR[optimizer],
        "init": init,
        "seed": seed,
        "recipe": recipe.to_dict(),
        "objective_start": rows[0]["total"],
        "objective_end": rows[-1]["total"],
        "seconds_per_iteration": seconds / iterations,
    }
    with atomic_path(sidecar, overwrite=force) as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    if log is not None:
        _write_log(log, rows, recipe.to_dict(), force)
    if not quiet:
        click.echo(
            f"{iterations} iterations in {seconds:.1f} s ({seconds / iterations:.3f} s/iteration); "
            f"objective {rows[0]['total']:.4g} -> {rows[-1]['total']:.4g}",
            err=True,
        )
        click.echo(str(target))
