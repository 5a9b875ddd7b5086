"""ONNX export of transform nets (`imgperc export`), checked in ONNX Runtime before it is kept.

The graph is the net itself and the clamp to [0, 1] that imgperc applies: input ``image``
``[N, 3, H, W]`` float32 RGB in [0, 1], output ``[N, 3, H·scale, W·scale]``, with N, H and W
dynamic. H and W must be multiples of the net's ``size_multiple`` (recorded in the file's
metadata with the model file's own); for clean borders reflect-pad the image first and crop the
output, as imgperc does. The file is written only once ONNX Runtime, run at another size than
the one traced, reproduces the PyTorch net (at least ``MIN_PSNR`` dB).

Needs the optional packages ``onnx`` and ``onnxruntime`` (``pip install 'imgperc[onnx]'``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .atomic import atomic_path
from .errors import ImgpercError
from .metrics import psnr

OPSET = 17
MIN_PSNR = 40.0
TRACE_SIDE = 32  # traced at about this size, checked at a larger, non-square one


class Clamped(nn.Module):
    """The net with its output clamped to [0, 1]."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).clamp(0.0, 1.0)


def require_onnx() -> None:
    """A one-line error when the optional ONNX packages are missing."""
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImgpercError(f"ONNX export needs {' and '.join(missing)}: pip install 'imgperc[onnx]'")


def _sides(multiple: int) -> tuple[int, int, int]:
    """The traced side, and the check's height and width (all multiples of ``multiple``)."""
    side = multiple * math.ceil(TRACE_SIDE / multiple)
    return side, side + 2 * multiple, side + 6 * multiple


def check_onnx(path: Path, net: nn.Module, batch: torch.Tensor) -> float:
    """The PSNR of the ONNX file against ``net`` on ``batch`` in ONNX Runtime."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {"image": batch.numpy()})
    with torch.inference_mode():
        expected = net(batch)
    if tuple(result.shape) != tuple(expected.shape):
        raise ImgpercError(f"the exported graph gives shape {list(result.shape)} where the net gives {list(expected.shape)}: it cannot be exported with dynamic sizes")
    return psnr(torch.from_numpy(result), expected, data_range=1.0)


def export_onnx(net: nn.Module, path: Path, meta: dict[str, Any], *, opset: int = OPSET, overwrite: bool = False) -> float:
    """Write ``net`` (fp32) to ``path`` as ONNX with ``meta`` (the model file's metadata) in its
    metadata; returns the check's PSNR. Nothing is written if the check fails."""
    require_onnx()
    import onnx

    wrapped = Clamped(net.float().cpu()).eval()
    multiple = int(getattr(net, "size_multiple", 1))
    side, height, width = _sides(multiple)
    example = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))
    check = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(1))
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
            torch.onnx.export(
                wrapped, (example,), str(tmp), dynamo=False, opset_version=opset, input_names=["image"], output_names=["output"],
                dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "out_height", 3: "out_width"}},
            )
        model = onnx.load(str(tmp))
        extra = {"imgperc": json.dumps(meta, sort_keys=True), "size_multiple": str(multiple), "scale": str(int(getattr(net, "scale", 1)))}
        onnx.helper.set_model_props(model, extra)
        model.doc_string = f"imgperc {meta.get('task', '')} model: [N,3,H,W] RGB in [0,1], H and W multiples of {multiple}"
        onnx.save(model, str(tmp))
        quality = check_onnx(tmp, wrapped, check)
        if quality < MIN_PSNR:
            raise ImgpercError(f"the exported graph differs from the net at {width}x{height} ({quality:.1f} dB PSNR, under {MIN_PSNR:.0f}): not written")
    return quality
