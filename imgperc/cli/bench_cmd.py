"""`imgperc bench`: throughput of an image task's net through the inference engine.

Which net, with which config and padding, comes from the task's registration
(`imgperc.tasks.BenchNet`): the core names no plugin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import click

from .. import plugins
from ..atomic import atomic_path, check_writable
from ..choices import COMPILE_MODES
from ..errors import InputError
from .options import device_option, force_option, precision_option

if TYPE_CHECKING:
    import torch

    from ..inference import bench


def parse_sizes(text: str) -> list[int]:
    """``256,512,1024`` -> [256, 512, 1024]."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--sizes must be whole numbers separated by commas, got {text!r}") from None
    if not sizes or min(sizes) < 8:
        raise InputError(f"--sizes must list sizes of at least 8 pixels, got {text!r}")
    return sizes


def bench_target(task: str | None, arch: str | None) -> tuple[str, str, Mapping[str, Any], int | None]:
    """(task, net, config, pad): ``task``'s bench net, or ``arch`` run with that task's pad
    (None: each net's own).

    Without ``task``: the only image task that names a bench net (among those of ``arch``'s
    plugin when ``arch`` is given); a one-line error when there are none or several.
    """
    tasks, nets = plugins.registry("image_tasks"), plugins.registry("transform_nets")
    if arch is not None and arch not in nets:
        raise InputError(f"unknown net '{arch}' (known: {', '.join(sorted(nets)) or 'none'})")
    if task is None:
        candidates = [name for name in tasks if tasks.get(name).bench is not None]
        if arch is not None:
            candidates = [name for name in candidates if tasks.owners[name] == nets.owners[arch]] or candidates
        if not candidates:
            raise InputError("no image task to bench: install or enable a plugin that provides one (see `imgperc plugins`)")
        if len(candidates) > 1:
            raise InputError(f"choose the image task to bench with --task: {', '.join(candidates)}")
        (task,) = candidates
    spec = tasks.require(task).bench
    if spec is None:
        raise InputError(f"image task '{task}' names no net to bench")
    name = arch or spec.net
    return task, name, spec.config if name == spec.net else {}, spec.pad


def build_net(name: str, config: Mapping[str, Any]) -> torch.nn.Module:
    """Transform net ``name`` from the registry with seeded random weights: speed does not depend on them."""
    import torch

    torch.manual_seed(0)
    net = plugins.registry("transform_nets").get(name)(**config)
    with torch.no_grad():
        for parameter in net.parameters():
            if parameter.ndim > 1:
                parameter.normal_(0.0, (2.0 / parameter[0].numel()) ** 0.5)
    return net.eval()


def _row(result: bench.Result) -> str:
    base = f"{result.baseline_ms_per_image:9.1f} {result.speedup:6.2f}x" if result.speedup else f"{'-':>9} {'-':>7}"
    return (
        f"{result.size:>5} {result.batch:>5} {'x'.join(map(str, result.padded)):>9} {result.precision:>5} {result.compiled:>8}"
        f" {result.ms_per_image:9.1f} {result.images_per_s:8.2f} {result.gflop_per_image:7.1f} {result.gflops:7.1f}"
        f" {result.peak_rss_mib:8.0f} {base}"
    )


@click.command("bench")
@click.option("--task", metavar="NAME", help="The image task whose net to time (needed when several can be; see `imgperc plugins`).")
@click.option("--net", "arch", metavar="NAME", help="Another transform net from the registry, run with the task's padding (else its own).")
@click.option("--sizes", default="256,512,1024", show_default=True, help="Input sizes (square), comma-separated.")
@precision_option()
@click.option("--compile", "compile_mode", type=click.Choice(COMPILE_MODES), default="always", show_default=True, help="Compiled graphs (always: compile or load before timing).")
@device_option()
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Images per batch.")
@click.option("--runs", type=click.IntRange(min=1), default=5, show_default=True, help="Timed runs per size (the median is reported).")
@click.option("--warmup", type=click.IntRange(min=0), default=1, show_default=True, help="Untimed runs after the first one.")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads (default: the free physical cores).")
@click.option("--baseline/--no-baseline", default=True, show_default=True, help="Also time plain fp32 eager PyTorch, interleaved.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the results to this JSON file.")
@force_option()
def bench_command(task, arch, sizes, precision, compile_mode, device, batch, runs, warmup, threads, baseline, json_path, force) -> None:
    """Images/s, ms/image, achieved GFLOP/s and peak memory of a net through the engine.

    Medians of --runs after a first run (which compiles, or loads a cached compiled net) and
    --warmup runs; the weights are random (speed does not depend on them).
    """
    from ..inference import bench, net_pad

    sizes = parse_sizes(sizes)
    if json_path is not None:
        check_writable(json_path, overwrite=force)
    task, name, config, pad = bench_target(task, arch)
    net = build_net(name, config)
    pad = net_pad(net) if pad is None else pad
    info = bench.machine()
    click.echo(f"{info['device']}; {info['physical_cores']} physical cores; torch {info['torch']}; load average {info['load_average']}")
    click.echo(f"task {task}, net {name}, reflection pad {pad}; baseline: fp32 eager, contiguous, {info['default_threads']} threads")
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
