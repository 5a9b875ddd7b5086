"""`imgperc eval TASK`: one benchmark subcommand per evaluator that a plugin registers.

An evaluator is registered through the ``register_evaluators`` hook as a click command (or an
object whose ``command`` attribute is one), e.g. the super-resolution plugin's ``sr``.
"""

from __future__ import annotations

import click

from .. import plugins
from ..errors import PluginError


def _command(item: object) -> click.Command:
    command = item if isinstance(item, click.Command) else getattr(item, "command", None)
    if not isinstance(command, click.Command):
        raise PluginError(f"evaluator {item!r} is neither a click command nor has a .command")
    return command


class EvaluatorGroup(click.Group):
    """Subcommands come from the ``evaluators`` registry."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(plugins.registry("evaluators"))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        registry = plugins.registry("evaluators")
        return _command(registry.get(cmd_name)) if cmd_name in registry else None


@click.group("eval", cls=EvaluatorGroup)
def eval_group() -> None:
    """Benchmark models on standard data sets (PSNR, SSIM, ...), one subcommand per task."""
