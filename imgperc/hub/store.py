"""The local model store in the user data dir: install (download + convert), locate, remove."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

from .. import plugins, settings
from ..errors import DownloadError, ModelNotAvailable
from ..modelfile import save_model_file
from .download import fetch
from .spec import ModelSpec

MODEL_FILE = "model.safetensors"
INFO_FILE = "info.json"


def models_dir() -> Path:
    return settings.home() / "models"


def downloads_dir() -> Path:
    return settings.home() / "downloads"


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


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    """An exclusive inter-process lock, so concurrent pulls of one model never collide."""
    lock_dir = settings.home() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: msvcrt locks one byte
            import msvcrt

            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    time.sleep(0.1)
            try:
                yield
            finally:
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure(name: str) -> Path:
    """The local model file for ``name``, downloading and converting it first if needed."""
    spec = find_spec(name)
    path = installed_path(spec)
    if path is not None:
        return path
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
    if spec.builtin is not None:
        return ensure(spec.id)
    if spec.convert is None:
        raise ModelNotAvailable(f"model '{spec.id}' declares no converter and cannot be installed")
    target = install_dir(spec)
    with _lock(spec.id):
        if (target / MODEL_FILE).is_file() and not force:
            return target / MODEL_FILE  # another process finished it while we waited
        raw_dir = downloads_dir() / spec.id
        raw = {}
        try:
            for remote in spec.files:
                dest = raw_dir / remote.name
                raw[remote.name] = dest if _already_fetched(dest, remote.size) else fetch(remote, dest)
        except DownloadError as exc:
            raise DownloadError(f"could not download model '{spec.id}': {exc}") from None
        tensors, meta = spec.convert(raw)
        meta = {"id": spec.id, "task": spec.task, "license": spec.license, "source": spec.source, **meta}
        models_dir().mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{spec.id}.", dir=models_dir()))
        try:
            save_model_file(staging / MODEL_FILE, tensors, meta)
            (staging / INFO_FILE).write_text(json.dumps(spec.describe(), indent=2))
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(raw_dir, ignore_errors=True)
    return target / MODEL_FILE


def _already_fetched(path: Path, size: int) -> bool:
    """A verified raw file from an interrupted earlier pull (written only after verification)."""
    return path.is_file() and path.stat().st_size == size


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
