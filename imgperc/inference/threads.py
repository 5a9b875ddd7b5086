"""CPU threads: one per physical core that other work is not using right now.

oneDNN and the compiled kernels split every layer across OpenMP threads that meet at a barrier
after it, so one thread that shares its core with another busy process stalls all the others:
on a machine that other work keeps busy, fewer threads run the net faster. Busy means CPU time
of normal priority in the last tenth of a second; ``nice``d processes do not count (the
scheduler gives our threads precedence over them). ``IMGPERC_THREADS`` overrides the choice.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

ENV_THREADS = "IMGPERC_THREADS"
SAMPLE_S = 0.1
# /proc/stat "cpu" columns: user nice system idle iowait irq softirq steal
_BUSY = (0, 2, 5, 6, 7)


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


def _cpu_times() -> list[int]:
    return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


def busy_cores(seconds: float = SAMPLE_S) -> float:
    """How many CPUs other processes of normal priority keep busy, sampled over ``seconds``
    (0 where the kernel does not say)."""
    try:
        before = _cpu_times()
        time.sleep(seconds)
        after = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 0.0
    delta = [b - a for a, b in zip(before, after)]
    total = sum(delta)
    if total <= 0:
        return 0.0
    return sum(delta[i] for i in _BUSY) / total * (os.cpu_count() or 1)


def auto_threads() -> int:
    """``IMGPERC_THREADS`` if set, else the physical cores minus those busy, at least one."""
    override = os.environ.get(ENV_THREADS, "").strip()
    if override:
        try:
            return max(1, int(override))
        except ValueError:
            raise ValueError(f"{ENV_THREADS} must be a whole number, got {override!r}") from None
    return max(1, physical_cores() - round(busy_cores()))


def configure_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads (``auto_threads()`` when None); returns the number set."""
    count = auto_threads() if threads is None else max(1, threads)
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
