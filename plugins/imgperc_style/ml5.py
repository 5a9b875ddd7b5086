"""The nine pretrained ml5 style nets: architecture ``ml5`` and checkpoint converter (their hub
entries: `.ml5_styles`).

ml5 ships deeplearn.js checkpoints of Logan Engstrom's TensorFlow fast-style-transfer nets:
``manifest.json`` maps ``Variable``, ``Variable_1`` ... ``Variable_47`` to files of raw
little-endian float32 in TensorFlow layout. They are (kernel, instance-norm shift, instance-norm
scale) for 16 layers in this order: conv 9x9 3->32, conv 3x3 s2 ->64, conv 3x3 s2 ->128, five
residual blocks of two 3x3 convs, transposed conv 3x3 s2 ->64, transposed conv 3x3 s2 ->32, conv
9x9 ->3. `ML5Net` reproduces the TensorFlow graph exactly: no biases, "SAME" zero padding (the
odd pixel at the bottom/right), instance norm with eps 1e-3, input RGB 0-255, output
``tanh(x)·150 + 127.5`` clipped to 0-255 (returned as [0, 1]).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imgperc.errors import InputError
from imgperc.netconfig import net_config

ARCHITECTURE = "ml5"
EPS = 1e-3


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME": output ceil(size/stride); the odd padding pixel goes after.

    ``(ceil(size/stride) - 1)·stride + kernel - size`` simplified: it depends only on size mod
    stride, so a graph traced at one size (ONNX export) stays right at every size a multiple of 4.
    """
    total = max(kernel - (size % stride or stride), 0)
    return total // 2, total - total // 2


def conv2d_same(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """``tf.nn.conv2d(..., padding="SAME")`` on NCHW with a torch-layout [out,in,kh,kw] kernel."""
    kh, kw = weight.shape[-2:]
    top, bottom = _same_padding(x.shape[-2], kh, stride)
    left, right = _same_padding(x.shape[-1], kw, stride)
    return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, stride=stride)


def conv_transpose2d_same(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """``tf.nn.conv2d_transpose`` to ``size·stride`` with "SAME": the adjoint of `conv2d_same`.

    The full transposed convolution has ``(n-1)·stride + k`` pixels; TF keeps the window that
    starts at the forward conv's top/left padding (0 for k=3, s=2: the extra row/column at the
    bottom/right is dropped). ``weight`` is torch layout [in,out,kh,kw].
    """
    kh, kw = weight.shape[-2:]
    # what is cropped (k - stride in all) does not depend on the size: ends counted from the end
    # keep the crop right at every size, in exported (ONNX) graphs too
    top, bottom = _same_padding(stride, kh, stride)
    left, right = _same_padding(stride, kw, stride)
    full = F.conv_transpose2d(x, weight, stride=stride)
    return full[..., top : -bottom or None, left : -right or None]


class TFLayer(nn.Module):
    """A bias-free conv (or transposed conv) followed by instance norm with a shift and scale."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, *, transpose: bool = False):
        super().__init__()
        shape = (c_in, c_out, kernel, kernel) if transpose else (c_out, c_in, kernel, kernel)
        self.weight = nn.Parameter(torch.zeros(shape))
        self.shift = nn.Parameter(torch.zeros(c_out))
        self.scale = nn.Parameter(torch.ones(c_out))
        self.stride = stride
        self.transpose = transpose

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        op = conv_transpose2d_same if self.transpose else conv2d_same
        y = op(x, self.weight, self.stride)
        return F.instance_norm(y, weight=self.scale, bias=self.shift, eps=EPS)


class ML5Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.a = TFLayer(channels, channels, 3)
        self.b = TFLayer(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.relu(self.a(x)))


class ML5Net(nn.Module):
    """The ml5 / fast-style-transfer transform net: [N,3,H,W] RGB in [0,1] -> same, in [0,1].

    H and W should be multiples of 4 (``size_multiple``) for the output to match the input size.
    """

    size_multiple = 4

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = TFLayer(3, 32, 9)
        self.conv2 = TFLayer(32, 64, 3, 2)
        self.conv3 = TFLayer(64, 128, 3, 2)
        self.res = nn.Sequential(*(ML5Residual(128) for _ in range(5)))
        self.deconv1 = TFLayer(128, 64, 3, 2, transpose=True)
        self.deconv2 = TFLayer(64, 32, 3, 2, transpose=True)
        self.conv4 = TFLayer(32, 3, 9)

    def layers(self) -> list[str]:
        """Layer names in checkpoint order (variables 3i, 3i+1, 3i+2 belong to layer i)."""
        res = [f"res.{i}.{half}" for i in range(5) for half in "ab"]
        return ["conv1", "conv2", "conv3", *res, "deconv1", "deconv2", "conv4"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv1(x * 255.0))
        y = F.relu(self.conv2(y))
        y = F.relu(self.conv3(y))
        y = self.res(y)
        y = F.relu(self.deconv1(y))
        y = F.relu(self.deconv2(y))
        y = torch.tanh(self.conv4(y)) * 150.0 + 127.5
        return y.clamp(0.0, 255.0) / 255.0


@net_config()
def ml5() -> ML5Net:
    """Builder registered as the ``ml5`` transform net (no config)."""
    return ML5Net()


def _variable_name(index: int) -> str:
    return "Variable" if index == 0 else f"Variable_{index}"


def checkpoint_to_state(files: Mapping[str, Path]) -> dict[str, torch.Tensor]:
    """Read a deeplearn.js checkpoint (``manifest.json`` + raw variables) into ML5Net's state dict."""
    try:
        manifest = json.loads(Path(files["manifest.json"]).read_text())
    except (KeyError, OSError, json.JSONDecodeError) as exc:
        raise InputError(f"not an ml5 style checkpoint: unreadable manifest.json ({exc})") from None
    net = ML5Net()
    expected = net.state_dict()
    state: dict[str, torch.Tensor] = {}
    for i, layer in enumerate(net.layers()):
        for j, part in enumerate(("weight", "shift", "scale")):
            var = _variable_name(3 * i + j)
            key = f"{layer}.{part}"
            entry = manifest.get(var)
            if entry is None or entry.get("filename") not in files:
                raise InputError(f"not an ml5 style checkpoint: {var} is missing")
            tf_shape = tuple(entry["shape"])
            data = np.fromfile(files[entry["filename"]], dtype="<f4")
            if data.size != math.prod(tf_shape):
                raise InputError(f"ml5 checkpoint: {var} holds {data.size} floats, its shape {tf_shape} needs {math.prod(tf_shape)}")
            tensor = torch.from_numpy(data.reshape(tf_shape).astype(np.float32))
            if part == "weight":
                # conv [h,w,in,out] -> [out,in,h,w]; transposed conv [h,w,out,in] -> [in,out,h,w]
                tensor = tensor.permute(3, 2, 0, 1)
            if tuple(tensor.shape) != tuple(expected[key].shape):
                raise InputError(f"ml5 checkpoint: {var} has shape {tf_shape}, which does not fit layer {key}")
            state[key] = tensor.contiguous()
    return state


def convert(files: Mapping[str, Path], *, style: str, upstream: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Hub converter: raw checkpoint files -> (torch tensors, model-file metadata)."""
    meta = {"architecture": ARCHITECTURE, "config": {}, "task": "style", "style": style, "upstream": upstream}
    return checkpoint_to_state(files), meta
