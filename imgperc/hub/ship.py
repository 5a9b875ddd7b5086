"""`imgperc models ship`: a trained run becomes a built-in model of the plugin of its task.

`ship` writes ``NAME.safetensors`` into the weights folder the plugin declared for the run's
task (`imgperc.hub.builtin.WeightsFolder`): the weights in fp16 (half the size;
`imgperc.modelfile.build_model` computes in fp32), the run's metadata, a default ``source``
and ``license`` (trained by imgperc, MIT), what the plugin adds (``ship_metadata``: a
distilled style's teacher licence and FLOPs) and the fields given by the maintainer
(``extra``: training data, training recipe, ...; see docs/models.md).

`update_shipped` records measured scores (eval JSON files of the shipped file itself, turned
into entries by the plugin's ``scores``) and given fields in a shipped file's metadata; the
weights are left as they are. Paths in the metadata (the data folder, the run it started from) are recorded
relative to the working folder, so that shipped files name no machine's absolute paths.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import InputError, ModelNotAvailable
from ..lazy import load
from ..modelfile import load_model_file, save_model_file
from .builtin import DEFAULT_LICENSE, WeightsFolder, weights_folders
from .store import find_spec

SOURCE = "trained by imgperc"


def portable(path: str | None) -> str | None:
    """``path`` relative to the working folder if it is absolute (shipped files travel); its
    name alone where no relative path exists (another drive)."""
    if not path or not os.path.isabs(path):
        return path
    try:
        return os.path.relpath(path)
    except ValueError:
        return Path(path).name


def _portable_paths(meta: dict[str, Any]) -> dict[str, Any]:
    for key, field in (("data", "folder"), ("training", "init")):
        if isinstance(meta.get(key), dict) and field in meta[key]:
            meta = {**meta, key: {**meta[key], field: portable(meta[key][field])}}
    return meta


def find_method(means: Mapping[str, Any], name: str) -> str | None:
    """The method of an eval JSON's ``mean`` that is ``name`` (given by name or as NAME.safetensors)."""
    return next((m for m in means if m == name or Path(m).stem == name), None)


def weights_folder(task: Any) -> WeightsFolder:
    """The weights folder the plugin of ``task`` ships its models in."""
    folders = weights_folders()
    if task not in folders:
        known = ", ".join(sorted(folders)) or "none"
        raise InputError(f"no plugin ships models of task {task!r} (tasks with a weights folder: {known})")
    return folders[task]


def ship(run_model: Path, name: str, *, extra: Mapping[str, Any] | None = None, force: bool = False) -> Path:
    """Write ``run_model`` as the built-in model ``name`` (see the module docstring)."""
    import torch

    tensors, meta = load_model_file(run_model)
    weights = weights_folder(meta.get("task"))
    target = weights.folder / f"{name}.safetensors"
    try:
        taken = find_spec(name)
    except ModelNotAvailable:
        taken = None
    if taken is not None and taken.builtin != target:
        raise InputError(f"'{name}' is already the name of hub model '{taken.id}' ({taken.description}); choose another")
    if target.exists() and not force:
        raise InputError(f"built-in model '{name}' already ships ({target}); use --force to replace it")
    meta = _portable_paths({"source": SOURCE, "license": DEFAULT_LICENSE, **meta, "weights_dtype": "float16"})
    if weights.ship_metadata is not None:
        meta.update(load(weights.ship_metadata)(meta))
    meta.update(extra or {})
    half = {key: value.to(torch.float16) if value.is_floating_point() else value for key, value in tensors.items()}
    save_model_file(target, half, meta)
    return target


def _eval_result(path: Path) -> dict[str, Any]:
    try:
        result = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as JSON ({exc})") from None
    if not isinstance(result, dict) or not isinstance(result.get("mean"), dict):
        raise InputError(f"{path} is not an `imgperc eval` result (no mean scores)")
    return result


def update_shipped(name: str, *, results: Sequence[Path] = (), method: str | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Record eval ``results`` (for ``method``, default ``name``) and ``extra`` fields in the
    metadata of the shipped model ``name``; its weights are left as they are."""
    found = [w for w in weights_folders().values() if (w.folder / f"{name}.safetensors").is_file()]
    if not found:
        raise InputError(f"no shipped model '{name}' (ship it first)")
    weights, target = found[0], found[0].folder / f"{name}.safetensors"
    tensors, meta = load_model_file(target)
    scores = dict(meta.get("scores", {}))
    chosen = method or name
    for path in results:
        if weights.scores is None:
            raise InputError(f"the plugin of task '{weights.task}' records no scores")
        result = _eval_result(path)
        scored = find_method(result["mean"], chosen)
        if scored is None:
            raise InputError(f"{path} has no results for '{chosen}' (methods: {', '.join(result['mean'])})")
        try:
            key, entry = load(weights.scores)(result, scored, meta)
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{path} is not an `imgperc eval {weights.task}` result") from None
        scores[key] = entry
    meta = {**meta, **(extra or {})}
    if scores:
        meta["scores"] = scores
    save_model_file(target, tensors, meta)
    return target
