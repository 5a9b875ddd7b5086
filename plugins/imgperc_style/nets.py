"""The trainable style transform net of Johnson et al. (2016), registered as ``johnson``.

Layout (defaults): reflection-padded conv 9x9 3->32, two stride-2 convs 3x3 (64, 128), five
residual blocks of 128 channels, two nearest-neighbour x2 upsamplings each followed by a 3x3
conv (64, 32), and a final conv 9x9 ->3. Every conv but the last is followed by an affine
instance norm and a ReLU (the second conv of a residual block has no ReLU).

Input and output are RGB in [0, 1]. The output activation is the paper's scaled tanh,
``0.5 + (150/255)·tanh(x)`` (the paper's ``150·tanh(x) + 127.5`` on a 0-255 scale): it can
reach slightly beyond [0, 1], so training never sits on a flat, saturated gradient at the
ends of the range; inference clamps to [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from imgperc.netconfig import Int, net_config

OUTPUT_SCALE = 150.0 / 255.0


class ConvLayer(nn.Sequential):
    """Reflection pad, conv (no bias: the norm's shift replaces it), and optionally IN + ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, *, norm: bool = True, relu: bool = True):
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride, bias=not norm)]
        if norm:
            layers.append(nn.InstanceNorm2d(c_out, affine=True))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two 3x3 convs with instance norm; ReLU only after the first; identity shortcut."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(ConvLayer(channels, channels, 3), ConvLayer(channels, channels, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Sequential):
    """Nearest-neighbour x2 upsampling then a 3x3 conv (no checkerboard artefacts)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(c_in, c_out, 3))


class JohnsonNet(nn.Module):
    """Image transformation net for style transfer: [N,3,H,W] in [0,1] -> same shape.

    ``channels`` is the width of the first layer (doubled by each downsampling);
    ``residual_blocks`` the depth of the middle. H and W must be multiples of 4
    (``size_multiple``); `imgperc.inference` pads inputs accordingly.
    """

    size_multiple = 4

    def __init__(self, channels: int = 32, residual_blocks: int = 5):
        super().__init__()
        c1, c2, c3 = channels, channels * 2, channels * 4
        self.down = nn.Sequential(ConvLayer(3, c1, 9), ConvLayer(c1, c2, 3, 2), ConvLayer(c2, c3, 3, 2))
        self.res = nn.Sequential(*(ResidualBlock(c3) for _ in range(residual_blocks)))
        self.up = nn.Sequential(UpsampleConv(c3, c2), UpsampleConv(c2, c1))
        self.out = ConvLayer(c1, 3, 9, norm=False, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.out(self.up(self.res(self.down(x))))
        return 0.5 + OUTPUT_SCALE * torch.tanh(y)


@net_config(channels=Int(1, 256), residual_blocks=Int(0, 64))
def johnson(channels: int = 32, residual_blocks: int = 5) -> JohnsonNet:
    """Builder registered as the ``johnson`` transform net (config: channels, residual_blocks)."""
    return JohnsonNet(channels=channels, residual_blocks=residual_blocks)
