"""The command-line options that configure the engine, shared by every command that runs a net."""

from __future__ import annotations

import click

from .precision import PRECISIONS

PRECISION_HELP = "Compute precision: auto is bf16 on CPUs with native bf16, else fp32 (TF32 on CUDA, measured faster than fp16 there)."


def engine_options(tile_help: str) -> tuple[click.Option, click.Option]:
    """``--precision`` and ``--tile`` (whose unit ``tile_help`` explains) as click options."""
    return (
        click.Option(["--precision"], type=click.Choice(PRECISIONS), default="auto", show_default=True, help=PRECISION_HELP),
        click.Option(["--tile"], metavar="N|auto|off", default="auto", show_default=True, help=tile_help),
    )
