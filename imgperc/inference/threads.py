"""CPU threads: one per physical core that is not already busy.

oneDNN and the compiled kernels split every layer across OpenMP threads that meet at a barrier
after it, so one thread that shares its core with another process stalls all the others: on a
machine that other work keeps busy, fewer threads run the net faster. ``IMGPERC_THREADS``
overrides the choice.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

ENV_THREADS = "IMGPERC_THREADS"


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-threads of one core count once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add((topology.joinpath("physical_package_id").read_text().strip(), topology.joinpath("core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


def auto_threads() -> int:
    """``IMGPERC_THREADS`` if set, else the physical cores minus those other work keeps busy
    (the 1-minute load average, rounded), at least one."""
    override = os.environ.get(ENV_THREADS, "").strip()
    if override:
        try:
            return max(1, int(override))
        except ValueError:
            raise ValueError(f"{ENV_THREADS} must be a whole number, got {override!r}") from None
    cores = physical_cores()
    try:
        busy = round(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, cores - busy)


def configure_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads (``auto_threads()`` when None); returns the number set."""
    count = auto_threads() if threads is None else max(1, threads)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
