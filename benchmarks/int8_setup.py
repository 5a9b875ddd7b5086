"""What the int8 path costs before its first image: PT2E quantization, torchao's x86 lowering and
torch.compile, for one canvas shape, and whether the result runs at another shape.

    nice -n 10 python benchmarks/int8_setup.py --light MODEL_FILE [--size 256] [--threads N]

Uses `int8_onnx.quantized` (export, ``prepare_pt2e`` with ``X86InductorQuantizer``, calibration on
the first content photo, ``convert_pt2e``) and torchao's ``lower_pt2e_quantized_to_x86`` then
``torch.compile``, as `benchmarks/int8_onnx.py` times them, and prints the seconds of each step,
of the first run (the compile) and of a second run, then tries an input 48 pixels narrower. With
``--package``, it then exports the lowered graph with dynamic height and width and tries to build
an AOTInductor package of it, as the engine caches its fp32 graphs. Needs ``pip install torchao``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from imgperc.modelfile import build_model
from int8_onnx import PHOTOS, load_photos, quantized


def seconds(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"


def try_package(lowered: torch.nn.Module, canvas: torch.Tensor) -> None:
    """Export the lowered int8 graph with dynamic height and width (multiples of 4) and package it."""
    from torch.export import Dim

    start = time.perf_counter()
    height, width = Dim("height", min=2, max=1024), Dim("width", min=2, max=1024)
    try:
        program = torch.export.export(lowered, (canvas,), dynamic_shapes=({2: 4 * height, 3: 4 * width},))
        print(f"export with dynamic height and width: {seconds(start)}")
        with tempfile.TemporaryDirectory() as folder:
            torch._inductor.aoti_compile_and_package(program, package_path=str(Path(folder) / "int8.pt2"))
        print(f"AOTInductor package: built, {seconds(start)}")
    except Exception as exc:  # noqa: BLE001 -- the reason is the result
        print(f"AOTInductor package: fails after {seconds(start)} ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--light", type=Path, required=True, help="a trained light-net model file")
    parser.add_argument("--size", type=int, default=256, help="photo side (the canvas adds the engine's padding)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--package", action="store_true", help="also try an AOTInductor package with dynamic height and width")
    args = parser.parse_args()
    from torchao.quantization.pt2e.lowering import lower_pt2e_quantized_to_x86

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f}")
    net = build_model(args.light)[0].eval()
    photos = load_photos(args.photos, args.size)[:1]
    start = time.perf_counter()
    model, canvas, note = quantized(net, photos)
    print(f"export + prepare_pt2e + calibration + convert_pt2e ({note}), canvas {list(canvas.shape)}: {seconds(start)}")
    with torch.no_grad():
        start = time.perf_counter()
        lowered = lower_pt2e_quantized_to_x86(model, (canvas,))
        print(f"lower_pt2e_quantized_to_x86: {seconds(start)}")
        compiled = torch.compile(lowered)
        start = time.perf_counter()
        compiled(canvas)
        print(f"torch.compile + first run: {seconds(start)}")
        start = time.perf_counter()
        compiled(canvas)
        print(f"second run: {1000 * (time.perf_counter() - start):.0f} ms")
        narrower = canvas[..., :-48].contiguous(memory_format=torch.channels_last)
        try:
            compiled(narrower)
            print(f"input {list(narrower.shape)}: runs")
        except Exception as exc:  # noqa: BLE001 -- the reason is the result
            print(f"input {list(narrower.shape)}: fails ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")
        if args.package:
            try_package(lowered, canvas)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
