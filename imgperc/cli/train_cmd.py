"""`imgperc train TASK`: one subcommand per trainer that a plugin registers.

A trainer is registered through the ``register_trainers`` hook as a click command (or an object
whose ``command`` attribute is one); it builds a :class:`imgperc.train.TrainJob` from its
options and hands it to :func:`imgperc.train.train`.
"""

from __future__ import annotations

import click

from .. import plugins
from ..errors import PluginError


def _command(item: object) -> click.Command:
    command = item if isinstance(item, click.Command) else getattr(item, "command", None)
    if not isinstance(command, click.Command):
        raise PluginError(f"trainer {item!r} is neither a click command nor has a .command")
    return command


class TrainerGroup(click.Group):
    """Subcommands come from the ``trainers`` registry; an interrupted run exits with 130."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(plugins.registry("trainers"))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        registry = plugins.registry("trainers")
        return _command(registry.get(cmd_name)) if cmd_name in registry else None

    def invoke(self, ctx: click.Context):
        from ..train import TrainingInterrupted

        try:
            return super().invoke(ctx)
        except TrainingInterrupted as exc:
            click.echo(f"Stopped ({exc})", err=True)
            raise KeyboardInterrupt from None  # the root command exits with 130


@click.group("train", cls=TrainerGroup)
def train_group() -> None:
    """Train a transform net: style transfer, super-resolution, or any plugin's task.

    Runs resume from their run folder's latest checkpoint; Ctrl-C saves one and stops.
    Multi-process: torchrun --nproc_per_node N -m imgperc train TASK ...
    """
