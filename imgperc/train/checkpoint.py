"""Checkpoints of a run folder: weights apart from training state, written atomically.

Layout of ``RUN/checkpoints/``::

    iter-000500/weights.safetensors   the net (an imgperc model file: usable on its own)
    iter-000500/state.pt              optimizer, iteration, RNG states, scaler
    latest.json                       {"iteration": 500, "folder": "iter-000500"}

A checkpoint is staged in a hidden folder and renamed into place when complete; only then is
``latest.json`` replaced (atomically) and older checkpoints removed. So a crash at any moment
leaves the previous checkpoint intact and findable. The state file is loaded with
``torch.load(weights_only=True)``: plain tensors and containers, never arbitrary objects.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_folder, atomic_path
from ..errors import InputError
from ..modelfile import load_model_file, save_model_file

WEIGHTS = "weights.safetensors"
STATE = "state.pt"
LATEST = "latest.json"
_FOLDER = re.compile(r"^iter-(\d+)$")


@dataclass
class Checkpoint:
    """A complete checkpoint on disk."""

    iteration: int
    folder: Path

    @property
    def weights(self) -> Path:
        return self.folder / WEIGHTS

    @property
    def state(self) -> Path:
        return self.folder / STATE


def rng_state() -> dict[str, Any]:
    """Python's and torch's RNG states (CUDA's too where present)."""
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(_tuples(state["python"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value: Any) -> Any:
    """random.setstate needs tuples where serialisation may give lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def save(
    folder: Path,
    iteration: int,
    weights: dict[str, torch.Tensor],
    meta: dict[str, Any],
    state: dict[str, Any],
) -> Checkpoint:
    """Write checkpoint ``iteration`` into ``folder`` atomically; keep only it afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"iter-{iteration:06d}"
    with atomic_folder(folder / name) as staging:
        save_model_file(staging / WEIGHTS, weights, meta)
        torch.save({**state, "iteration": iteration}, staging / STATE)
        _fsync(staging / WEIGHTS, staging / STATE)
    with atomic_path(folder / LATEST, overwrite=True) as tmp:
        tmp.write_text(json.dumps({"iteration": iteration, "folder": name}))
    for old in folder.iterdir():
        if old.name != name and (_FOLDER.match(old.name) or old.name.startswith(".iter-")):
            shutil.rmtree(old, ignore_errors=True)
    return Checkpoint(iteration, folder / name)


def _fsync(*paths: Path) -> None:
    for path in paths:
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def latest(folder: Path) -> Checkpoint | None:
    """The newest complete checkpoint (``latest.json``, else the newest complete folder)."""
    candidates: list[Checkpoint] = []
    try:
        pointer = json.loads((folder / LATEST).read_text())
        candidates.append(Checkpoint(int(pointer["iteration"]), folder / pointer["folder"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if folder.is_dir():
        found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _FOLDER.match(p.name))]
        candidates += [Checkpoint(i, p) for i, p in sorted(found, reverse=True)]
    for checkpoint in candidates:
        if checkpoint.weights.is_file() and checkpoint.state.is_file():
            return checkpoint
    return None


def load(checkpoint: Checkpoint) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and training state of a checkpoint."""
    weights, _ = load_model_file(checkpoint.weights)
    try:
        with warnings.catch_warnings():  # torch's warnings about foreign pickles are not for users
            warnings.simplefilter("ignore")
            state = torch.load(checkpoint.state, map_location="cpu", weights_only=True)
    except Exception:  # damaged, or not ours (torch's message would suggest unsafe loading)
        raise InputError(f"{checkpoint.state} is not a valid imgperc checkpoint") from None
    return weights, state
