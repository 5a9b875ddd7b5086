"""Hook implementations of the style plugin (entry point ``style``).

Light on purpose: everything is registered by name with a `Deferred` entry or a `LazyCommand`,
so `imgperc --help` and `imgperc plugins` never import torch; the modules load when used.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click

from imgperc import hookimpl
from imgperc.hookspecs import Register
from imgperc.hub.builtin import WeightsFolder, register_weights
from imgperc.lazy import Deferred, LazyCommand

from .anystyle_task import DECODER_TASK
from .ml5_styles import STYLES, model_spec

TASK = "style"
# transform-net name -> its builder
NETS = {"johnson": "imgperc_style.nets:johnson", "ml5": "imgperc_style.ml5:ml5", "light": "imgperc_style.light:light",
        "wct-decoder": "imgperc_style.decoder:wct_decoder"}
# loss-recipe name -> the recipe (scoring presets of `imgperc eval style`)
RECIPES = {"vgg19-relu3-4taps": "imgperc_style.eval_cmd:FOUR_TAPS_RECIPE"}
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # the built-in (fast) styles (see .builtin)
DECODERS_DIR = Path(__file__).resolve().parent / "decoders"  # the decoders of --style-image (see .anystyle_task)


def weights_folder(folder: Path | None = None) -> WeightsFolder:
    """The built-in styles: ``WEIGHTS_DIR`` (or ``folder``), described and shipped by `.builtin`."""
    return WeightsFolder(TASK, folder or WEIGHTS_DIR, "style", "imgperc_style.builtin:builtin_spec",
                         ship_metadata="imgperc_style.builtin:ship_metadata", scores="imgperc_style.builtin:scores")


def decoders_folder(folder: Path | None = None) -> WeightsFolder:
    """The decoders that `--style-image` uses: ``DECODERS_DIR`` (or ``folder``)."""
    return WeightsFolder(DECODER_TASK, folder or DECODERS_DIR, "any-style decoder", "imgperc_style.anystyle_task:decoder_spec")


@hookimpl
def register_transform_nets(register: Register) -> None:
    for name, builder in NETS.items():
        register(name, Deferred(builder))


@hookimpl
def register_models(register: Register) -> None:
    for style_id in STYLES:
        register(style_id, Deferred(partial(model_spec, style_id)))
    register_weights(register, weights_folder())
    register_weights(register, decoders_folder())


@hookimpl
def register_loss_terms(register: Register) -> None:
    register("likeness", Deferred("imgperc_style.likeness:LikenessTerm"))


@hookimpl
def register_loss_recipes(register: Register) -> None:
    for name, recipe in RECIPES.items():
        register(name, Deferred(recipe))


@hookimpl
def register_image_tasks(register: Register) -> None:
    register(TASK, Deferred("imgperc_style.cli:stylize_command.task"))


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(LazyCommand("stylize", "imgperc_style.cli:stylize_command", "Apply a style to images (files or folders)."))
    cli.add_command(LazyCommand("distill", "imgperc_style.distill_cmd:distill_command", "Train a fast student net to reproduce a style model (knowledge distillation)."))


@hookimpl
def register_trainers(register: Register) -> None:
    register(TASK, LazyCommand(TASK, "imgperc_style.train_cmd:train_style_command", "Train a fast style-transfer net on a folder of content images (Johnson et al., 2016)."))
    register("decoder", LazyCommand("decoder", "imgperc_style.train_decoder_cmd:train_decoder_command", "Train a decoder for any-style transfer (--style-image) on a folder of photos."))


@hookimpl
def register_evaluators(register: Register) -> None:
    register(TASK, LazyCommand(TASK, "imgperc_style.eval_cmd:eval_style_command", "Compare style models by their style and content losses on a folder of photos."))
