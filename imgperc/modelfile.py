"""The one local model format: a safetensors file whose header carries imgperc's JSON metadata.

Nothing is ever unpickled. The metadata names the architecture (a transform net registered by
some plugin) and its config, so the core can rebuild any plugin's net from the file alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import plugins
from .atomic import atomic_path
from .errors import InputError

META_KEY = "imgperc"


def save_model_file(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any], *, overwrite: bool = True) -> None:
    """Write tensors plus metadata atomically."""
    contiguous = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        save_file(contiguous, str(tmp), metadata={META_KEY: json.dumps(meta, sort_keys=True)})


def read_metadata(path: Path) -> dict[str, Any]:
    """Only the metadata (cheap: reads the header)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(META_KEY)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path} is not a valid imgperc model file ({exc})") from None
    if raw is None:
        raise InputError(f"{path} has no imgperc metadata (not an imgperc model file)")
    return json.loads(raw)


def load_model_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and metadata."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {path} does not exist")
    meta = read_metadata(path)
    return load_file(str(path)), meta


def build_model(path: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the net a model file describes and load its weights (in fp32, eval mode)."""
    tensors, meta = load_model_file(path)
    arch = meta.get("architecture")
    if not arch:
        raise InputError(f"{path} does not name its architecture")
    builder = plugins.registry("transform_nets").get(arch)
    net = builder(**meta.get("config", {}))
    state = {k: v.float() for k, v in tensors.items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"{path} does not match architecture '{arch}' ({first})") from None
    return net.eval(), meta
