"""The command-line options that configure the engine, shared by every command that runs a net,
and the ones every `imgperc eval TASK` report shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ..choices import DEVICES, PRECISIONS

PRECISION_HELP = (
    "Compute precision. auto: bf16 on CPUs that compute it natively (AMX or AVX512-BF16), "
    "else fp32 (on CUDA TF32, measured faster than fp16 there)."
)


def engine_options(tile_help: str) -> tuple[click.Option, click.Option]:
    """``--precision`` and ``--tile`` (whose unit ``tile_help`` explains) as click options."""
    return (
        click.Option(["--precision"], type=click.Choice(PRECISIONS), default="auto", show_default=True, help=PRECISION_HELP),
        click.Option(["--tile"], metavar="N|auto|off", default="auto", show_default=True, help=tile_help),
    )


def report_options(crop_size: int, crop_unit: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate an `imgperc eval` command with ``-o``, ``--crops``, ``--crop-size`` (default
    ``crop_size``, in ``crop_unit``), ``--device``, ``--precision`` and ``--force``."""
    options = (
        click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
                     help="Folder for the CSV and JSON results."),
        click.option("--crops", type=click.Path(file_okay=False, path_type=Path), help="Also save a side-by-side crop of every image in this folder."),
        click.option("--crop-size", type=click.IntRange(min=16), default=crop_size, show_default=True, help=f"Side of the crops in {crop_unit}."),
        click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="Where to run the nets."),
        click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True, help=PRECISION_HELP),
        click.option("--force", is_flag=True, help="Overwrite existing result files and crops."),
    )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate
