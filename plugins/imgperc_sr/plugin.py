"""Hook implementations of the super-resolution plugin (entry point ``sr``).

Light on purpose: everything is registered by name with a `Deferred` entry or a `LazyCommand`,
so `imgperc --help` and `imgperc plugins` never import torch; the modules load when used.
"""

from __future__ import annotations

from pathlib import Path

import click

from imgperc import hookimpl
from imgperc.hookspecs import Register
from imgperc.hub.builtin import WeightsFolder, register_weights
from imgperc.lazy import Deferred, LazyCommand

TASK = "sr"
# transform-net name -> its builder; add a net here
NETS = {
    "sr-johnson": "imgperc_sr.nets:sr_johnson",
    "sr-shuffle": "imgperc_sr.fastnet:sr_shuffle",
}
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # the built-in models (see .models)


def weights_folder(folder: Path | None = None) -> WeightsFolder:
    """The built-in models: ``WEIGHTS_DIR`` (or ``folder``), described by `.models`."""
    return WeightsFolder(TASK, folder or WEIGHTS_DIR, "super-resolution model", "imgperc_sr.models:builtin_spec",
                         scores="imgperc_sr.models:scores")


@hookimpl
def register_transform_nets(register: Register) -> None:
    for name, builder in NETS.items():
        register(name, Deferred(builder))


@hookimpl
def register_models(register: Register) -> None:
    register_weights(register, weights_folder())


@hookimpl
def register_image_tasks(register: Register) -> None:
    register(TASK, Deferred("imgperc_sr.cli:sr_image_task"))


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(LazyCommand("upscale", "imgperc_sr.cli:upscale_command", "Super-resolve images x2, x4 or x8, or to any scale (files or folders)."))


@hookimpl
def register_trainers(register: Register) -> None:
    register(TASK, LazyCommand(TASK, "imgperc_sr.train_cmd:train_sr_command", "Train a super-resolution net (Johnson et al., 2016) on a folder of images."))


@hookimpl
def register_evaluators(register: Register) -> None:
    register(TASK, LazyCommand(TASK, "imgperc_sr.eval_cmd:eval_sr_command", "Benchmark super-resolution on a folder of ground-truth images (Set5, Set14, ...)."))
