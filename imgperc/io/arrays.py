"""numpy arrays in and out of an `Image`, for the Python API (`imgperc.load`).

An array is ``H×W`` or ``H×W×C`` with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA), of
uint8, uint16 or floats in [0, 1]. The array that comes back has the input's dtype and layout:
its channels are those of the output image (a task may turn gray into colour).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from .image import Image

_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def from_array(array: np.ndarray) -> Image:
    """The `Image` of an ``H×W[×C]`` array (see the module docstring); an InputError otherwise."""
    samples = array[..., None] if array.ndim == 2 else array
    if samples.ndim != 3 or samples.shape[2] not in (1, 2, 3, 4) or 0 in samples.shape[:2]:
        raise InputError(f"expected an HxW or HxWxC array with 1 to 4 channels, got shape {array.shape}")
    values = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).permute(2, 0, 1)
    if array.dtype in _SCALES:
        values /= _SCALES[array.dtype]
    elif not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"expected a uint8, uint16 or float array, not {array.dtype}")
    elif not (torch.isfinite(values).all() and 0.0 <= values.min() and values.max() <= 1.0):
        raise InputError("a float array must hold values in [0, 1]")
    channels = samples.shape[2]
    gray = channels <= 2
    colour = values[:1].repeat(3, 1, 1) if gray else values[:3].contiguous()
    alpha = values[channels - 1 :].contiguous() if channels in (2, 4) else None
    return Image(colour, alpha, bit_depth=16 if array.dtype == np.uint16 else 8, grayscale=gray)


def to_array(image: Image, like: np.ndarray) -> np.ndarray:
    """``image`` as an array of ``like``'s dtype: ``H×W`` where ``like`` is and the output is one
    gray channel, else ``H×W×C`` (gray or RGB, then alpha if any)."""
    colour = image.pixels[:1] if image.grayscale else image.pixels
    channels = colour if image.alpha is None else torch.cat([colour, image.alpha.to(colour)])
    values = torch.nan_to_num(channels.detach().to("cpu", torch.float32), nan=0.0).clamp(0, 1).permute(1, 2, 0)
    scale = _SCALES.get(like.dtype)
    samples = (values * scale).round().numpy().astype(like.dtype) if scale else values.numpy().astype(like.dtype)
    return samples[..., 0] if like.ndim == 2 and samples.shape[2] == 1 else np.ascontiguousarray(samples)
