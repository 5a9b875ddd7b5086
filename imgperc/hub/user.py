"""User-trained models: ``$IMGPERC_HOME/models/<name>/model.safetensors`` without a hub spec.

`imgperc train ... --name NAME` installs its result here; commands that take a model name
look hub models up first, then these (`find_model`); `imgperc models` lists and removes them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..errors import InputError, ModelNotAvailable
from ..integrity import write_manifest
from ..modelfile import read_metadata
from .spec import ModelSpec
from .store import MODEL_FILE, find_spec, install_folder, model_lock, models_dir, specs, unknown_model


def user_models(task: str | None = None) -> dict[str, Path]:
    """Installed user models by name (only those of ``task`` if given)."""
    root = models_dir()
    if not root.is_dir():
        return {}
    taken = set(specs())
    found: dict[str, Path] = {}
    for folder in sorted(root.iterdir()):
        path = folder / MODEL_FILE
        if folder.name.startswith(".") or folder.name in taken or not path.is_file():
            continue
        try:
            meta = read_metadata(path)
        except InputError:
            continue
        if "id" in meta:  # converted by the hub for a spec no longer loaded
            continue
        if task is None or meta.get("task") == task:
            found[folder.name] = path
    return found


def find_model(name: str) -> ModelSpec | Path:
    """The hub model ``name`` names (id or alias), else the file of the user model of that name;
    a one-line error (with a did-you-mean) for neither."""
    try:
        return find_spec(name)
    except ModelNotAvailable:
        users = user_models()
        if name in users:
            return users[name]
        raise unknown_model(name, [*specs(), *users]) from None


def describe_user_model(meta: dict[str, Any]) -> str:
    """One line on a model you trained, from its metadata: how it was made, its net, its iterations."""
    teacher = (meta.get("teacher") or {}).get("name")
    made = f"distilled by you from `{teacher}`" if teacher else "trained by you"
    net = f"{meta['architecture']} net" if meta.get("architecture") else ""
    steps = f"{meta['iterations']} iterations" if meta.get("iterations") else ""
    shown = ", ".join(d for d in (net, steps) if d)
    return f"{made} ({shown})" if shown else made


def remove_user_model(name: str) -> None:
    """Delete the installed user model ``name``."""
    with model_lock(name):
        shutil.rmtree(models_dir() / name)


def install_user_model(source: Path, name: str, *, overwrite: bool = False) -> Path:
    """Copy a model file into the store as user model ``name`` (atomically)."""
    check_user_name(name, overwrite=overwrite)
    with install_folder(name) as staging:
        shutil.copyfile(source, staging / MODEL_FILE)
        write_manifest(staging, [MODEL_FILE], repair=f"train it again with --name {name} --force, or delete {models_dir() / name}")
    return models_dir() / name / MODEL_FILE


def check_user_name(name: str, *, overwrite: bool) -> None:
    """Refuse names of hub models, and existing user models unless ``overwrite``."""
    if name in specs():
        raise InputError(f"'{name}' is the name of a hub model; choose another --name")
    if (models_dir() / name).exists() and not overwrite:
        raise InputError(f"a model named '{name}' is already installed (use --force to replace it)")
