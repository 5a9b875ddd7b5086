"""``vgg16``: torchvision's ImageNet VGG-16, the paper's loss network.

The weights file (``vgg16-397923af.pth``, a pickled state dict) is checked the way torch.hub
checks it: the sha256 of the file must start with the hex prefix in its name. It is loaded
with ``torch.load(weights_only=True)`` (no arbitrary unpickling) and converted once into the
hub store as safetensors (``conv{b}_{i}.weight|bias``; the classifier is dropped).
Preprocessing is torchvision's: RGB [0,1] -> (x - ImageNet mean) / std.

torchvision's ``features`` indices map to tap names: 3 -> relu1_2, 8 -> relu2_2,
15 -> relu3_3, 22 -> relu4_3, 29 -> relu5_3 (see :func:`feature_index`).
"""

from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ... import hub
from ...errors import DownloadError, InputError
from ...modelfile import load_model_file
from .definition import NetworkDef
from .vgg import VGG16_BLOCKS, build_layers, conv_names, layer_names

if TYPE_CHECKING:
    import torch

    from .base import LossNetwork

MODEL_ID = "vgg16"
WEIGHTS = hub.RemoteFile(
    "https://download.pytorch.org/models/vgg16-397923af.pth",
    553433881,
    "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
)
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


def feature_index(name: str) -> int:
    """The index in torchvision's ``vgg16().features`` of a tap name (``relu2_2`` -> 8)."""
    return layer_names(VGG16_BLOCKS).index(name)


def model_spec() -> hub.ModelSpec:
    """The hub entry (built from ``WEIGHTS`` at call time, so tests can point it elsewhere)."""
    return hub.ModelSpec(
        id=MODEL_ID,
        task="loss-network",
        description="VGG-16, torchvision ImageNet weights (the paper's loss network)",
        license="BSD-3-Clause (torchvision)",
        source="https://pytorch.org/vision/stable/models/generated/torchvision.models.vgg16.html",
        files=(WEIGHTS,),
        convert=convert,
    )


def check_hash_prefix(path: Path, name: str) -> None:
    """Like torch.hub: the file's sha256 must start with the ``-<hex>.`` part of its name.

    A file that fails is deleted, so the next pull downloads it again.
    """
    match = _HASH_IN_NAME.search(name)
    if match is None:
        raise DownloadError(f"{name}: no hash prefix in the file name to check it against")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    prefix = match.group(1)
    if not digest.hexdigest().startswith(prefix):
        path.unlink(missing_ok=True)  # so the next pull downloads it again
        raise DownloadError(f"{name}: sha256 {digest.hexdigest()[:12]}… does not start with {prefix} as its name says")


def convert(raw: Mapping[str, Path]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Verify and load the torchvision state dict; keep the convolutions under tap names."""
    import torch

    ((name, path),) = raw.items()
    check_hash_prefix(Path(path), name)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError):
        # torch's own message advises unsafe loading: it must never reach a user
        raise InputError(f"{name} is not a loadable torchvision state dict (only plain tensors are accepted)") from None
    if not isinstance(state, dict):
        raise InputError(f"{name} does not hold a state dict")
    tensors = {}
    for conv in conv_names(VGG16_BLOCKS):
        index = feature_index(conv)
        for kind in ("weight", "bias"):
            key = f"features.{index}.{kind}"
            if key not in state:
                raise InputError(f"{name} lacks {key} (not a torchvision VGG-16 state dict)")
            tensors[f"{conv}.{kind}"] = state[key].float().contiguous()
    return tensors, {"convs": list(conv_names(VGG16_BLOCKS)), "layout": "OIHW", "preprocessing": "imagenet-mean-std"}


def fetch(taps: tuple[str, ...]) -> Path:
    """The installed weights file (every layer: torchvision ships them as one file)."""
    return hub.ensure(MODEL_ID)


def load(taps: tuple[str, ...]) -> LossNetwork:
    """The VGG-16 loss network cut after the deepest of ``taps``."""
    from .base import ImageNetNormalize, LossNetwork

    tensors, _ = load_model_file(fetch(taps))
    return LossNetwork(MODEL_ID, ImageNetNormalize(), build_layers(VGG16_BLOCKS, tensors, taps), taps)


NETWORK = NetworkDef(
    name=MODEL_ID,
    description="torchvision VGG-16 (ImageNet), the paper's loss network; ImageNet mean/std preprocessing",
    layers=layer_names(VGG16_BLOCKS),
    loader=load,
    default_recipe="paper",
    models=(MODEL_ID,),
    prefetch=fetch,
)
