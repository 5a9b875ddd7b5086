"""int8 (PT2E, x86 inductor) and ONNX Runtime against the engine's fp32 paths, for light and ml5.

    nice -n 10 python benchmarks/int8_onnx.py [--size 512] [--repeats 5] [--light MODEL_FILE]
        [--ml5-style muse] [--photos DIR] [--json FILE]

On the CPU, for the ``light`` net (a trained model file from --light, else random weights: its
PSNR then says little) and the pretrained ml5 style (IMGPERC_MIRROR for a local mirror), each
image reflection-padded by the engine's DEFAULT_PAD (608x608 for 512) as `imgperc stylize` does:

- fp32 eager and fp32 compiled: the `Engine` itself (channels-last, imgperc's threads; compiled
  is its AOTInductor package, the path repeated use takes);
- int8 (torchao, ``pip install torchao``): ``torch.export`` -> ``prepare_pt2e`` with
  ``X86InductorQuantizer`` -> calibration on the photos -> ``convert_pt2e``, then either
  ``torch.compile`` with freezing (the documented flow) or torchao's ``lower_pt2e_quantized_to_x86``
  then ``torch.compile``; ``reduce_range`` where the CPU lacks VNNI (see `quantized`). The note
  gives the convolutions in int8 and the simulated int8 graph's PSNR (quantization error alone);
- ONNX Runtime (CPUExecutionProvider, intra-op threads = imgperc's) on `imgperc.onnx_export`'s file.

ms/image is the median of --repeats runs on one photo after two warm-up runs; PSNR is the worst
photo's against fp32 eager. Verdict, the issue's rule: keep a path only where it is faster than
the engine's current path (fp32 compiled) and at least 35 dB against fp32. A path that cannot
run is a row with the reason. On a busy machine set IMGPERC_THREADS lower (torch's threads
then suffer most: 2 threads on 2 busy cores ran 30x slower than 1 here).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from imgperc import plugins
from imgperc.inference import DEFAULT_PAD, Engine
from imgperc.inference.padding import padding, reflect_pad, run_padded
from imgperc.inference.threads import configure_threads
from imgperc.io.image import read_image
from imgperc.io.resample import resize
from imgperc.metrics import psnr
from imgperc.precision import cpu_flags, resolve

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "content"
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
VNNI = frozenset(FLAGS[2:])  # int8 dot products without saturation
MIN_PSNR = 35.0
CL = torch.channels_last
aten = torch.ops.aten
CONVS = (aten.conv2d.default, aten.conv_transpose2d.input)
Run = Callable[[torch.Tensor], torch.Tensor]


def load_photos(folder: Path, size: int) -> torch.Tensor:
    """The folder's photos, shortest side resized to ``size`` and centre-cropped: [N,3,size,size]."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not files:
        raise SystemExit(f"no photos in {folder}")
    crops = []
    for file in files:
        pixels = resize(read_image(file).pixels, shortest=size)
        top, left = (pixels.shape[1] - size) // 2, (pixels.shape[2] - size) // 2
        crops.append(pixels[:, top : top + size, left : left + size])
    return torch.stack(crops)


def padded_runner(net: nn.Module, forward: Run) -> Run:
    """``forward`` on canvases as `Engine.run` does it: pad, run image by image, crop, clamp."""
    multiple = getattr(net, "size_multiple", 1)
    return lambda batch: run_padded(forward, batch, pad=DEFAULT_PAD, batch_size=1, multiple=multiple, device=torch.device("cpu"))


def engine_runner(net: nn.Module, compile: str) -> tuple[Run, str]:
    engine = Engine(net, device="cpu", precision="fp32", tile=None, compile=compile)

    def run(batch: torch.Tensor) -> torch.Tensor:
        y = engine.run(batch)
        if failed := [e for e in engine.events if e.startswith("compiling failed")]:
            raise RuntimeError(failed[0])
        return y

    return run, ""


def quantized(net: nn.Module, photos: torch.Tensor) -> tuple[nn.Module, torch.Tensor, str]:
    """PT2E int8 (X86InductorQuantizer, default config) calibrated on the photos, and a note: how
    many convolutions are int8 and the PSNR of the int8 graph simulated in fp32 (quantization
    error alone, without the kernels'). ``reduce_range`` (7-bit activations) where the CPU lacks
    VNNI, as torchao advises: there oneDNN's u8·s8 products can saturate. Convolutions called as
    ``F.conv2d`` (ml5's) get the source tag the quantizer looks for: it finds only ``nn.Conv2d``
    modules in an exported graph and would leave ml5 in fp32."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import X86InductorQuantizer, get_default_x86_inductor_quantization_config

    sides = padding(photos.shape[2], photos.shape[3], DEFAULT_PAD, getattr(net, "size_multiple", 1))
    canvases = [reflect_pad(p, *sides).contiguous(memory_format=CL) for p in photos.split(1)]  # as the engine runs
    with torch.no_grad():
        model = torch.export.export(net, (canvases[0],)).module()
        convs = [n for n in model.graph.nodes if n.target in CONVS]
        for node in convs:
            if node.target == aten.conv2d.default:
                node.meta.setdefault("source_fn_stack", [(node.name, F.conv2d)])
        reduce_range = not cpu_flags() & VNNI
        config = get_default_x86_inductor_quantization_config(reduce_range=reduce_range)
        model = prepare_pt2e(model, X86InductorQuantizer().set_global(config))
        for x in canvases:  # calibration
            model(x)
        model = convert_pt2e(model)
        simulated = min(psnr(model(x).clamp(0, 1), net(x).clamp(0, 1), data_range=1.0) for x in canvases)
    done = sum("dequantize_per_channel" in str(getattr(n.args[1], "target", "")) for n in model.graph.nodes if n.target in CONVS)
    note = f"{done}/{len(convs)} convs int8{', reduce_range' if reduce_range else ''}; simulated {simulated:.1f} dB"
    return model, canvases[0], note


def int8_runner(net: nn.Module, photos: torch.Tensor, lowering: bool) -> tuple[Run, str]:
    """torch.compile with freezing (the documented flow), or torchao's own lowering then compile."""
    model, example, note = quantized(net, photos)
    if lowering:
        from torchao.quantization.pt2e.lowering import lower_pt2e_quantized_to_x86

        with torch.no_grad():
            compiled = torch.compile(lower_pt2e_quantized_to_x86(model, (example,)))
    else:
        compiled = torch.compile(model, options={"freezing": True})
    return padded_runner(net, lambda x: compiled(x.contiguous(memory_format=CL))), note


def onnx_runner(net: nn.Module, arch: str, threads: int) -> tuple[Run, str]:
    import onnxruntime as ort

    from imgperc.onnx_export import export_onnx

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{arch}.onnx"
        export_onnx(net, path, {"architecture": arch, "task": "style"}, overwrite=True)
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    forward = lambda x: torch.from_numpy(session.run(None, {"image": x.contiguous().numpy()})[0])  # noqa: E731
    return padded_runner(net, forward), f"intra-op threads {threads}"


def timed(run: Run, image: torch.Tensor, repeats: int) -> float:
    """Median ms for one image after two warm-up runs (the first compiles)."""
    for _ in range(2):
        run(image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(image)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def nets(args: argparse.Namespace) -> list[tuple[str, str, nn.Module]]:
    """(label, architecture, net): light and ml5, real weights where available."""
    registry = plugins.registry("transform_nets")
    if args.light:
        from imgperc.modelfile import build_model

        light, meta = build_model(args.light)
        found = [(f"{meta.get('architecture')} ({args.light.name})", str(meta.get("architecture")), light)]
    else:
        torch.manual_seed(0)
        found = [("light (RANDOM weights)", "light", registry.get("light")())]
    try:
        from imgperc.hub import resolve_model

        found.append((f"ml5 ({args.ml5_style})", "ml5", resolve_model(args.ml5_style, "style").load().net))
    except Exception as exc:  # no mirror, no network: still time the architecture
        print(f"note: ml5 style '{args.ml5_style}' not loaded ({type(exc).__name__}: {exc}); ml5 uses RANDOM weights")
        found.append(("ml5 (RANDOM weights)", "ml5", registry.get("ml5")()))
    return found


def header(threads: int) -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    flags = {flag: flag in cpu_flags() for flag in FLAGS}
    versions = {"torch": torch.__version__}
    for name in ("torchao", "onnxruntime"):
        spec = importlib.util.find_spec(name)
        versions[name] = importlib.metadata.version(name) if spec else "not installed"
    return {"cpu": model, "cpus": os.cpu_count(), "flags": flags, "threads": threads, "versions": versions,
            "engine_auto_precision": resolve("auto", torch.device("cpu"), "inference"), "load_start": os.getloadavg()[0]}


def verdict(path: str, ms: float, quality: float, current: float) -> str:
    """The issue's rule: faster than the engine's current path and at least MIN_PSNR dB."""
    if path.startswith("fp32"):
        return "reference" if path == "fp32 eager" else "current path"
    reasons = [f"{current / ms:.2f}x the current path" if ms >= current else "", f"{quality:.1f} dB < {MIN_PSNR:.0f}" if quality < MIN_PSNR else ""]
    return "drop: " + "; ".join(r for r in reasons if r) if any(reasons) else "keep"


def measure(label: str, arch: str, net: nn.Module, photos: torch.Tensor, args: argparse.Namespace, threads: int) -> list[dict]:
    """One row per path; a path that cannot run is a row with the reason."""
    builders: dict[str, Callable[[], tuple[Run, str]]] = {
        "fp32 eager": lambda: engine_runner(net, "never"),
        "fp32 compiled": lambda: engine_runner(net, "always"),
        "int8 pt2e + compile": lambda: int8_runner(net, photos, lowering=False),
        "int8 pt2e + torchao lowering": lambda: int8_runner(net, photos, lowering=True),
        "onnxruntime": lambda: onnx_runner(net, arch, threads),
    }
    rows, ms, reference = [], {}, None
    for path, build in builders.items():
        row: dict = {"net": label, "path": path}
        try:
            run, row["note"] = build()
            ms[path] = timed(run, photos[:1], args.repeats)
            out = run(photos)
            reference = out if reference is None else reference
            quality = min(psnr(a, b, data_range=1.0) for a, b in zip(out.split(1), reference.split(1)))
            current = ms.get("fp32 compiled", ms["fp32 eager"])
            row |= {"ms": ms[path], "images_per_s": 1000 / ms[path], "vs_eager": ms["fp32 eager"] / ms[path],
                    "vs_compiled": ms["fp32 compiled"] / ms[path] if "fp32 compiled" in ms else None,
                    "psnr": quality, "verdict": verdict(path, ms[path], quality, current)}
        except Exception as exc:  # noqa: BLE001 -- the reason is the result
            reason = (str(exc).strip().splitlines() or [""])[0][:160]
            row["verdict"] = f"failed: {type(exc).__name__}: {reason}"
        rows.append(row)
        torch._dynamo.reset()
    return rows


def cells(row: dict) -> list[str]:
    out = [f"{row[k]:.1f}" if row.get(k) is not None else "-" for k in ("ms", "images_per_s")]
    out += [f"{row[k]:.2f}x" if row.get(k) is not None else "-" for k in ("vs_eager", "vs_compiled")]
    out.append("-" if "psnr" not in row else "inf" if math.isinf(row["psnr"]) else f"{row['psnr']:.1f}")
    return out + [row["verdict"], row.get("note", "")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--light", type=Path, help="a trained light-net model file (default: random weights)")
    parser.add_argument("--ml5-style", default="muse")
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    threads = configure_threads()
    info = header(threads)
    flags = " ".join(f"{k}{'+' if v else '-'}" for k, v in info["flags"].items())
    print(f"{info['cpu']}; {info['cpus']} CPUs; flags {flags}; {threads} threads; "
          + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"engine precision auto on this CPU: {info['engine_auto_precision']}; load average at start {info['load_start']:.2f}")
    photos = load_photos(args.photos, args.size)
    print(f"{len(photos)} photos from {args.photos}, {args.size}x{args.size}, reflection-padded by {DEFAULT_PAD} a side; median of {args.repeats}")
    rows = [row for label, arch, net in nets(args) for row in measure(label, arch, net.eval(), photos, args, threads)]
    end = os.getloadavg()[0]
    print("\n| net | path | ms/image | images/s | vs eager | vs compiled | PSNR dB | verdict | note |\n|" + "---|" * 9)
    for row in rows:
        print(f"| {row['net']} | {row['path']} | {' | '.join(cells(row))} |")
    print(f"\nload average at the end {end:.2f}")
    if max(info["load_start"], end) > info["cpus"] / 2:
        print(f"WARNING: load average above half the {info['cpus']} CPUs: timings are disturbed by other work "
              "(torch's threads suffer most; IMGPERC_THREADS sets fewer for every path)")
    if args.json:
        info["load_end"] = end
        args.json.write_text(json.dumps({"machine": info, "size": args.size, "rows": rows}, indent=2, default=str))


if __name__ == "__main__":
    main()
