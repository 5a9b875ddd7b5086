"""Where and how a run computes: device, torch.distributed, mixed precision, stop signals."""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist

from .. import settings
from ..errors import InputError
from ..inference import select_device
from ..precision import DTYPES


@dataclass
class Runtime:
    """This process's place in the run: device, rank and world size (1 without torchrun)."""

    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """Only the main process (rank 0) writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def mean(self, values: list[float]) -> list[float]:
        """Average ``values`` over all processes."""
        if not self.distributed:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return (tensor / self.world).tolist()

    def any(self, flag: bool) -> bool:
        """True on every process if it is true on any."""
        if not self.distributed:
            return flag
        tensor = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())

    def gather(self, items: list[Any]) -> list[Any]:
        """Every process's ``items``, concatenated (on every process)."""
        if not self.distributed:
            return items
        parts: list[list[Any] | None] = [None] * self.world
        dist.all_gather_object(parts, items)
        return [item for part in parts for item in (part or [])]

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def start_runtime(device: str) -> Runtime:
    """The runtime for ``--device``; joins torch.distributed when started by torchrun.

    torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; the backend is nccl on CUDA, gloo on CPU.
    """
    target = select_device(device)
    world, rank, local, _ = settings.launch()
    if world <= 1:
        return Runtime(target)
    if target.type == "cuda":
        if local >= torch.cuda.device_count():
            raise InputError(f"process {local} of this machine has no GPU (only {torch.cuda.device_count()})")
        target = torch.device("cuda", local)
        torch.cuda.set_device(target)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if target.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Runtime(target, rank, world)


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast context for a precision `imgperc.precision.resolve` gave (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])


class StopSignals:
    """SIGINT/SIGTERM ask the loop to stop after the current iteration (and save).

    A second Ctrl-C interrupts at once.
    """

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    @contextlib.contextmanager
    def installed(self) -> Iterator["StopSignals"]:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)


def ignore_interrupts(worker_id: int) -> None:
    """DataLoader worker init: Ctrl-C is for the training process, which stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
