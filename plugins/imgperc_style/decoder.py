"""Decoders that invert the VGG-19 encoder, registered as the transform net ``wct-decoder``.

Universal style transfer (Li et al., NeurIPS 2017) encodes a photo with VGG-19 up to
``relu{level}_1``, transforms the features (`.wct`) and decodes them back to an image. A
decoder mirrors the encoder: every VGG conv up to that tap becomes a 3x3 conv in reverse
order, each 2x2 max-pool a nearest x2 upsampling, with reflection padding and ReLU after every
conv but the last. ``width`` sets the channels of the full-resolution convs (64 in VGG); those
at 1/2 resolution get twice as many. The features (in the hundreds with the Caffe-style VGG-19)
are first divided by ``input_divisor``: a decoder started at unit scale trains steadily, where
one fed the raw features can stall with dead ReLUs (seen at relu2_1). Input: ``[N, C, H/2^(level-1), W/2^(level-1)]`` features;
output: ``[N,3,H,W]`` RGB, about [0,1] (unclamped while training).

The decoders are trained only to reconstruct natural photos (`.train_decoder`): they know
nothing of any painting, so one set serves every style.
"""

from __future__ import annotations

import torch
from torch import nn

from imgperc.netconfig import Int, net_config

ARCHITECTURE = "wct-decoder"
# VGG-19's convs up to relu3_1: (name, in, out) with 64 standing for the full-resolution width
ENCODER_CONVS = (
    ("conv1_1", 3, 64), ("conv1_2", 64, 64), "pool", ("conv2_1", 64, 128), ("conv2_2", 128, 128), "pool", ("conv3_1", 128, 256)
)
TAPS = {1: "relu1_1", 2: "relu2_1", 3: "relu3_1"}
FEATURE_CHANNELS = {1: 64, 2: 128, 3: 256}


def encoder_layers(level: int) -> tuple:
    """The encoder's convs and pools up to ``relu{level}_1``, in forward order."""
    end = [i for i, layer in enumerate(ENCODER_CONVS) if layer != "pool" and layer[0] == f"conv{level}_1"][0]
    return ENCODER_CONVS[: end + 1]


def _scaled(channels: int, width: int) -> int:
    """VGG's channel count with the full-resolution 64 replaced by ``width`` (3 stays 3)."""
    return channels if channels == 3 else channels * width // 64


class WCTDecoder(nn.Module):
    """Features at ``relu{level}_1`` -> RGB (see the module docstring)."""

    def __init__(self, level: int, width: int, input_divisor: int = 1) -> None:
        super().__init__()
        self.level, self.width, self.input_divisor = level, width, input_divisor
        layers: list[nn.Module] = []
        mirrored = list(reversed(encoder_layers(level)))
        for i, layer in enumerate(mirrored):
            if layer == "pool":
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
                continue
            _, cin, cout = layer  # the decoder maps out -> in
            source = FEATURE_CHANNELS[level] if i == 0 else _scaled(cout, width)
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(source, _scaled(cin, width), 3)]
            if i < len(mirrored) - 1:
                layers.append(nn.ReLU(inplace=True))
        self.body = nn.Sequential(*layers)

    def scaled(self, features: torch.Tensor) -> torch.Tensor:
        """The features as the first conv sees them (divided by ``input_divisor``)."""
        return features / self.input_divisor if self.input_divisor != 1 else features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(self.scaled(features))


@net_config(level=Int(1, 3), width=Int(8, 128), input_divisor=Int(1, 4096))
def wct_decoder(level: int = 3, width: int = 64, input_divisor: int = 1) -> WCTDecoder:
    """The decoder of ``relu{level}_1`` features, ``width`` channels at full resolution."""
    return WCTDecoder(level, width, input_divisor)
