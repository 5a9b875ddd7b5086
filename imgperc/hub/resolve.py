"""From what a user typed to a model of the right task: a hub id or alias, a user model, a file.

`resolve_model` finds the model and checks its task without downloading or building anything,
so a command can validate all its inputs first; `ResolvedModel.load` then fetches a hub model
if it is not installed yet and builds its net with `imgperc.modelfile.build_model`, the one
place a model file becomes a net.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import InputError, ModelNotAvailable, did_you_mean
from ..modelfile import build_model, read_metadata
from .spec import ModelSpec
from .store import ensure, find_spec, specs
from .user import user_models

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class LoadedModel:
    """A model's net, built from its file (fp32, eval mode), with the file's metadata."""

    name: str
    path: Path
    meta: dict[str, Any]
    net: nn.Module


@dataclass(frozen=True)
class ResolvedModel:
    """A model `resolve_model` found: nothing downloaded or built yet.

    ``name`` is the hub id, the user model's name or the file's stem. ``meta`` is what is known
    before loading: the file's metadata, or for a hub model its spec's task and ``extra`` (over
    the shipped file's metadata, for a built-in).
    ``path`` is the file of a user model or a file given by path; a hub model has ``spec``.
    """

    name: str
    task: str
    meta: Mapping[str, Any]
    spec: ModelSpec | None = None
    path: Path | None = None

    def file(self) -> Path:
        """The model file; a hub model is downloaded and converted on first use."""
        return ensure(self.spec.id) if self.spec is not None else self.path

    def load(self) -> LoadedModel:
        """The built net (see the module docstring)."""
        path = self.file()
        net, meta = build_model(path)
        return LoadedModel(self.name, path, meta, net)


def model_names(task: str | None = None) -> list[str]:
    """Every name that resolves to a model of ``task`` (None: of any task): hub ids, then user models."""
    hub = sorted(spec.id for spec in specs().values() if task is None or spec.task == task)
    return hub + sorted(user_models(task))


def resolve_model(ref: str | Path, task: str | None, *, label: str | None = None, also: Sequence[str] = ()) -> ResolvedModel:
    """The model of ``task`` (None: of any task) that ``ref`` names: a hub id or alias, else a
    user model, else a file.

    Errors are one line and list the known names (``also`` first: names the caller accepts
    besides models, such as ``bicubic``). ``label`` is what the command calls these models
    (``style``, ``super-resolution model``; default ``'TASK' model``).
    """
    name = str(ref)
    label = label or (f"'{task}' model" if task else "model")
    try:
        spec = find_spec(name)
    except ModelNotAvailable:
        spec = None
    if spec is not None:
        _check_task(f"'{name}'", spec.task, task, label, also)
        shipped = read_metadata(spec.builtin) if spec.builtin is not None else {}
        return ResolvedModel(spec.id, spec.task, {**shipped, "task": spec.task, **spec.extra}, spec=spec)
    user = user_models().get(name)
    if user is not None:
        return _from_file(name, user, f"'{name}'", task, label, also)
    path = Path(name)
    if path.is_file():
        return _from_file(path.stem, path, str(path), task, label, also)
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a model file")
    if path.suffix or len(path.parts) > 1:
        raise InputError(f"model file {path} does not exist")
    typo = did_you_mean(name, [*also, *model_names(task)])
    raise InputError(f"unknown {label} '{name}'{f'; {typo}' if typo else ''} (known: {_known(task, also)}; or give a model file)")


def _from_file(name: str, path: Path, shown: str, task: str, label: str, also: Sequence[str]) -> ResolvedModel:
    meta = read_metadata(path)
    _check_task(shown, meta.get("task"), task, label, also)
    return ResolvedModel(name, meta["task"], meta, path=path)


def _check_task(shown: str, found: Any, task: str | None, label: str, also: Sequence[str]) -> None:
    if found is None:
        raise InputError(f"{shown} does not record its task" + (f" (a {label} records task '{task}')" if task else ""))
    if task is not None and found != task:
        raise InputError(f"{shown} is a '{found}' model, not a {label} (known: {_known(task, also)})")


def _known(task: str | None, also: Sequence[str]) -> str:
    return ", ".join([*also, *model_names(task)]) or "none"
