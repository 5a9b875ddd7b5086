"""Where nets run: device choice and what the device can compute fast."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError

DEVICES = ("auto", "cpu", "cuda")
_NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def select_device(name: str = "auto") -> torch.device:
    """``auto`` (CUDA if available, else CPU), ``cpu`` or ``cuda``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InputError("device 'cuda' requested but no CUDA GPU is available (use --device cpu or auto)")
        return torch.device("cuda")
    raise InputError(f"unknown device '{name}' (choose from {', '.join(DEVICES)})")


def net_device(net: nn.Module) -> torch.device:
    """Where the net's weights live (CPU for a net without weights)."""
    first = next(net.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16(device: torch.device) -> bool:
    """True when ``device`` computes bf16 convolutions in hardware (AMX / AVX-512-bf16, or a GPU
    with bf16 support); elsewhere PyTorch emulates bf16 and it is many times slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) or any(f in cpu_flags() for f in _NATIVE_BF16_FLAGS)


def describe(device: torch.device) -> str:
    """One line naming the device and its vector unit, for benchmark reports."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {model}, {torch.backends.cpu.get_cpu_capability()}, native bf16: {'yes' if native_bf16(device) else 'no'}"
