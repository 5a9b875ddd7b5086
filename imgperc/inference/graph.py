"""Compiled nets: AOTInductor packages, one per (architecture, input shape, precision, threads),
kept on disk so that a later run loads one in a fraction of a second instead of compiling.

The net is exported with its weights as inputs, so one package serves every net of the same
architecture (the nine ml5 styles share one). Before compiling, the graph gets two rewrites:
the convolutions `precision.reduced` picks run in bf16/fp16 with fp32 results, and a large
convolution with few output channels (the output layer: 32 -> 3 channels, 9x9) becomes one
convolution per kernel row into ``out x rows`` channels plus a shifted sum, which oneDNN runs
about five times as fast. Inductor then fuses the padding, instance norms, activations and sums
around the oneDNN convolutions, in channels-last layout.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from .. import settings
from ..atomic import atomic_path
from ..precision import NAMES
from .precision import low_precision_convolution, reduced

aten = torch.ops.aten
ROW_SPLIT_MIN_KERNEL = 5
ROW_SPLIT_MAX_OUT = 4
DEFAULT_COMPILE_SECONDS = 60.0
_TIMES = "compile-seconds.json"


def cache_dir() -> Path:
    """Where compiled packages live: ``$IMGPERC_HOME/cache/engine``."""
    return settings.home() / "cache" / "engine"


def _sources(names: set[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode())
        try:
            digest.update(inspect.getsource(sys.modules[name]).encode())
        except (KeyError, OSError, TypeError):
            pass
    return digest.hexdigest()


@functools.cache
def engine_version() -> str:
    """Hash of the code that shapes compiled graphs (a change invalidates every package)."""
    return _sources({__name__, f"{__package__}.precision"})


def tensor_names(net: nn.Module) -> list[str]:
    """Parameters then buffers: the extra inputs of an exported net, in order."""
    return [name for name, _ in net.named_parameters()] + [name for name, _ in net.named_buffers()]


def package_key(net: nn.Module, example: torch.Tensor, dtype: torch.dtype) -> str:
    """Identifies a compiled package: code, architecture, tensor shapes, input, dtype, threads."""
    state = dict(net.named_parameters()) | dict(net.named_buffers())
    modules = {type(m).__module__ for m in net.modules() if not type(m).__module__.startswith("torch.")}
    description: dict[str, Any] = {
        "engine": engine_version(),
        "torch": torch.__version__,
        "device": str(example.device),
        "isa": torch.backends.cpu.get_cpu_capability(),
        "net": f"{type(net).__module__}.{type(net).__qualname__}",
        "sources": _sources(modules),
        "repr": repr(net),
        "tensors": [(n, list(t.shape), str(t.dtype), list(t.stride())) for n, t in state.items()],
        "input": [list(example.shape), list(example.stride())],
        "dtype": NAMES[dtype],
        "threads": torch.get_num_threads(),
    }
    if example.device.type == "cuda":
        description["gpu"] = torch.cuda.get_device_name(example.device)
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:32]


def row_split_convolution(x, weight, bias, padding) -> torch.Tensor:
    """A stride-1 convolution as one convolution per kernel row and a shifted sum of the rows."""
    out, _, rows, _ = weight.shape
    per_row = weight.permute(0, 2, 1, 3).reshape(out * rows, weight.shape[1], 1, weight.shape[3])
    z = aten.convolution.default(x, per_row, None, [1, 1], list(padding), [1, 1], False, [0, 0], 1)
    height = z.shape[-2] - rows + 1
    z = z.view(z.shape[0], out, rows, z.shape[-2], z.shape[-1])
    y = z[:, :, 0, :height]
    for i in range(1, rows):
        y = y + z[:, :, i, i : i + height]
    return y if bias is None else y + bias.view(1, -1, 1, 1)


def _decompositions(dtype: torch.dtype) -> dict:
    def convolution(x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
        if reduced(dtype, x, weight):
            return low_precision_convolution(dtype, x, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
        plain = not transposed and groups == 1 and list(stride) == [1, 1] and list(dilation) == [1, 1]
        if plain and weight.ndim == 4 and weight.shape[2] >= ROW_SPLIT_MIN_KERNEL and weight.shape[0] <= ROW_SPLIT_MAX_OUT:
            return row_split_convolution(x, weight, bias, padding)
        return NotImplemented

    table = torch.export.default_decompositions()
    table[aten.convolution.default] = convolution
    return table


class _Functional(nn.Module):
    """``net`` with its parameters and buffers passed in as inputs."""

    def __init__(self, net: nn.Module, names: list[str]) -> None:
        super().__init__()
        self.net = net
        self.names = names

    def forward(self, x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        return functional_call(self.net, dict(zip(self.names, tensors)), (x,))


class CompiledNet:
    """A loaded package: call it with the net (for its weights) and an input of the compiled shape."""

    def __init__(self, runner: Any, names: list[str]) -> None:
        self.runner = runner
        self.names = names

    def __call__(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        state = dict(net.named_parameters()) | dict(net.named_buffers())
        return self.runner(x, *(state[name] for name in self.names))


def _load(path: Path, names: list[str]) -> CompiledNet:
    return CompiledNet(torch._inductor.aoti_load_package(str(path)), names)


def load_compiled(net: nn.Module, example: torch.Tensor, dtype: torch.dtype) -> CompiledNet | None:
    """The cached package for this net, input shape and dtype, or None."""
    path = cache_dir() / f"{package_key(net, example, dtype)}.pt2"
    if not path.is_file():
        return None
    try:
        return _load(path, tensor_names(net))
    except Exception:  # an unreadable or foreign package: compile again
        path.unlink(missing_ok=True)
        return None


def _use_cache_dir() -> None:
    """Inductor's scratch files under imgperc's cache unless the user chose a place."""
    settings.set_default("TORCHINDUCTOR_CACHE_DIR", settings.home() / "cache" / "inductor")


def compile_net(net: nn.Module, example: torch.Tensor, dtype: torch.dtype) -> CompiledNet:
    """Export, rewrite and compile ``net`` for inputs shaped like ``example``; cache the package."""
    _use_cache_dir()
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    names = tensor_names(net)
    state = dict(net.named_parameters()) | dict(net.named_buffers())
    start = time.perf_counter()
    with torch.inference_mode(False), torch.no_grad():
        x = torch.zeros(example.shape, device=example.device).contiguous(memory_format=_memory_format(example))
        program = torch.export.export(_Functional(net, names), (x, *(state[n] for n in names)))
        program = program.run_decompositions(_decompositions(dtype))
        path = directory / f"{package_key(net, example, dtype)}.pt2"
        with atomic_path(path, overwrite=True) as tmp:
            torch._inductor.aoti_compile_and_package(program, package_path=str(tmp))
    record_compile_seconds(example.device, time.perf_counter() - start)
    return _load(path, names)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format


def record_compile_seconds(device: torch.device, seconds: float) -> None:
    """Remember how long compiling took here (the engine weighs it against eager running)."""
    path = cache_dir() / _TIMES
    try:
        times = json.loads(path.read_text()) if path.is_file() else {}
        times[device.type] = round(seconds, 1)
        with atomic_path(path, overwrite=True) as tmp:
            tmp.write_text(json.dumps(times))
    except (OSError, ValueError):
        pass


def compile_seconds(device: torch.device) -> float:
    """The last compile time measured on this kind of device (a default before the first)."""
    try:
        return float(json.loads((cache_dir() / _TIMES).read_text())[device.type])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_COMPILE_SECONDS
