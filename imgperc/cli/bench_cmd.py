"""`imgperc bench`: throughput of the style and super-resolution nets through the inference engine."""

from __future__ import annotations

import json
from pathlib import Path

import click
import torch

from .. import plugins
from ..atomic import atomic_path, check_writable
from ..errors import InputError
from ..inference import COMPILE_MODES, DEVICES, PRECISIONS
from ..inference import bench

# task -> (default architecture, its config, reflection pad as the task's command uses it)
TASKS = {
    "style": ("ml5", {}, 48),
    "sr": ("sr-johnson", {"scale": 4}, 16),
}


def parse_sizes(text: str) -> list[int]:
    """``256,512,1024`` -> [256, 512, 1024]."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--sizes must be whole numbers separated by commas, got {text!r}") from None
    if not sizes or min(sizes) < 8:
        raise InputError(f"--sizes must list sizes of at least 8 pixels, got {text!r}")
    return sizes


def build_net(task: str, arch: str | None) -> tuple[str, torch.nn.Module]:
    """The task's net (or ``arch`` from the transform-net registry) with seeded random weights:
    speed does not depend on the weights."""
    default, config, _ = TASKS[task]
    name = arch or default
    registry = plugins.registry("transform_nets")
    if name not in registry:
        raise InputError(f"unknown net '{name}' (known: {', '.join(sorted(registry))})")
    torch.manual_seed(0)
    net = registry.get(name)(**(config if name == default else {}))
    with torch.no_grad():
        for parameter in net.parameters():
            if parameter.ndim > 1:
                parameter.normal_(0.0, (2.0 / parameter[0].numel()) ** 0.5)
    return name, net.eval()


def _row(result: bench.Result) -> str:
    base = f"{result.baseline_ms_per_image:9.1f} {result.speedup:6.2f}x" if result.speedup else f"{'-':>9} {'-':>7}"
    return (
        f"{result.size:>5} {result.batch:>5} {'x'.join(map(str, result.padded)):>9} {result.precision:>5} {result.compiled:>8}"
        f" {result.ms_per_image:9.1f} {result.images_per_s:8.2f} {result.gflop_per_image:7.1f} {result.gflops:7.1f}"
        f" {result.peak_rss_mib:8.0f} {base}"
    )


@click.command("bench")
@click.option("--task", type=click.Choice(sorted(TASKS)), default="style", show_default=True, help="style: the ml5 net; sr: the x4 super-resolution net.")
@click.option("--net", "arch", metavar="NAME", help="Another transform net from the registry (e.g. johnson).")
@click.option("--sizes", default="256,512,1024", show_default=True, help="Input sizes (square), comma-separated.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True, help="Compute precision.")
@click.option("--compile", "compile_mode", type=click.Choice(COMPILE_MODES), default="always", show_default=True, help="Compiled graphs (always: compile or load before timing).")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="Where to run.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Images per batch.")
@click.option("--runs", type=click.IntRange(min=1), default=5, show_default=True, help="Timed runs per size (the median is reported).")
@click.option("--warmup", type=click.IntRange(min=0), default=1, show_default=True, help="Untimed runs after the first one.")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads (default: the free physical cores).")
@click.option("--baseline/--no-baseline", default=True, show_default=True, help="Also time plain fp32 eager PyTorch, interleaved.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the results to this JSON file.")
@click.option("--force", is_flag=True, help="Overwrite the JSON file.")
def bench_command(task, arch, sizes, precision, compile_mode, device, batch, runs, warmup, threads, baseline, json_path, force) -> None:
    """Images/s, ms/image, achieved GFLOP/s and peak memory of a net through the engine.

    Medians of --runs after a first run (which compiles, or loads a cached compiled net) and
    --warmup runs; the weights are random (speed does not depend on them).
    """
    sizes = parse_sizes(sizes)
    if json_path is not None:
        check_writable(json_path, overwrite=force)
    name, net = build_net(task, arch)
    pad = TASKS[task][2]
    info = bench.machine()
    click.echo(f"{info['device']}; {info['physical_cores']} physical cores; torch {info['torch']}; load average {info['load_average']}")
    click.echo(f"net {name}, reflection pad {pad}; baseline: fp32 eager, contiguous, {info['default_threads']} threads")
    click.echo(
        f"{'size':>5} {'batch':>5} {'padded':>9} {'prec':>5} {'graph':>8} {'ms/image':>9} {'images/s':>8} {'GFLOP':>7} {'GFLOP/s':>7}"
        f" {'peak MiB':>8} {'eager ms':>9} {'speedup':>7}"
    )
    results = []
    for size in sizes:
        result = bench.measure(
            net, size=size, batch=batch, pad=pad, device=device, precision=precision, compile=compile_mode,
            threads=threads, runs=runs, warmup=warmup, baseline=baseline,
        )
        results.append(result)
        click.echo(_row(result))
        for event in result.events:
            click.echo(f"      {event}")
    if json_path is not None:
        report = {"machine": info | {"load_average_end": bench.machine()["load_average"]}, "task": task, "net": name, "pad": pad,
                  "results": [r.to_dict() for r in results]}
        with atomic_path(json_path, overwrite=force) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")
