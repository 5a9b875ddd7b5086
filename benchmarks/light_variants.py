"""FLOPs and speed of candidate light style nets against ml5: the figures behind ``light``'s defaults.

    nice -n 10 python benchmarks/light_variants.py [--size 512] [--runs 3] [--compile never|always]

Each candidate runs through the inference engine at one padded size for all, the ml5 nets'
(reflection pad ``DEFAULT_PAD``, 48: 608x608 for 512; the light net itself now asks for 16),
fp32 on the CPU, random weights (speed does not depend on them). GFLOP are counted by
``torch.utils.flop_counter`` (convolutions); ms/image is the median of --runs after one untimed
run. ``--compile never`` (the default) times eager channels-last
PyTorch and takes a minute; ``always`` compiles each net first (minutes) as `imgperc stylize`
does on repeated use. The ``separable`` candidate (depthwise 3x3 + pointwise 1x1 residual
blocks at a larger width) exists only here: on CPUs depthwise convolutions are memory-bound,
so it saves FLOPs but not time.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from imgperc import plugins
from imgperc.inference import DEFAULT_PAD, bench
from imgperc_style.light import LightNet
from imgperc_style.nets import ConvLayer


class SeparableBlock(nn.Module):
    """Residual block of two (depthwise 3x3, pointwise 1x1, instance norm) units."""

    def __init__(self, channels: int) -> None:
        super().__init__()

        def unit(relu: bool) -> nn.Sequential:
            depthwise = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, groups=channels, bias=False))
            return nn.Sequential(depthwise, ConvLayer(channels, channels, 1, relu=relu))

        self.body = nn.Sequential(unit(True), unit(False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def separable(width: int, depth: int) -> LightNet:
    net = LightNet(width=width, depth=0)
    net.body = nn.Sequential(*(SeparableBlock(width) for _ in range(depth)))
    return net


def candidates() -> dict[str, nn.Module]:
    nets = plugins.registry("transform_nets")
    return {
        "ml5 (reference)": nets.get("ml5")(),
        "johnson channels=16": nets.get("johnson")(channels=16, residual_blocks=5),
        "light width=48 depth=3": nets.get("light")(width=48, depth=3),
        "light width=64 depth=2": nets.get("light")(width=64, depth=2),
        "light width=32 depth=5": nets.get("light")(width=32, depth=5),
        "separable width=96 depth=5": separable(96, 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compile", choices=("never", "always"), default="never")
    args = parser.parse_args()
    info = bench.machine()
    print(f"{info['device']}; {info['physical_cores']} physical cores; torch {info['torch']}; load average {info['load_average']}")
    print(f"{'candidate':<28} {'params':>8} {'GFLOP':>7} {'ms/image':>9} {'images/s':>8}")
    torch.manual_seed(0)
    for name, net in candidates().items():
        params = sum(p.numel() for p in net.parameters())
        result = bench.measure(net.eval(), size=args.size, pad=DEFAULT_PAD, device="cpu", precision="fp32",
                               compile=args.compile, runs=args.runs, warmup=0, baseline=False)
        print(f"{name:<28} {params:>8} {result.gflop_per_image:7.2f} {result.ms_per_image:9.1f} {result.images_per_s:8.2f}")
    print(f"load average at the end {bench.machine()['load_average']}")


if __name__ == "__main__":
    main()
