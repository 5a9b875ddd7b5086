"""Throughput measurements of transform nets through the engine (`imgperc bench`).

Each size is timed as the median of several runs after warm-up; the FLOP count is the net's own
(convolutions, at the padded size it really runs at), so GFLOP/s says how close the engine gets
to the hardware. The baseline is the same net in plain fp32 eager PyTorch (contiguous layout,
PyTorch's default threads), timed in the same process, interleaved with the engine's runs.
"""

from __future__ import annotations

import copy
import os
import platform
import resource
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .device import describe
from .engine import Engine
from .padding import padding, run_padded
from .threads import physical_cores

DEFAULT_THREADS = torch.get_num_threads()  # what plain PyTorch uses in this process


@dataclass
class Result:
    """One size: timings in seconds per batch, rates per image."""

    size: int
    batch: int
    padded: list[int]
    precision: str
    compiled: str
    threads: int | None
    first_s: float
    runs_s: list[float]
    gflop_per_image: float
    peak_rss_mib: float
    peak_device_mib: float | None = None
    baseline_runs_s: list[float] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def ms_per_image(self) -> float:
        return 1000 * statistics.median(self.runs_s) / self.batch

    @property
    def images_per_s(self) -> float:
        return self.batch / statistics.median(self.runs_s)

    @property
    def gflops(self) -> float:
        return self.gflop_per_image * self.images_per_s

    @property
    def baseline_ms_per_image(self) -> float | None:
        return 1000 * statistics.median(self.baseline_runs_s) / self.batch if self.baseline_runs_s else None

    @property
    def speedup(self) -> float | None:
        base = self.baseline_ms_per_image
        return base / self.ms_per_image if base else None

    def to_dict(self) -> dict:
        data = asdict(self)
        for name in ("ms_per_image", "images_per_s", "gflops", "baseline_ms_per_image", "speedup"):
            data[name] = getattr(self, name)
        return data


def net_gflop(net: nn.Module, shape: tuple[int, ...]) -> float:
    """GFLOP of one forward pass of ``net`` on one input of ``shape`` (counted on meta tensors)."""
    meta = copy.deepcopy(net).to("meta")
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        meta(torch.empty(1, *shape[1:], device="meta"))
    return counter.get_total_flops() / 1e9


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if platform.system() == "Darwin" else 1)


def machine() -> dict:
    """What the figures were measured on."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return {
        "device": describe(device),
        "physical_cores": physical_cores(),
        "torch": torch.__version__,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "default_threads": DEFAULT_THREADS,
    }


def _timed(fn: Callable[[], torch.Tensor], device: torch.device) -> float:
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def measure(
    net: nn.Module,
    *,
    size: int,
    batch: int = 1,
    pad: int | None = None,
    device: str = "auto",
    precision: str = "auto",
    compile: str = "always",
    threads: int | None = None,
    runs: int = 5,
    warmup: int = 1,
    baseline: bool = True,
) -> Result:
    """Time ``net`` on random ``batch`` x 3 x ``size`` x ``size`` inputs through the engine,
    reflection-padded by ``pad`` (default: the net's own)."""
    plain = copy.deepcopy(net) if baseline else None
    engine = Engine(net, device=device, precision=precision, tile=None, compile=compile, threads=threads, batch_size=batch)
    target = engine.device
    multiple = engine.multiple
    pad = engine.reflection_pad if pad is None else pad
    top, bottom, left, right = padding(size, size, pad, multiple)
    padded = [size + top + bottom, size + left + right]
    gflop = net_gflop(plain if plain is not None else engine.net, (batch, 3, *padded))
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0)).to(target)
    if target.type == "cuda":
        torch.cuda.reset_peak_memory_stats(target)
    first = _timed(lambda: engine.run(x, pad=pad), target)
    for _ in range(warmup):
        engine.run(x, pad=pad)
    times, base_times = [], []
    if plain is not None:
        plain = plain.eval().to(target)
    for _ in range(runs):
        times.append(_timed(lambda: engine.run(x, pad=pad), target))
        if plain is not None:
            torch.set_num_threads(DEFAULT_THREADS)
            try:
                plain_run = lambda: run_padded(plain, x, pad=pad, batch_size=batch, multiple=multiple, device=target)  # noqa: E731
                base_times.append(_timed(plain_run, target))
            finally:
                if engine.threads:
                    torch.set_num_threads(engine.threads)
    compiled = "eager"
    if any(e.startswith("compiled") for e in engine.events):
        compiled = "compiled"
    elif any(e.startswith("loaded") for e in engine.events):
        compiled = "cached"
    return Result(
        size=size,
        batch=batch,
        padded=padded,
        precision=engine.precision,
        compiled=compiled,
        threads=engine.threads,
        first_s=first,
        runs_s=times,
        gflop_per_image=gflop,
        peak_rss_mib=peak_rss_mib(),
        peak_device_mib=torch.cuda.max_memory_allocated(target) / 2**20 if target.type == "cuda" else None,
        baseline_runs_s=base_times,
        events=list(engine.events),
    )
