"""Where the time goes: a per-operator profile of a style net, plain eager vs the engine.

    python benchmarks/engine_profile.py [--size 512] [--net ml5] [--runs 3]

Times every operator with torch.profiler over --runs forward passes at the padded size `imgperc
stylize` uses (reflection pad 48), grouped by operator and input shape, with each convolution's
achieved GFLOP/s. For the compiled engine, the convolutions are oneDNN calls and everything
else (padding, instance norm, ReLU, residual sums, tanh) is inductor's fused kernels, shown as
one line. Weights are random: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import copy
import os
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

from imgperc import plugins
from imgperc.inference import Engine
from imgperc.inference.padding import padding

CONVOLUTIONS = ("convolution", "conv2d", "conv_transpose")


def conv_gflop(name: str, shapes: list) -> float:
    """FLOPs of one convolution call from its recorded input shapes (0 if not a convolution)."""
    if not any(key in name for key in CONVOLUTIONS) or len(shapes) < 2 or len(shapes[0]) != 4 or len(shapes[1]) != 4:
        return 0.0
    (n, c, h, w), weight = shapes[0], shapes[1]
    if "transpose" in name:
        return 2 * n * h * w * weight[0] * weight[1] * weight[2] * weight[3] / 1e9
    k_out, k_in, kh, kw = weight
    return 2 * n * (h - kh + 1) * (w - kw + 1) * k_out * k_in * kh * kw / 1e9  # padding already explicit


def report(title: str, fn, runs: int) -> float:
    fn()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(runs):
            fn()
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events) / runs / 1000
    rows = defaultdict(lambda: [0.0, 0.0])
    for event in events:
        ms = event.self_cpu_time_total / runs / 1000
        if ms < 0.005 * total:
            continue
        key = (event.key, str(event.input_shapes)[:70])
        rows[key][0] += ms
        rows[key][1] += conv_gflop(event.key, event.input_shapes) * event.count / runs
    print(f"\n{title}: {total:.0f} ms per image (CPU time of the calling thread, profiler on)")
    print(f"{'ms':>8} {'share':>6} {'GFLOP/s':>8}  operator  [input shapes]")
    for (name, shapes), (ms, gflop) in sorted(rows.items(), key=lambda item: -item[1][0]):
        rate = f"{gflop / ms * 1000:8.1f}" if gflop and ms else f"{'':>8}"
        print(f"{ms:8.1f} {ms / total:6.1%} {rate}  {name}  {shapes}")
    return total


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
    default_threads = torch.get_num_threads()
    engine = Engine(net, device="cpu", precision="auto", tile=None, compile="always")
    xc = x.contiguous(memory_format=torch.channels_last)
    print(f"{args.net} at {args.size}x{args.size} (padded {x.shape[-2]}x{x.shape[-1]}), load average {os.getloadavg()}")
    with torch.inference_mode():
        torch.set_num_threads(default_threads)
        eager = report(f"plain fp32 eager, contiguous, {default_threads} threads", lambda: plain(x), args.runs)
        torch.set_num_threads(engine.threads)
        fast = report(f"engine ({engine.precision}, compiled, channels-last, {engine.threads} threads)", lambda: engine._guarded(xc), args.runs)
    print(f"\nengine vs plain: {eager / fast:.2f}x (profiled CPU time); events: {engine.events}")


if __name__ == "__main__":
    main()
