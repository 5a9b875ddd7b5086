"""Super-resolution models: the built-in ones shipped in ``weights/``, and picking a model.

Built-in models are found from the files present: each ``weights/NAME.safetensors`` of task
``sr`` becomes the hub model ``NAME`` (``builtin``: no download, works offline). Their metadata
gives the scale and the loss (``feat`` or ``pixel``); ``-x 4`` and ``-x 8`` without ``--model``
use the feature-loss model of that scale. ``--model`` takes ``bicubic`` (the baseline), a hub
model, a user-trained model (``imgperc train sr --name``) or a model file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgperc import hub
from imgperc.errors import InputError, ModelNotAvailable, PluginError
from imgperc.hub.user import user_models
from imgperc.modelfile import read_metadata

TASK = "sr"
BICUBIC = "bicubic"
DEFAULT_LOSS = "feat"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
LOSS_NAMES = {"feat": "feature loss", "pixel": "per-pixel loss"}


def model_scale(meta: dict[str, Any]) -> int | None:
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


def builtin_specs(folder: Path | None = None) -> list[hub.ModelSpec]:
    """A built-in hub entry for every super-resolution model file in ``folder`` (``weights/``)."""
    folder = WEIGHTS_DIR if folder is None else folder
    specs = []
    for path in sorted(folder.glob("*.safetensors")):
        try:
            meta = read_metadata(path)
        except InputError as exc:
            raise PluginError(f"built-in model {path.name} is damaged ({exc})") from None
        scale = model_scale(meta)
        if meta.get("task") != TASK or scale is None:
            raise PluginError(f"built-in model {path.name} is not a super-resolution model with a scale")
        data = meta.get("data", {})
        specs.append(
            hub.ModelSpec(
                id=path.stem,
                task=TASK,
                description=_describe(meta, scale),
                license=meta.get("license", "MIT"),
                source=meta.get("source", f"trained by imgperc (`imgperc train sr`) on {data.get('folder', 'its training set')}"),
                builtin=path,
                extra={"scale": scale, "loss": meta.get("loss")},
            )
        )
    return specs


def default_spec(scale: int) -> hub.ModelSpec:
    """The built-in feature-loss model for ``scale``; a one-line error while none ships."""
    for spec in sorted(hub.specs().values(), key=lambda s: s.id):
        if spec.task == TASK and spec.builtin is not None and spec.extra.get("scale") == scale and spec.extra.get("loss") == DEFAULT_LOSS:
            return spec
    raise ModelNotAvailable(
        f"no built-in x{scale} super-resolution model is installed; train one with "
        f"`imgperc train sr --scale {scale} --data DIR` and pass --model NAME|PATH, or use --model bicubic"
    )


def sr_model_names() -> list[str]:
    """Every name ``--model`` accepts besides file paths: bicubic, hub and user models."""
    hub_names = [spec.id for spec in hub.specs().values() if spec.task == TASK]
    return [BICUBIC, *sorted(hub_names), *sorted(user_models(TASK))]


@dataclass(frozen=True)
class SRChoice:
    """A resolved ``--model``: its scale, its name, the tag for output names, its file."""

    scale: int
    name: str
    tag: str
    spec: hub.ModelSpec | None = None
    path: Path | None = None

    @property
    def is_bicubic(self) -> bool:
        return self.spec is None and self.path is None

    def model_file(self) -> Path:
        """The model file (a hub model is fetched on first use; built-in ones never are)."""
        if self.is_bicubic:
            raise ValueError("bicubic interpolation has no model file")
        return self.path if self.path is not None else hub.ensure(self.spec.id)


def _tag(scale: int, name: str) -> str:
    prefix = f"x{scale}"
    return name if name == prefix or name.startswith(f"{prefix}-") else f"{prefix}-{name}"


def _lookup(model: str) -> tuple[str, hub.ModelSpec | None, Path | None]:
    """(name, hub spec, None) or (name, None, file) for a model name or path; else InputError."""
    try:
        spec = hub.find_spec(model)
    except ModelNotAvailable:
        spec = None
    if spec is not None:
        if spec.task != TASK:
            raise InputError(f"'{model}' is a '{spec.task}' model, not a super-resolution model")
        return spec.id, spec, None
    user = user_models(TASK)
    if model in user:
        return model, None, user[model]
    path = Path(model)
    if path.is_file():
        return path.stem, None, path
    if path.suffix or len(path.parts) > 1:
        raise InputError(f"model file {path} does not exist")
    raise InputError(f"unknown super-resolution model '{model}' (known: {', '.join(sr_model_names())}; or give a model file)")


def choose(model: str | Path | None, scale: int | None) -> SRChoice:
    """Validate ``--model`` and ``-x`` together, before any work is done (nothing is downloaded)."""
    if model is None:
        if scale is None:
            raise InputError("choose the upscaling factor with -x 4 or -x 8")
        spec = default_spec(scale)
        return SRChoice(scale, spec.id, f"x{scale}", spec=spec)
    model = str(model)
    if model == BICUBIC:
        if scale is None:
            raise InputError("--model bicubic needs the upscaling factor: -x 4 or -x 8")
        return SRChoice(scale, BICUBIC, _tag(scale, BICUBIC))
    name, spec, path = _lookup(model)
    if spec is not None:
        model_x = spec.extra.get("scale")
    else:
        meta = read_metadata(path)
        if meta.get("task") not in (None, TASK):
            raise InputError(f"{path} is a '{meta.get('task')}' model, not a super-resolution model")
        model_x = model_scale(meta)
        if model_x is None:
            raise InputError(f"{path} does not record its upscaling factor")
    if model_x is None:
        if scale is None:
            raise InputError(f"give the upscaling factor of model '{name}' with -x")
        model_x = scale
    if scale is not None and scale != model_x:
        raise InputError(f"model '{name}' upscales x{model_x}, not x{scale} (drop -x or choose another model)")
    return SRChoice(model_x, name, _tag(model_x, name), spec=spec, path=path)
