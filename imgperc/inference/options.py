"""The command-line options that configure the engine, shared by every command that runs a net,
and the ones every `imgperc eval TASK` report shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ..cli.options import device_option, force_option, output_option, precision_option, tile_option


def engine_options() -> tuple[click.Option, click.Option]:
    """``--precision`` and ``--tile`` as click options."""
    return precision_option().option(), tile_option().option()


def report_options(crop_size: int, crop_unit: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate an `imgperc eval` command with ``-o``, ``--crops``, ``--crop-size`` (default
    ``crop_size``, in ``crop_unit``), ``--device``, ``--precision`` and ``--force``."""
    options = (
        output_option("Folder for the CSV and JSON results.", file_okay=False, default=Path("."), show_default=True),
        click.option("--crops", type=click.Path(file_okay=False, path_type=Path), help="Also save a side-by-side crop of every image in this folder."),
        click.option("--crop-size", type=click.IntRange(min=16), default=crop_size, show_default=True, help=f"Side of the crops in {crop_unit}."),
        device_option(),
        precision_option(),
        force_option(),
    )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate
