"""The options that several commands share, each defined once: its flags, help text and bounds.

A factory returns a `SharedOption`, usable both ways click builds commands::

    @click.command()
    @device_option()
    def command(device): ...

    click.Command("name", params=[device_option().option(), ...])

The bounds are constants here so that anything else taking the same values (a server, a
library call) checks them the same way. Light to import: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from ..choices import DEVICES, PRECISIONS

F = TypeVar("F", bound=Callable[..., Any])

# The smallest longest side (`--size`, `--style-size`) every command accepts: the loss network's
# deepest layers (VGG relu5_x, after four 2x poolings) need 16 pixels for a non-empty feature
# map, so gatys and the evaluations cannot go lower, and one bound serves every command.
SIZE_MIN = 16
TILE_METAVAR = "N|auto|off"

DEVICE_HELP = "Where to run: auto (a CUDA GPU if there is one, else the CPU), cpu or cuda."
PRECISION_HELP = (
    "Compute precision. auto: bf16 on CPUs that compute it natively (AMX or AVX512-BF16), else fp32; "
    "on CUDA, fp32 with TF32 for inference (measured faster than fp16 there) and bf16 for training "
    "(fp16 on GPUs before Ampere)."
)
TILE_HELP = (
    "Run large inputs in overlapping, blended tiles of N input pixels "
    "(auto: only inputs whose work does not fit in memory; off: never)."
)
SIZE_HELP = "Resize so the longest side is N pixels first."
FORCE_HELP = "Overwrite existing output files."
QUIET_HELP = "Print no progress and no summary of the files written."


@dataclass(frozen=True)
class SharedOption:
    """One shared option's declaration: a decorator like ``@click.option``, or `option()`."""

    decls: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __call__(self, function: F) -> F:
        return click.option(*self.decls, **self.attrs)(function)

    def option(self) -> click.Option:
        """The option as a `click.Option`, for a command built from a list of params."""
        return click.Option(list(self.decls), **self.attrs)


def device_option() -> SharedOption:
    """``--device auto|cpu|cuda`` (default auto)."""
    return SharedOption(("--device",), {"type": click.Choice(DEVICES), "default": "auto", "show_default": True, "help": DEVICE_HELP})


def precision_option() -> SharedOption:
    """``--precision auto|fp32|bf16|fp16`` (default auto; `imgperc.precision.resolve` decides)."""
    return SharedOption(
        ("--precision",), {"type": click.Choice(PRECISIONS), "default": "auto", "show_default": True, "help": PRECISION_HELP}
    )


def tile_option() -> SharedOption:
    """``--tile N|auto|off`` (default auto; `imgperc.inference.tiling.parse_tile` checks it)."""
    return SharedOption(("--tile",), {"metavar": TILE_METAVAR, "default": "auto", "show_default": True, "help": TILE_HELP})


def size_option(default: int | None = None) -> SharedOption:
    """``--size N``, at least `SIZE_MIN`: the longest side to resize to (``None``: keep the size)."""
    attrs: dict[str, Any] = {"type": click.IntRange(min=SIZE_MIN), "metavar": "N", "help": SIZE_HELP}
    if default is not None:
        attrs.update(default=default, show_default=True)
    return SharedOption(("--size",), attrs)


def output_option(help: str, *, file_okay: bool = True, dir_okay: bool = True, **attrs: Any) -> SharedOption:
    """``-o/--output PATH``; ``help`` says what is written there (a file, a folder, either).

    ``attrs`` go to click as they are (``required``, ``default``, ``show_default``).
    """
    path = click.Path(file_okay=file_okay, dir_okay=dir_okay, path_type=Path)
    return SharedOption(("-o", "--output"), {"type": path, "help": help, **attrs})


def force_option() -> SharedOption:
    """``--force``: overwrite existing outputs (without it, an existing output is an error)."""
    return SharedOption(("--force",), {"is_flag": True, "help": FORCE_HELP})


def quiet_option() -> SharedOption:
    """``-q/--quiet``: no progress and no summary."""
    return SharedOption(("-q", "--quiet"), {"is_flag": True, "help": QUIET_HELP})
