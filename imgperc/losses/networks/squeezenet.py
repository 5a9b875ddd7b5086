"""``squeezenet1_1``: SqueezeNet 1.1 (ImageNet, ONNX model zoo), a small non-VGG loss network.

Upstream: BruceDai/test-data @ 38659dfb, ``models/squeezenet1.1_nchw/weights/``: one ``.npy``
per tensor (``squeezenet0_conv{k}_weight|bias``, OIHW float32), all 52 pinned by size and
sha256 (``squeezenet_files.json``). The layout is MXNet Gluon's: conv k=0 is ``conv1``
(3x3, stride 2, no padding), then eight fire modules of three convs each (squeeze 1x1, expand 1x1,
expand 3x3; k=1..24), then ``conv10`` (k=25, the 1000-class 1x1 conv). Max pooling is 3x3,
stride 2, ceil mode.

Taps, in order: ``conv1 relu1 pool1 fire2 fire3 pool3 fire4 fire5 pool5 fire6 fire7 fire8
fire9 conv10 relu10 pool10`` (a fire tap is its concatenated, rectified expand outputs;
``pool10`` is the global average, i.e. the class scores). Preprocessing: ImageNet mean/std on
[0,1] RGB, as the model zoo documents for this model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ... import hub
from ...errors import InputError
from ...modelfile import load_model_file
from .definition import NetworkDef

if TYPE_CHECKING:
    import torch

    from .base import LossNetwork

MODEL_ID = "squeezenet1_1"
BASE_URL = (
    "https://raw.githubusercontent.com/BruceDai/test-data/38659dfbc5f69daddb71b42d10eb4970176ddc54/"
    "models/squeezenet1.1_nchw/weights/"
)
FIRES = {2: (16, 64), 3: (16, 64), 4: (32, 128), 5: (32, 128), 6: (48, 192), 7: (48, 192), 8: (64, 256), 9: (64, 256)}
LAYERS = (
    "conv1", "relu1", "pool1", "fire2", "fire3", "pool3", "fire4", "fire5", "pool5",
    "fire6", "fire7", "fire8", "fire9", "conv10", "relu10", "pool10",
)  # fmt: skip


def _upstream_names() -> dict[int, str]:
    """Gluon conv index -> our tensor prefix."""
    names = {0: "conv1", 25: "conv10"}
    for fire in FIRES:
        base = 1 + 3 * (fire - 2)
        names.update({base: f"fire{fire}.squeeze", base + 1: f"fire{fire}.expand1x1", base + 2: f"fire{fire}.expand3x3"})
    return names


def model_spec() -> hub.ModelSpec:
    pinned = json.loads((Path(__file__).with_name("squeezenet_files.json")).read_text())
    return hub.ModelSpec(
        id=MODEL_ID,
        task="loss-network",
        description="SqueezeNet 1.1, ImageNet (ONNX model zoo), a small non-VGG loss network",
        license="Apache-2.0",
        source="https://github.com/onnx/models/tree/main/validated/vision/classification/squeezenet",
        files=tuple(hub.RemoteFile(BASE_URL + name, size, sha) for name, (size, sha) in pinned.items()),
        convert=convert,
    )


def convert(raw: Mapping[str, Path]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The 52 ``.npy`` tensors (no pickles allowed) under our layer names."""
    import numpy as np
    import torch

    tensors = {}
    for index, prefix in _upstream_names().items():
        for kind in ("weight", "bias"):
            name = f"squeezenet0_conv{index}_{kind}.npy"
            try:
                array = np.load(raw[name], allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise InputError(f"{name} is not a valid .npy tensor ({exc})") from None
            tensors[f"{prefix}.{kind}"] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return tensors, {"layout": "OIHW", "preprocessing": "imagenet-mean-std"}


def fetch(taps: tuple[str, ...]) -> Path:
    """The installed weights (every layer: one hub model)."""
    return hub.ensure(MODEL_ID)


def load(taps: tuple[str, ...]) -> LossNetwork:
    """SqueezeNet 1.1 cut after the deepest of ``taps``."""
    from .base import ImageNetNormalize, LossNetwork
    from .squeezenet_layers import layer

    weights, _ = load_model_file(fetch(taps))
    deepest = max(LAYERS.index(t) for t in taps)
    layers = [(name, layer(name, weights)) for name in LAYERS[: deepest + 1]]
    return LossNetwork(MODEL_ID, ImageNetNormalize(), layers, taps)


NETWORK = NetworkDef(
    name=MODEL_ID,
    description="SqueezeNet 1.1 (ImageNet, ONNX model zoo); ImageNet mean/std preprocessing",
    layers=LAYERS,
    loader=load,
    models=(MODEL_ID,),
    prefetch=fetch,
)
