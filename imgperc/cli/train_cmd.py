"""`imgperc train TASK`: one subcommand per trainer that a plugin registers.

A trainer is registered through the ``register_trainers`` hook as a click command (usually an
`imgperc.lazy.LazyCommand`); it builds a :class:`imgperc.train.TrainJob` from its options and
hands it to :func:`imgperc.train.train`.
"""

from __future__ import annotations

import click

from .registry_group import RegistryGroup


class TrainerGroup(RegistryGroup):
    """Subcommands come from the ``trainers`` registry (an interrupted run exits with 130:
    `imgperc.cli.main` handles `imgperc.errors.Stopped` for every command)."""

    registry = "trainers"
    kind = "trainer"


@click.group("train", cls=TrainerGroup)
def train_group() -> None:
    """Train a net: style transfer, super-resolution, or plugin tasks.

    Runs resume from their run folder's latest checkpoint; Ctrl-C saves one and stops.
    Multi-process: torchrun --nproc-per-node N -m imgperc train TASK ...
    """
