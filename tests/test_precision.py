"""The one precision policy: choices, native-bf16 detection, `resolve`, and its two callers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from imgperc import precision
from imgperc.errors import InputError
from imgperc.inference import Engine
from imgperc.train.runtime import autocast

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize(
    "choice, device, purpose, native, expected",
    [
        ("auto", CUDA, "inference", True, "fp32"),  # TF32 measured faster than the engine's fp16
        ("auto", CUDA, "training", True, "bf16"),
        ("auto", CUDA, "training", False, "fp16"),
        ("auto", CPU, "inference", True, "bf16"),
        ("auto", CPU, "inference", False, "fp32"),
        ("auto", CPU, "training", True, "bf16"),
        ("auto", CPU, "training", False, "fp32"),
        ("auto", torch.device("meta"), "training", True, "fp32"),
        ("bf16", CPU, "training", False, "bf16"),  # asked for: emulated, but honoured
        ("fp16", CPU, "inference", False, "fp16"),
        ("fp16", CUDA, "training", True, "fp16"),
        ("fp32", CUDA, "training", True, "fp32"),
    ],
)
def test_resolve_follows_the_documented_table(monkeypatch, choice, device, purpose, native, expected):
    monkeypatch.setattr(precision, "native_bf16", lambda d: native)
    assert precision.resolve(choice, device, purpose) == expected


def test_bad_choices_are_one_line_errors():
    with pytest.raises(InputError, match=r"unknown precision 'int8' \(choose from auto, fp32, bf16, fp16\)"):
        precision.resolve("int8", CPU, "inference")
    with pytest.raises(InputError, match="fp16 needs a CUDA GPU for training"):
        precision.resolve("fp16", CPU, "training")


X86 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 {extra}\nbugs\t\t: spectre_v1\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd {extra}\nCPU part\t: 0xd40\n"


@pytest.mark.parametrize(
    "text, native",
    [
        (X86.format(extra="amx_bf16 amx_tile"), True),
        (X86.format(extra="avx512f avx512_bf16"), True),
        (X86.format(extra="avx512f avx512bw avx512vl"), False),  # plain AVX-512: oneDNN emulates bf16
        (X86.format(extra=""), False),
        (ARM.format(extra="sve bf16"), True),
        (ARM.format(extra="sve"), False),
    ],
)
def test_native_cpu_bf16_comes_from_the_cpu_flags(tmp_path, monkeypatch, text, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    flags = precision.cpu_flags(cpuinfo)
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
    assert precision.native_bf16(CPU) is native


def test_without_cpuinfo_nothing_is_assumed(tmp_path):
    assert precision.cpu_flags(tmp_path / "missing") == frozenset()


def test_the_engine_and_the_trainer_apply_the_policy(monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda d: True)
    assert Engine(nn.Conv2d(3, 3, 1), device="cpu").precision == "bf16"
    monkeypatch.setattr(precision, "native_bf16", lambda d: False)
    assert Engine(nn.Conv2d(3, 3, 1), device="cpu").precision == "fp32"
    with autocast(precision.resolve("bf16", CPU, "training"), CPU):
        assert nn.functional.linear(torch.ones(1, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast(precision.resolve("auto", CPU, "training"), CPU):
        assert nn.functional.linear(torch.ones(1, 2), torch.ones(2, 2)).dtype == torch.float32
