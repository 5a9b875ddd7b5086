"""The local model store in the user data dir: install (download + convert), locate, remove."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import click
from filelock import FileLock

from .. import plugins, settings
from ..atomic import atomic_folder, umask
from ..errors import DownloadError, IntegrityError, ModelNotAvailable
from ..integrity import verify, write_manifest
from ..modelfile import save_model_file
from .spec import ModelSpec

MODEL_FILE = "model.safetensors"
INFO_FILE = "info.json"
MODELS = "models"
DOWNLOADS = "downloads"


def models_dir() -> Path:
    return settings.home() / MODELS


def downloads_dir() -> Path:
    return settings.home() / DOWNLOADS


def specs() -> dict[str, ModelSpec]:
    """Every model the loaded plugins declare, by id."""
    return dict(plugins.registry("models").items)


def find_spec(name: str) -> ModelSpec:
    """Look a model up by id or alias."""
    all_specs = specs()
    if name in all_specs:
        return all_specs[name]
    for spec in all_specs.values():
        if name in spec.aliases:
            return spec
    known = ", ".join(sorted(all_specs)) or "none"
    raise ModelNotAvailable(f"unknown model '{name}' (known: {known}; see `imgperc models list`)")


def install_dir(spec: ModelSpec) -> Path:
    return models_dir() / spec.id


def installed_path(spec: ModelSpec) -> Path | None:
    """The model file if present (built-in files always are), else None."""
    if spec.builtin is not None:
        return spec.builtin if spec.builtin.is_file() else None
    path = install_dir(spec) / MODEL_FILE
    return path if path.is_file() else None


def _lock(name: str) -> FileLock:
    """An exclusive inter-process lock, so concurrent pulls of one model never collide."""
    return FileLock(settings.home_dir("locks") / f"{name}.lock")


def ensure(name: str) -> Path:
    """The local model file for ``name``, downloading and converting it first if needed.

    An installed file is verified against its install checksums (`imgperc.integrity`); a
    damaged one is downloaded again when the network is allowed, else a one-line error says how
    to repair it.
    """
    spec = find_spec(name)
    path = installed_path(spec)
    if path is not None:
        try:
            verify(path)
            return path
        except IntegrityError as exc:
            if spec.builtin is not None or settings.offline():
                raise
            click.echo(f"Warning: {exc}; downloading it again", err=True)
            return pull(spec, force=True)
    if spec.builtin is not None:
        raise ModelNotAvailable(f"model '{spec.id}' should ship with its plugin but {spec.builtin} is missing")
    if settings.offline():
        raise ModelNotAvailable(
            f"model '{spec.id}' is not installed and IMGPERC_OFFLINE=1 forbids downloading it; "
            f"run `imgperc models pull {spec.id}` with network access (or set IMGPERC_MIRROR)"
        )
    return pull(spec)


def pull(spec: ModelSpec, *, force: bool = False) -> Path:
    """Download, verify and convert ``spec`` into the store, atomically and under a lock."""
    from .download import fetch

    if spec.builtin is not None:
        return ensure(spec.id)
    if spec.convert is None:
        raise ModelNotAvailable(f"model '{spec.id}' declares no converter and cannot be installed")
    target = install_dir(spec)
    with _lock(spec.id):
        if (target / MODEL_FILE).is_file() and not force:
            return target / MODEL_FILE  # another process finished it while we waited
        raw_dir = settings.home_dir(DOWNLOADS, spec.id)
        try:
            raw = {remote.name: fetch(remote, raw_dir / remote.name) for remote in spec.files}
        except DownloadError as exc:
            raise DownloadError(f"could not download model '{spec.id}': {exc}") from None
        tensors, meta = spec.convert(raw)
        meta = {"id": spec.id, "task": spec.task, "license": spec.license, "source": spec.source, **meta}
        with install_folder(spec.id) as staging:
            save_model_file(staging / MODEL_FILE, tensors, meta)
            (staging / INFO_FILE).write_text(json.dumps(spec.describe(), indent=2))
            write_manifest(staging, [MODEL_FILE, INFO_FILE], repair=f"run `imgperc models pull --force {spec.id}` (or `imgperc models rm {spec.id}`)")
        shutil.rmtree(raw_dir, ignore_errors=True)
    return target / MODEL_FILE


@contextlib.contextmanager
def install_folder(name: str) -> Iterator[Path]:
    """A staging folder that becomes ``models/NAME`` (replacing it) in one rename on success.

    Like pip and torch.hub leave them, installed folders are readable by every user (0755 under
    the usual umask; files are 0644), so one store can be shared.
    """
    with atomic_folder(settings.home_dir(MODELS) / name) as staging:
        os.chmod(staging, 0o777 & ~umask())
        yield staging


def remove(spec: ModelSpec) -> bool:
    """Delete an installed model; False if it was not installed."""
    if spec.builtin is not None:
        raise ModelNotAvailable(f"model '{spec.id}' ships with its plugin and cannot be removed")
    with _lock(spec.id):
        target = install_dir(spec)
        if not target.exists():
            return False
        shutil.rmtree(target)
        return True
