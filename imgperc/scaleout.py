"""Scale-out inference: ``torchrun --nproc-per-node N -m imgperc stylize|upscale|video ...``.

torchrun starts N copies of the command and tells each which one it is (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``). Every copy builds the same input list and checks every output
before any is written; copy r then takes inputs r, r+N, r+2N, ... and runs on ``cuda:LOCAL_RANK``
where there are GPUs (the CPU's cores are shared out otherwise); rank 0 alone prints what all
of them wrote, in input order. Without torchrun the same code runs as the one process.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence, TypeVar

import click

from . import settings
from .inference.threads import physical_cores
from .train.runtime import Runtime, start_runtime

T = TypeVar("T")


@contextlib.contextmanager
def processes(device: str) -> Iterator[Runtime]:
    """This process's place among torchrun's (alone without torchrun) while the block runs.

    Joins torch.distributed (gloo on the CPU, nccl on GPUs) and selects ``cuda:LOCAL_RANK``, so
    ``--device auto`` and ``cuda`` mean this process's GPU; processes on one machine's CPU split
    its cores between them unless ``IMGPERC_THREADS`` is set.
    """
    local_world = settings.launch().local_world
    if local_world > 1:
        settings.set_default(settings.ENV_THREADS, max(1, physical_cores() // local_world))
    runtime = start_runtime(device)
    try:
        yield runtime
    finally:
        runtime.close()


def share(items: Sequence[T], runtime: Runtime) -> list[tuple[int, T]]:
    """This process's part of ``items`` with their positions: those at rank, rank + world, ..."""
    return [(index, items[index]) for index in range(runtime.rank, len(items), runtime.world)]


@contextlib.contextmanager
def main_first(runtime: Runtime) -> Iterator[None]:
    """Run the block on rank 0 first, then on the others at once (one download of a model).

    It also means that no process writes before all have passed the checks made before it.
    """
    if not runtime.main:
        runtime.barrier()
    yield
    if runtime.main:
        runtime.barrier()


class Listing:
    """One line per finished input (the file written): a lone process prints each at once; under
    torchrun rank 0 prints every process's lines at the end, in input order, and their count."""

    def __init__(self, runtime: Runtime, *, quiet: bool) -> None:
        self.runtime = runtime
        self.quiet = quiet
        self.lines: list[tuple[int, str]] = []

    def add(self, index: int, line: str) -> None:
        """Report input ``index`` done."""
        if not self.runtime.distributed:
            if not self.quiet:
                click.echo(line)
            return
        self.lines.append((index, line))

    def close(self, items: str) -> None:
        """Gather and print on rank 0 (a no-op without torchrun); ``items`` names what was done."""
        if not self.runtime.distributed:
            return
        gathered = self.runtime.gather(self.lines)
        if self.runtime.main and not self.quiet:
            for _, line in sorted(gathered):
                click.echo(line)
            click.echo(f"{len(gathered)} {items} by {self.runtime.world} processes", err=True)
