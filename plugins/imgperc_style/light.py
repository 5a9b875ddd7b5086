"""A light style transform net for real-time CPU inference, registered as ``light``.

It is trained by distillation (`imgperc distill`) to look like a bigger style net at a tenth of
the cost. Same convention as ``johnson`` and ``ml5``: RGB in [0, 1] in and out, H and W multiples
of 4 (``size_multiple``; `imgperc.inference` pads inputs), affine instance norm after every conv
but the last, and the paper's scaled tanh output (``nets.OUTPUT_SCALE``).

Nothing runs at full resolution, where a 512 image costs the most memory traffic:

- stem: space-to-depth x2 (3 -> 12 channels at 1/2 resolution, lossless), conv 3x3 -> width/2;
- conv 3x3 stride 2 -> ``width`` channels at 1/4 resolution;
- ``depth`` residual blocks of two 3x3 convs (as in ``johnson``) at 1/4 resolution;
- nearest x2 upsampling and conv 3x3 -> width/2 at 1/2 resolution;
- head: conv 3x3 -> 12 channels and depth-to-space x2: RGB at full resolution.

The defaults (width 48, depth 3) cost 6.5 GFLOP at 512x512 (9.1 at 608x608, the ml5 nets'
padded size), a tenth of ``ml5``; the measurements that chose them are in
``benchmarks/light_variants.py`` and docs/styles.md.

It asks for 16 pixels of reflection padding (``reflection_pad``), not the default 48: its convs
pad by reflection themselves, and on held-out photos its outputs at 16 differ from those at 48
by 42-44 dB PSNR (also in a 24-pixel ring at the border), while a 512 image runs at 544x544,
20% fewer pixels than 608x608.
"""

from __future__ import annotations

import torch
from torch import nn

from imgperc.netconfig import Int, net_config

from .nets import OUTPUT_SCALE, ConvLayer, ResidualBlock, UpsampleConv

ARCHITECTURE = "light"


class LightNet(nn.Module):
    """[N,3,H,W] RGB in [0,1] -> same shape (see the module docstring for the layout)."""

    size_multiple = 4
    reflection_pad = 16

    def __init__(self, width: int = 48, depth: int = 3) -> None:
        super().__init__()
        half = max(width // 2, 1)
        self.stem = nn.Sequential(nn.PixelUnshuffle(2), ConvLayer(12, half, 3))
        self.down = ConvLayer(half, width, 3, 2)
        self.body = nn.Sequential(*(ResidualBlock(width) for _ in range(depth)))
        self.up = UpsampleConv(width, half)
        self.head = nn.Sequential(ConvLayer(half, 12, 3, norm=False, relu=False), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.up(self.body(self.down(self.stem(x)))))
        return 0.5 + OUTPUT_SCALE * torch.tanh(y)


@net_config(width=Int(2, 256), depth=Int(0, 32))
def light(width: int = 48, depth: int = 3) -> LightNet:
    """Builder registered as the ``light`` transform net (config: width, depth)."""
    return LightNet(width=width, depth=depth)
