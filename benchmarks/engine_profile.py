"""Where the time goes: a per-operator profile of a style net, plain eager vs the engine.

    python benchmarks/engine_profile.py [--size 512] [--net ml5] [--runs 3]

Times --runs forward passes at the padded size `imgperc stylize` uses (reflection pad 48) and
lists every operator the profiler sees, grouped by operator and input shape. In the compiled
engine the convolutions are oneDNN calls and everything else (padding, instance norm, ReLU,
residual sums, tanh) runs in inductor's fused kernels, which the profiler does not see: they
are the "everything else" line. Weights are random: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

from imgperc import plugins
from imgperc.inference import Engine
from imgperc.inference.bench import net_gflop
from imgperc.inference.padding import padding

def report(title: str, fn, runs: int, gflop: float) -> float:
    """Profile ``runs`` calls of ``fn``; print the operators' wall time per image; return it."""
    fn()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        start = time.perf_counter()
        for _ in range(runs):
            fn()
        wall = (time.perf_counter() - start) / runs * 1000
    rows: dict[tuple[str, str], float] = defaultdict(float)
    for event in prof.key_averages(group_by_input_shape=True):
        if event.key.startswith(("aten::", "mkldnn::")) and event.self_cpu_time_total:
            rows[(event.key, str(event.input_shapes)[:72])] += event.self_cpu_time_total / runs / 1000
    print(f"\n{title}: {wall:.0f} ms per image, {gflop / wall * 1000:.0f} GFLOP/s (profiler on)")
    print(f"{'ms':>8} {'share':>6}  operator  [input shapes]")
    shown = 0.0
    for (name, shapes), ms in sorted(rows.items(), key=lambda item: -item[1]):
        if ms >= 0.01 * wall:
            print(f"{ms:8.1f} {ms / wall:6.1%}  {name}  {shapes}")
            shown += ms
    print(f"{wall - shown:8.1f} {(wall - shown) / wall:6.1%}  everything else (for the engine: inductor's fused kernels)")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--net", default="ml5")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = plugins.registry("transform_nets").get(args.net)().eval()
    with torch.no_grad():
        for parameter in net.parameters():
            if parameter.ndim > 1:
                parameter.normal_(0.0, (2.0 / parameter[0].numel()) ** 0.5)
    top, bottom, left, right = padding(args.size, args.size, 48, getattr(net, "size_multiple", 1))
    x = torch.rand(1, 3, args.size + top + bottom, args.size + left + right)
    plain = copy.deepcopy(net)
    gflop = net_gflop(plain, tuple(x.shape))
    default_threads = torch.get_num_threads()
    engine = Engine(net, device="cpu", precision="auto", tile=None, compile="always")
    xc = x.contiguous(memory_format=torch.channels_last)
    print(f"{args.net} at {args.size}x{args.size} (padded {x.shape[-2]}x{x.shape[-1]}), load average {os.getloadavg()}")
    with torch.inference_mode():
        torch.set_num_threads(default_threads)
        eager = report(f"plain fp32 eager, contiguous, {default_threads} threads", lambda: plain(x), args.runs, gflop)
        torch.set_num_threads(engine.threads)
        fast = report(f"engine ({engine.precision}, compiled, channels-last, {engine.threads} threads)", lambda: engine._guarded(xc), args.runs, gflop)
    print(f"\nengine vs plain: {eager / fast:.2f}x; {engine.events}")


if __name__ == "__main__":
    main()
