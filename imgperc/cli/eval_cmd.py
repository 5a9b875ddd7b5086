"""`imgperc eval TASK`: one benchmark subcommand per evaluator that a plugin registers.

An evaluator is registered through the ``register_evaluators`` hook as a click command (usually
an `imgperc.lazy.LazyCommand`), e.g. the super-resolution plugin's ``sr``.
"""

from __future__ import annotations

import click

from .registry_group import RegistryGroup


class EvaluatorGroup(RegistryGroup):
    """Subcommands come from the ``evaluators`` registry."""

    registry = "evaluators"
    kind = "evaluator"


@click.group("eval", cls=EvaluatorGroup)
def eval_group() -> None:
    """Benchmark models on standard data sets (PSNR, SSIM, ...). One subcommand per task."""
