"""Models shipped inside a plugin: each file of a plugin's weights folder is a built-in hub model.

A plugin declares its folder with a `WeightsFolder` (one task per folder) and calls
`register_weights` from its ``register_models`` hook: one `imgperc.lazy.Deferred` per
``FOLDER/NAME.safetensors``, by its stem (so listing names reads no file and imports no torch).
The entry is made when first looked up: `builtin_metadata` reads and checks the file, the
plugin's ``spec`` callable words it with `builtin_model` (``builtin``: no download, works
offline). The declaration also tells `imgperc models ship` (`imgperc.hub.ship`) where a model
of that task ships and what the plugin adds to its metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Mapping
from weakref import WeakKeyDictionary

from .. import plugins
from ..errors import InputError, PluginError
from ..hookspecs import Register
from ..lazy import Deferred, Target, load
from ..modelfile import read_metadata
from .spec import ModelSpec

DEFAULT_LICENSE = "MIT"  # the licence of weights imgperc trained itself


@dataclass(frozen=True)
class WeightsFolder:
    """A plugin's folder of shipped model files of one ``task``.

    ``label``: what the plugin calls those models (for errors). Callables are
    ``"package.module:function"`` targets, imported when used: ``spec(path, meta)`` makes the
    hub entry (`builtin_model`); ``ship_metadata(meta)``, if given, returns what `imgperc
    models ship` adds to a shipped file's metadata (e.g. FLOPs); ``scores(result, method,
    meta)``, if given, turns one eval JSON's results for ``method`` into ``(key, entry)`` for
    ``--scores``.
    """

    task: str
    folder: Path
    label: str
    spec: Target
    ship_metadata: Target | None = None
    scores: Target | None = None


# plugin host -> task -> its folder, as the host's plugins declared them in their register_models hooks
_declared: WeakKeyDictionary[plugins.PluginHost, dict[str, WeightsFolder]] = WeakKeyDictionary()


def register_weights(register: Register[ModelSpec], weights: WeightsFolder) -> None:
    """Register every model file of ``weights.folder`` (from a ``register_models`` hook)."""
    _declared.setdefault(plugins.host(), {})[weights.task] = weights
    for path in sorted(weights.folder.glob("*.safetensors")):
        register(path.stem, Deferred(partial(builtin_spec, weights, path)))


def weights_folders() -> dict[str, WeightsFolder]:
    """The weights folder of each task, as the loaded plugins declare them."""
    plugins.registry("models")  # runs the register_models hooks, which declare them
    return dict(_declared.get(plugins.host(), {}))


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


def builtin_spec(weights: WeightsFolder, path: Path) -> ModelSpec:
    """The hub entry of one file of ``weights`` (named after the file)."""
    return load(weights.spec)(path, builtin_metadata(path, weights.task, weights.label))


def builtin_specs(weights: WeightsFolder) -> list[ModelSpec]:
    """A hub entry for every model file of ``weights``."""
    return [builtin_spec(weights, path) for path in sorted(weights.folder.glob("*.safetensors"))]


def builtin_model(
    path: Path,
    meta: Mapping[str, Any],
    *,
    description: str,
    source: str,
    license: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ModelSpec:
    """The hub entry of a shipped model file, named after it: ``license`` (default: the
    file's own, else MIT), and the file's own ``source`` where it records one, else ``source``."""
    return ModelSpec(
        id=path.stem,
        task=meta["task"],
        description=description,
        license=license or meta.get("license", DEFAULT_LICENSE),
        source=meta.get("source", source),
        builtin=path,
        extra=dict(extra or {}),
    )
