"""CPU threads: one per physical core this process may run on, or ``IMGPERC_THREADS``.

The choice is deterministic, as PyTorch's and oneDNN's own defaults are: hyper-threads of one
core count once (two threads on one core's shared units only slow each other down at every
layer's barrier). It does not look at how busy the machine is: a sample would count this
process's own threads, change from run to run, and give a compiled package per thread count
(`imgperc.inference.graph` keys packages by it). On a machine that other work keeps busy, set
``IMGPERC_THREADS`` (a positive whole number) to use fewer.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .. import settings


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
    """``IMGPERC_THREADS`` if set (a positive whole number, else InputError), else the physical cores."""
    return settings.threads() or physical_cores()


def configure_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads (``auto_threads()`` when None); returns the number set."""
    count = auto_threads() if threads is None else max(1, threads)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
