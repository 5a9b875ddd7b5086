"""Super-resolution models: the built-in ones shipped in ``weights/``, and picking a model.

Built-in models are found from the files present: each ``weights/NAME.safetensors`` of task
``sr`` becomes the hub model ``NAME`` (``builtin``: no download, works offline; the plugin
declares the folder, `imgperc.hub.register_weights` registers it, `builtin_spec` describes each
file and `scores` turns `imgperc eval sr` results into the ``--scores`` of `imgperc models ship`). Their metadata
gives the scale and the loss (``perceptual``, ``l1``, ``feat`` or ``pixel``); ``-x 4`` and
``-x 8`` without ``--model`` use the perceptual model of that scale (sharp, no grid). ``--model`` takes ``bicubic`` (the baseline), or
what the core's `imgperc.hub.resolve` finds: a hub model, a user-trained model (``imgperc
train sr --name``) or a model file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from imgperc import hub
from imgperc.errors import InputError, ModelNotAvailable, PluginError
from imgperc.hub import ResolvedModel, resolve_model

TASK = "sr"
BICUBIC = "bicubic"
DEFAULT_LOSS = "perceptual"
DEFAULT_SCALE = 4  # of `imgperc.upscale` without a scale or a model
LOSS_NAMES = {
    "perceptual": "perceptual: sharp detail, no grid (the default)",
    "l1": "fidelity: highest PSNR/SSIM (L1 loss)",
    "feat": "the paper's feature loss",
    "pixel": "the paper's per-pixel loss",
}
LABEL = "super-resolution model"


def model_scale(meta: Mapping[str, Any]) -> int | None:
    """The upscaling factor a model file's metadata records."""
    scale = meta.get("scale", meta.get("config", {}).get("scale"))
    return int(scale) if scale is not None else None


def _describe(meta: dict[str, Any], scale: int) -> str:
    loss = meta.get("loss")
    parts = [f"x{scale} super-resolution", LOSS_NAMES.get(loss, loss) if loss else None]
    if loss == "feat" and meta.get("loss_network"):
        parts[-1] = f"{parts[-1]} ({meta['loss_network']})"
    if meta.get("iterations"):
        parts.append(f"{meta['iterations']} iterations")
    return ", ".join(p for p in parts if p)


def builtin_spec(path: Path, meta: Mapping[str, Any]) -> hub.ModelSpec:
    """The built-in hub entry for one super-resolution model file (named after the file)."""
    scale = model_scale(meta)
    if scale is None:
        raise PluginError(f"built-in model {path.name} is a super-resolution model without a scale")
    data = meta.get("data", {})
    return hub.builtin_model(
        path,
        meta,
        description=_describe(meta, scale),
        source=f"trained by imgperc (`imgperc train sr`) on {data.get('folder', 'its training set')}",
        extra={"scale": scale, "loss": meta.get("loss")},
    )


def scores(result: Mapping[str, Any], method: str, meta: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """An `imgperc eval sr` JSON's means for ``method`` as a shipped model's ``scores`` entry:
    PSNR, SSIM and grid, keyed by data set and scale (and degradation, if not the benchmark's)."""
    means = result["mean"][method]
    key = f"{Path(result['data']).name}-x{result['scale']}"
    if result["degradation"] != "bicubic":
        key += f"-{result['degradation']}"
    return key, {"psnr": round(means["psnr"], 2), "ssim": round(means["ssim"], 4), "grid": round(means["grid"], 3),
                 "histogram_match": result["histogram_match"]}


def default_model(scale: int | str | None = None) -> str:
    """The id of the default model for ``scale`` (None: x4), the ``sr`` task's ``default_model``."""
    return default_spec(int(scale) if scale is not None else DEFAULT_SCALE).id


def default_spec(scale: int) -> hub.ModelSpec:
    """The built-in perceptual model for ``scale``; a one-line error while none ships.

    ``xSCALE-perceptual`` if it ships, else the first such model by name, so added files never
    change the default by their names alone.
    """
    preferred = f"x{scale}-{DEFAULT_LOSS}"
    for spec in sorted(hub.specs().values(), key=lambda s: (s.id != preferred, s.id)):
        if spec.task == TASK and spec.builtin is not None and spec.extra.get("scale") == scale and spec.extra.get("loss") == DEFAULT_LOSS:
            return spec
    raise ModelNotAvailable(
        f"no built-in x{scale} super-resolution model is installed; train one with "
        f"`imgperc train sr --scale {scale} --data DIR` and pass --model NAME|PATH, or use --model bicubic"
    )


@dataclass(frozen=True)
class SRChoice:
    """A resolved ``--model``: its scale, its name, the tag for output names, the model (None: bicubic)."""

    scale: int
    name: str
    tag: str
    model: ResolvedModel | None = None

    @property
    def is_bicubic(self) -> bool:
        return self.model is None


def _tag(scale: int, name: str) -> str:
    prefix = f"x{scale}"
    return name if name == prefix or name.startswith(f"{prefix}-") else f"{prefix}-{name}"


def choose(model: str | Path | None, scale: int | None) -> SRChoice:
    """Validate ``--model`` and ``-x`` together, before any work is done (nothing is downloaded)."""
    if model is None:
        if scale is None:
            raise InputError("choose the upscaling factor with -x 4 or -x 8")
        spec = default_spec(scale)
        return SRChoice(scale, spec.id, f"x{scale}", resolve_model(spec.id, TASK))
    if str(model) == BICUBIC:
        if scale is None:
            raise InputError("--model bicubic needs the upscaling factor: -x 4 or -x 8")
        return SRChoice(scale, BICUBIC, _tag(scale, BICUBIC))
    return model_choice(resolve_model(model, TASK, label=LABEL, also=(BICUBIC,)), scale)


def model_choice(found: ResolvedModel, scale: int | None) -> SRChoice:
    """The choice of a resolved model, checked against ``-x`` (None: the model's own scale)."""
    model_x = model_scale(found.meta)
    if model_x is None:
        if scale is None:
            raise InputError(f"model '{found.name}' does not record its upscaling factor; give it with -x")
        model_x = scale
    if scale is not None and scale != model_x:
        raise InputError(f"model '{found.name}' upscales x{model_x}, not x{scale} (drop -x or choose another model)")
    return SRChoice(model_x, found.name, _tag(model_x, found.name), found)
