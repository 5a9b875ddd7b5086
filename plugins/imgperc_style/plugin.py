"""Hook implementations of the style plugin (entry point ``style``).

Light on purpose: everything is registered by name with a `Deferred` entry or a `LazyCommand`,
so `imgperc --help` and `imgperc plugins` never import torch; the modules load when used.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import click

from imgperc import hookimpl
from imgperc.hookspecs import Register
from imgperc.lazy import Deferred, LazyCommand
from imgperc.tasks import BenchNet, ImageTask

from .ml5_styles import STYLES

TASK = "style"
DEFAULT_STYLE = "muse"
# transform-net name -> its builder
NETS = {"johnson": "imgperc_style.nets:johnson", "ml5": "imgperc_style.ml5:ml5", "light": "imgperc_style.light:light"}


def _ml5_spec(style_id: str):
    from .ml5 import model_specs

    return next(spec for spec in model_specs() if spec.id == style_id)


def _style_task() -> ImageTask:
    from imgperc.inference import DEFAULT_PAD

    from .cli import style_task

    return dataclasses.replace(style_task(), default_model=DEFAULT_STYLE, bench=BenchNet("ml5", pad=DEFAULT_PAD))


@hookimpl
def register_transform_nets(register: Register) -> None:
    for name, builder in NETS.items():
        register(name, Deferred(builder))


@hookimpl
def register_models(register: Register) -> None:
    for style_id in STYLES:
        register(style_id, Deferred(partial(_ml5_spec, style_id)))


@hookimpl
def register_image_tasks(register: Register) -> None:
    register(TASK, Deferred(_style_task))


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(LazyCommand("stylize", "imgperc_style.cli:stylize_command", "Apply a style to images (files or folders)."))
    cli.add_command(LazyCommand("distill", "imgperc_style.distill:distill_command", "Train a fast student net to reproduce a style model (knowledge distillation)."))


@hookimpl
def register_trainers(register: Register) -> None:
    register(TASK, LazyCommand(TASK, "imgperc_style.train:train_style_command", "Train a fast style-transfer net on a folder of content images (Johnson et al., 2016)."))


@hookimpl
def register_evaluators(register: Register) -> None:
    register(TASK, LazyCommand(TASK, "imgperc_style.evaluate:eval_style_command", "Compare style models by their style and content losses on a folder of photos."))
