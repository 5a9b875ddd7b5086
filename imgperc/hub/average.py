"""`imgperc models average`: one model whose weights are a weighted mean of several runs' weights.

Averaging works when the runs are fine-tunes of one another (a phase and the phase it started
from): their weights lie in one basin, so a convex mix of them is a net between the two, as
Wortsman et al. (2022, "model soups") found for fine-tuned models. It is how a shipped student
trades one phase's likeness against another's style loss (`training_recipe.average` in
docs/models.md records it). Every tensor is mixed in fp32; integer tensors (counters) are taken
from the first file. The result keeps the first file's metadata, plus ``averaged_from``: the
files and their weights.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ..atomic import check_writable
from ..errors import InputError
from ..modelfile import load_model_file, net_identity, save_model_file
from .ship import portable


def check_mix(weights: Sequence[float], count: int) -> list[float]:
    """``weights`` if there is one per file, each finite and positive, summing to 1."""
    if len(weights) != count:
        raise InputError(f"--weights gives {len(weights)} weight(s) for {count} model file(s); give one per file")
    if not all(math.isfinite(w) and w > 0 for w in weights):
        raise InputError(f"--weights must be finite and positive, got {','.join(f'{w:g}' for w in weights)}")
    if not math.isclose(sum(weights), 1.0, abs_tol=1e-6):
        raise InputError(f"--weights must sum to 1, got {sum(weights):g}")
    return list(weights)


def _same_net(first: tuple[Path, dict[str, Any], dict[str, Any]], other: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    (path_a, tensors_a, meta_a), (path_b, tensors_b, meta_b) = first, other
    if meta_a.get("task") != meta_b.get("task"):
        raise InputError(f"{path_b} is another net than {path_a} (task {meta_b.get('task')!r} against {meta_a.get('task')!r})")
    (arch_a, config_a), (arch_b, config_b) = net_identity(meta_a), net_identity(meta_b)
    for field, a, b in (("architecture", arch_a, arch_b), ("config", config_a, config_b)):
        if a != b:
            raise InputError(f"{path_b} is another net than {path_a} ({field} {b!r} against {a!r})")
    shapes_a = {k: tuple(v.shape) for k, v in tensors_a.items()}
    shapes_b = {k: tuple(v.shape) for k, v in tensors_b.items()}
    if shapes_a != shapes_b:
        raise InputError(f"{path_b} and {path_a} hold different tensors")


def average_models(paths: Sequence[Path], weights: Sequence[float], output: Path, *, force: bool = False) -> Path:
    """Write to ``output`` the model whose every float tensor is ``sum(w_i * tensor_i)``."""
    import torch

    paths, output = [Path(p) for p in paths], Path(output)
    if len(paths) < 2:
        raise InputError("give at least two model files to average")
    weights = check_mix(weights, len(paths))
    if output.resolve() in {p.resolve() for p in paths}:
        raise InputError(f"{output} is one of the files to average; write the average to a new file")
    check_writable(output, overwrite=force)
    models = [(p, *load_model_file(p)) for p in paths]
    for other in models[1:]:
        _same_net(models[0], other)
    first_tensors, meta = models[0][1], models[0][2]
    mixed = {}
    for name, value in first_tensors.items():
        if value.is_floating_point():
            total = sum(w * tensors[name].float() for w, (_, tensors, _) in zip(weights, models))
            mixed[name] = total.to(value.dtype)
        else:
            mixed[name] = value
    meta = {**meta, "averaged_from": [{"file": portable(str(p.resolve())), "weight": w} for w, (p, _, _) in zip(weights, models)]}
    save_model_file(output, mixed, meta, overwrite=force)
    return output
