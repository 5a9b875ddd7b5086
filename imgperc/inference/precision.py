"""Reduced precision in the engine: which convolutions run in the dtype, and the guard.

The dtype comes from the one precision policy, `imgperc.precision.resolve`. Reduced precision
applies to convolutions only, and not to the image-facing ones (3 or 4 channels in or out: the
first layer, which sees raw pixels, and the output layer): their outputs are cast back to fp32,
so instance-norm statistics, residual sums and the output activation stay in fp32.
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

IMAGE_CHANNELS = 4
BLACK = 1.0 / 255.0

aten = torch.ops.aten


def image_facing(weight: torch.Tensor) -> bool:
    """True for a convolution that reads or writes image channels (kept in fp32)."""
    return min(weight.shape[0], weight.shape[1]) <= IMAGE_CHANNELS


def reduced(dtype: torch.dtype, x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether a convolution of ``x`` by ``weight`` should run in ``dtype``."""
    return dtype != torch.float32 and x.dtype == torch.float32 and not image_facing(weight)


def low_precision_convolution(dtype: torch.dtype, x, weight, bias, *args) -> torch.Tensor:
    """``aten.convolution`` computed in ``dtype``, the result cast back to fp32."""
    bias = None if bias is None else bias.to(dtype)
    return aten.convolution.default(x.to(dtype), weight.to(dtype), bias, *args).to(torch.float32)


# what eager convolutions reach a dispatch mode as (in inference mode, conv2d is not decomposed)
_CONVOLUTIONS = {
    aten.convolution.default,
    aten.conv1d.default,
    aten.conv2d.default,
    aten.conv3d.default,
    aten.conv1d.padding,
    aten.conv2d.padding,
    aten.conv3d.padding,
    aten.conv_transpose1d.default,
    aten.conv_transpose2d.input,
    aten.conv_transpose3d.input,
}


class ReducedPrecision(TorchDispatchMode):
    """Eager execution with the convolutions in ``dtype`` (see the module docstring)."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func not in _CONVOLUTIONS or not reduced(self.dtype, args[0], args[1]):
            return func(*args, **kwargs)
        args = [args[0].to(self.dtype), args[1].to(self.dtype), *args[2:]]
        if len(args) > 2 and args[2] is not None:
            args[2] = args[2].to(self.dtype)
        if kwargs.get("bias") is not None:
            kwargs["bias"] = kwargs["bias"].to(self.dtype)
        return func(*args, **kwargs).to(torch.float32)


def suspicious(output: torch.Tensor, source: torch.Tensor) -> str | None:
    """Why ``output`` (before clamping) looks broken by reduced precision, or None.

    Broken: NaN or infinite values, or a black image where the input was not black.
    """
    if not bool(torch.isfinite(output).all()):
        return "NaN or infinite values"
    out_max = output.flatten(1).amax(dim=1)
    in_max = source.flatten(1).amax(dim=1)
    if bool(((out_max <= BLACK) & (in_max > 4 * BLACK)).any()):
        return "a black image"
    return None
