"""The one precision policy: the ``--precision`` choices (`imgperc.choices.PRECISIONS`),
native-bf16 detection, and `resolve`.

Inference (`imgperc.inference.Engine`) and training (`imgperc.train`) both ask `resolve`; how
each then applies the answer lives with it: the engine runs its inner convolutions in the
dtype (`imgperc.inference.precision`), the trainer autocasts (`imgperc.train.runtime`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import torch

from .choices import PRECISIONS
from .errors import InputError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
NAMES = {dtype: name for name, dtype in DTYPES.items()}
Purpose = Literal["inference", "training"]
PURPOSES: tuple[Purpose, ...] = ("inference", "training")

# /proc/cpuinfo flags of CPUs that compute bf16 in hardware: x86 AMX and AVX512-BF16, Arm BF16.
NATIVE_BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16", "bf16"})


@functools.cache
def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (x86 ``flags``, Arm ``Features``); empty elsewhere."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 in hardware; where it does not, bf16 is emulated and slow.

    CPU: one of `NATIVE_BF16_CPU_FLAGS` in /proc/cpuinfo, and PyTorch built with oneDNN
    (oneDNN's own bf16 check also accepts plain AVX-512, where it emulates, so it is not used).
    CUDA: compute capability 8.0 or newer (emulation not counted). Anything unknown: False.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return torch.backends.mkldnn.is_available() and bool(cpu_flags() & NATIVE_BF16_CPU_FLAGS)
    return False


def resolve(choice: str, device: torch.device, purpose: Purpose) -> str:
    """The precision (``fp32``, ``bf16`` or ``fp16``) that ``--precision CHOICE`` means on ``device``.

    ======  ======  ===========================  ======================================
    choice  device  inference                    training
    ======  ======  ===========================  ======================================
    auto    cuda    fp32 (TF32 convolutions)     bf16 if native, else fp16 (with scaler)
    auto    cpu     bf16 if native, else fp32    bf16 if native, else fp32
    auto    other   fp32                         fp32
    fp16    cpu     fp16                         InputError: needs a CUDA GPU
    other   any     as asked                     as asked
    ======  ======  ===========================  ======================================

    "native" is `native_bf16`. Unknown choices are an InputError.

    Why ``auto`` differs on CUDA: the engine reduces precision per convolution through a
    dispatch mode, and on an H100 that overhead outweighed the gain over fp32, whose
    convolutions already use TF32 tensor cores (ml5 at 512x512, batch 1: 219 images/s in fp32,
    150 in fp16, 144 in bf16; docs/benchmarks.md). Training autocasts the whole forward and
    backward pass instead, which halves activation memory; the H100 training runs of
    docs/training.md used bf16 autocast. fp16 training needs CUDA for its gradient scaler.
    On a CPU without native bf16, bf16 is emulated: 5x (inference) to 26x (training) slower than
    fp32, measured on this project's AVX2 machine, so ``auto`` never picks it there.
    """
    if choice not in PRECISIONS:
        raise InputError(f"unknown precision '{choice}' (choose from {', '.join(PRECISIONS)})")
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
    if choice == "fp16" and purpose == "training" and device.type != "cuda":
        raise InputError("--precision fp16 needs a CUDA GPU for training (use bf16 or fp32 on the CPU)")
    if choice != "auto":
        return choice
    if device.type == "cuda" and purpose == "training":
        return "bf16" if native_bf16(device) else "fp16"
    if device.type == "cpu" and native_bf16(device):
        return "bf16"
    return "fp32"
