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
from ..errors import DownloadError, IntegrityError, ModelNotAvailable, did_you_mean
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
    raise unknown_model(name, list(all_specs))


def unknown_model(name: str, known: list[str]) -> ModelNotAvailable:
    """The one-line error for a model name that is none of ``known`` nor a hub alias (with a
    did-you-mean among them)."""
    typo = did_you_mean(name, [*known, *(alias for spec in specs().values() for alias in spec.aliases)])
    shown = ", ".join(sorted(known)) or "none"
    return ModelNotAvailable(f"unknown model '{name}'{f'; {typo}' if typo else ''} (known: {shown}; see `imgperc models list`)")


def install_dir(spec: ModelSpec) -> Path:
    return models_dir() / spec.id


def installed_path(spec: ModelSpec) -> Path | None:
    """The model file if present (built-in files always are), else None."""
    if spec.builtin is not None:
        return spec.builtin if spec.builtin.is_file() else None
    path = install_dir(spec) / MODEL_FILE
    return path if path.is_file() else None


def model_lock(name: str) -> FileLock:
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
        raise ModelNotAvailable(f"model '{spec.id}' is not installed and IMGPERC_OFFLINE=1 forbids downloading it", offline_hint(spec))
    return pull(spec)


def builtin_alike(spec: ModelSpec) -> str | None:
    """A built-in model of the same task whose id extends this one's (``ID`` -> ``ID-fast``)."""
    alike = sorted(s.id for s in specs().values() if s.builtin is not None and s.task == spec.task and s.id.startswith(f"{spec.id}-"))
    return alike[0] if alike else None


def _alike_text(spec: ModelSpec) -> str:
    alike = builtin_alike(spec)
    return f"the built-in '{alike}' works offline; or " if alike else ""


def offline_hint(spec: ModelSpec) -> str:
    """What to do about a model that IMGPERC_OFFLINE=1 keeps from downloading."""
    return f"{_alike_text(spec)}run `imgperc models pull {spec.id}` with network access (or IMGPERC_MIRROR set)"


def download_hint(spec: ModelSpec) -> str:
    """What to do about a model whose download failed: a built-in model alike, the mirror, offline mode."""
    mirror = settings.mirror()
    where = f"check that IMGPERC_MIRROR={mirror} holds its files" if mirror else "set IMGPERC_MIRROR to a mirror of its upstream files"
    return f"{_alike_text(spec)}{where}; IMGPERC_OFFLINE=1 uses installed and built-in models only (`imgperc models list`)"


def pull(spec: ModelSpec, *, force: bool = False) -> Path:
    """Download, verify and convert ``spec`` into the store, atomically and under a lock."""
    from .download import download_bar, fetch

    if spec.builtin is not None:
        return ensure(spec.id)
    if spec.convert is None:
        raise ModelNotAvailable(f"model '{spec.id}' declares no converter and cannot be installed")
    target = install_dir(spec)
    with model_lock(spec.id):
        if (target / MODEL_FILE).is_file() and not force:
            return target / MODEL_FILE  # another process finished it while we waited
        raw_dir = settings.home_dir(DOWNLOADS, spec.id)
        try:
            with download_bar(f"download {spec.id}", spec.files) as reporter:
                raw = {remote.name: fetch(remote, raw_dir / remote.name, report=reporter(remote)) for remote in spec.files}
            tensors, meta = spec.convert(raw)
        except DownloadError as exc:
            raise DownloadError(f"could not download model '{spec.id}': {exc.message}", download_hint(spec)) from None
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
    check_removable(spec)
    with model_lock(spec.id):
        target = install_dir(spec)
        if not target.exists():
            return False
        shutil.rmtree(target)
        return True


def check_removable(spec: ModelSpec) -> None:
    """A one-line error for a model that cannot be removed: a built-in one."""
    if spec.builtin is not None:
        raise ModelNotAvailable(f"model '{spec.id}' is built in (shipped with its plugin) and cannot be removed")
