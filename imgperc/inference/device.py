"""Where nets run: device choice, and a device's description for reports."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..choices import DEVICES
from ..errors import InputError
from ..precision import native_bf16


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
