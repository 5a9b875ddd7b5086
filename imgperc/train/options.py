"""The options every `imgperc train TASK` command shares, and the settings they make."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import click

from ..cli.options import device_option, precision_option
from ..errors import InputError
from ..limits import FINITE_FLOAT

LR_SCHEDULES = ("constant", "cosine")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class TrainSettings:
    """How to train, whatever the task."""

    out: Path
    iterations: int
    batch_size: int = 4
    lr: float = 1e-3
    lr_schedule: str = "constant"
    init: Path | None = None
    seed: int = 0
    precision: str = "auto"
    device: str = "auto"
    checkpoint_every: int = 1000
    preview_every: int = 500
    log_every: int = 10
    workers: int = 1
    resume: bool = False
    force: bool = False
    name: str | None = None

    def validate(self) -> "TrainSettings":
        positive = {"--iterations": self.iterations, "--batch-size": self.batch_size, "--log-every": self.log_every}
        for option, value in positive.items():
            if value < 1:
                raise InputError(f"{option} must be at least 1, got {value}")
        for option, value in {"--checkpoint-every": self.checkpoint_every, "--preview-every": self.preview_every, "--workers": self.workers}.items():
            if value < 0:
                raise InputError(f"{option} must be 0 or more, got {value}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if not self.lr > 0:
            raise InputError(f"--lr must be positive, got {self.lr}")
        if self.name is not None and not NAME_PATTERN.match(self.name):
            raise InputError(f"--name '{self.name}' must be letters, digits, '.', '_' or '-' (at most 64)")
        return self


def common_options(*, iterations: int, batch_size: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a trainer's click command with the shared options (task-specific defaults)."""
    options = [
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Run folder: checkpoints, log, previews, the result (default: runs/TASK-NAME)."),
        click.option("--name", default=None, help="Install the result as a user model under this name."),
        click.option("--iterations", type=int, default=iterations, show_default=True, help="Training iterations (batches)."),
        click.option("--batch-size", type=int, default=batch_size, show_default=True, help="Images per batch, per process."),
        click.option("--lr", type=FINITE_FLOAT, default=1e-3, show_default=True, help="Adam learning rate."),
        click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES), default="constant", show_default=True,
                     help="cosine: decay the learning rate to zero over --iterations (half a cosine period)."),
        click.option("--init", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                     help="Start from the weights of this model file (same architecture and config), e.g. to fine-tune."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the net's initialisation and the data order."),
        precision_option(),
        device_option(),
        click.option("--checkpoint-every", type=int, default=1000, show_default=True, help="Checkpoint interval (0: only at the end and on interrupts)."),
        click.option("--preview-every", type=int, default=500, show_default=True, help="Preview interval (0: none but the final one)."),
        click.option("--log-every", type=int, default=10, show_default=True, help="Log interval."),
        click.option("--workers", type=int, default=1, show_default=True, help="Data-loading worker processes (0: load in the training process)."),
        click.option("--resume", is_flag=True, help="Require a checkpoint in the run folder and continue from it (a run folder also resumes without this flag)."),
        click.option("--force", is_flag=True, help="Start over in a run folder that holds an earlier run; replace an installed model of the same --name."),
    ]

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


SETTING_KEYS = ("out", "name", "iterations", "batch_size", "lr", "lr_schedule", "init", "seed", "precision", "device", "checkpoint_every",
                "preview_every", "log_every", "workers", "resume", "force")


def split_settings(values: dict[str, Any], default_out: str) -> tuple[TrainSettings, dict[str, Any]]:
    """Separate the shared options (as settings) from the task's own options."""
    shared = {k: values.pop(k) for k in SETTING_KEYS}
    if shared["out"] is None:
        shared["out"] = Path("runs") / default_out
    return TrainSettings(**shared).validate(), values
