"""User-trained models: ``$IMGPERC_HOME/models/<name>/model.safetensors`` without a hub spec.

`imgperc train ... --name NAME` installs its result here; commands that take a model name
look hub models up first, then these.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import InputError
from ..integrity import write_manifest
from ..modelfile import read_metadata
from .store import MODEL_FILE, install_folder, models_dir, specs


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
