"""Models shipped inside a plugin: each ``WEIGHTS_DIR/NAME.safetensors`` is the hub model ``NAME``.

A plugin registers one `imgperc.lazy.Deferred` per file, by its stem (so listing names reads no
file and imports no torch); the entry is made from the file's metadata when first looked up:
`builtin_metadata` reads and checks it, `builtin_model` makes the hub entry (``builtin``: no
download, works offline). The plugin words the description from the metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError, PluginError
from ..modelfile import read_metadata
from .spec import ModelSpec


def builtin_metadata(path: Path, task: str, label: str) -> dict[str, Any]:
    """The metadata of a shipped model file; a one-line PluginError naming the file if it is
    damaged or not a model of ``task`` (``label``: what the plugin calls those models)."""
    try:
        meta = read_metadata(path)
    except InputError as exc:
        raise PluginError(f"built-in model {path.name} is damaged ({exc})") from None
    if meta.get("task") != task:
        raise PluginError(f"built-in model {path.name} is not a {label} (its task is {meta.get('task')!r}, not {task!r})")
    return meta


def builtin_model(
    path: Path,
    meta: Mapping[str, Any],
    *,
    description: str,
    source: str,
    license: str = "MIT",
    extra: Mapping[str, Any] | None = None,
) -> ModelSpec:
    """The hub entry of a shipped model file, named after it; the file's own ``license`` and
    ``source`` (where its metadata has them) win over the plugin's defaults."""
    return ModelSpec(
        id=path.stem,
        task=meta["task"],
        description=description,
        license=meta.get("license", license),
        source=meta.get("source", source),
        builtin=path,
        extra=dict(extra or {}),
    )
