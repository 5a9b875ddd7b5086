"""The one local model format: a safetensors file whose header carries imgperc's JSON metadata.

Nothing is ever unpickled. The metadata names the architecture (a transform net registered by
some plugin) and its config, so the core can rebuild any plugin's net from the file alone; the
config is checked against the architecture's declared bounds first. Files of the local store are
verified against their install checksums before use (`imgperc.integrity`). Reading metadata
imports no torch (listing models, as `--help` does, reads it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from safetensors import SafetensorError, safe_open

from . import plugins
from .atomic import atomic_path
from .errors import ConfigError, InputError, PluginError
from .integrity import verify
from .netconfig import check_config, full_config

if TYPE_CHECKING:
    import torch

META_KEY = "imgperc"


def save_model_file(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any], *, overwrite: bool = True) -> None:
    """Write tensors plus metadata atomically."""
    from safetensors.torch import save_file

    contiguous = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        save_file(contiguous, str(tmp), metadata={META_KEY: json.dumps(meta, sort_keys=True)})


def net_identity(meta: Mapping[str, Any]) -> tuple[Any, Any]:
    """The net a model's metadata builds: its architecture and its config with the builder's
    defaults filled in, so that a file older than a config key equals a newer one of the same
    net (the config as recorded where the architecture or the config is not known)."""
    architecture, config = meta.get("architecture"), meta.get("config") or {}
    try:
        return architecture, full_config(plugins.registry("transform_nets").get(architecture), config)
    except (ConfigError, PluginError):
        return architecture, config


def read_metadata(path: Path) -> dict[str, Any]:
    """Only the metadata (cheap: reads the header)."""
    meta, _ = _header(Path(path), shapes=False)
    return meta


def _header(path: Path, shapes: bool = True) -> tuple[dict[str, Any], dict[str, tuple[int, ...]]]:
    """The metadata and (with ``shapes``) the shape of every tensor, from the header alone."""
    try:
        with safe_open(str(path), framework="numpy") as f:  # only the header is read; "pt" would import torch
            raw = (f.metadata() or {}).get(META_KEY)
            tensor_shapes = {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()} if shapes else {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path} is not a valid imgperc model file ({exc})") from None
    if raw is None:
        raise InputError(f"{path} has no imgperc metadata (not an imgperc model file)")
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise InputError(f"{path} has damaged imgperc metadata (not a JSON object)")
    return meta, tensor_shapes


def _checked(path: Path) -> Path:
    """``path`` if it exists and matches the checksum recorded at install (`imgperc.integrity`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {path} does not exist")
    verify(path)
    return path


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path} is not a valid imgperc model file ({exc})") from None


def load_model_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and metadata."""
    path = _checked(path)
    meta = read_metadata(path)
    return _tensors(path), meta


def build_model(path: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the net a model file describes and load its weights (in fp32, eval mode).

    Before any tensor is allocated, the file's config is checked against the architecture's
    declared bounds (`imgperc.netconfig`) and the net's parameter shapes, built on the meta
    device, against the tensors the file's header lists.
    """
    import torch

    path = _checked(path)
    meta, shapes = _header(path)
    arch = meta.get("architecture")
    if not arch or not isinstance(arch, str):
        raise InputError(f"{path} does not name its architecture")
    builder = plugins.registry("transform_nets").get(arch)
    config = meta.get("config", {})
    try:
        check_config(builder, config)
    except ConfigError as exc:
        raise ConfigError(f"{path}: bad config for architecture '{arch}': {exc}") from None
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in builder(**config).state_dict().items()}
    mismatch = _mismatch(expected, shapes)
    if mismatch:
        raise InputError(f"{path} does not match architecture '{arch}' ({mismatch})")
    net = builder(**config)
    net.load_state_dict({k: v.float() for k, v in _tensors(path).items()})
    return net.eval(), meta


def _mismatch(expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]]) -> str:
    """The first difference between the net's tensors and the file's, or ''."""
    missing = sorted(set(expected) - set(found))
    if missing:
        return f"missing tensor {missing[0]}"
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        return f"unexpected tensor {unexpected[0]}"
    for name in sorted(expected):
        if expected[name] != found[name]:
            return f"tensor {name} has shape {list(found[name])}, the net needs {list(expected[name])}"
    return ""
