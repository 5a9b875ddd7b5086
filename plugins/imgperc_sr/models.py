"""Super-resolution models: the built-in ones shipped in ``weights/``, and picking a model.

Built-in models are found from the files present: each ``weights/NAME.safetensors`` of task
``sr`` becomes the hub model ``NAME`` (``builtin``: no download, works offline; the plugin
declares the folder, `imgperc.hub.register_weights` registers it, `builtin_spec` describes each
file and `scores` turns `imgperc eval sr` results into the ``--scores`` of `imgperc models ship`). Their metadata
gives the scale and the loss (``perceptual``, ``l1``, ``feat`` or ``pixel``); ``-x N`` without
``--model`` uses the perceptual model of that scale (sharp), or its fidelity one where no
perceptual one ships (x2). A strong
denoiser names its weak partner in ``denoise_pair`` (`DENOISE_PAIR`, see `.denoise`);
``--denoise`` without ``--model`` uses the built-in model of the scale that has one. ``--model`` takes ``bicubic`` (the baseline), or
what the core's `imgperc.hub.resolve` finds: a hub model, a user-trained model (``imgperc
train sr --name``) or a model file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from imgperc import hub
from imgperc.errors import InputError, ModelNotAvailable, PluginError
from imgperc.hub import ResolvedModel, resolve_model

from .choices import SCALES

TASK = "sr"
BICUBIC = "bicubic"
DEFAULT_LOSS = "perceptual"
DEFAULT_SCALE = 4  # of `imgperc.upscale` without a scale or a model
DENOISE_PAIR = "denoise_pair"  # metadata: the model (name or file) whose weights --denoise 0 gives
LOSS_NAMES = {
    "perceptual": "perceptual: sharp detail (the default)",
    "l1": "fidelity: highest PSNR/SSIM (L1 loss)",
    "feat": "the paper's feature loss",
    "pixel": "the paper's per-pixel loss",
}
REAL_WORLD = "real photos: trained on blur, noise and JPEG damage (L1 loss)"  # a model of `--degradation real`
LABEL = "super-resolution model"


def model_scale(meta: Mapping[str, Any]) -> int | None:
    """The upscaling factor a model file's metadata records."""
    scale = meta.get("scale", meta.get("config", {}).get("scale"))
    return int(scale) if scale is not None else None


def _describe(meta: dict[str, Any], scale: int) -> str:
    loss = meta.get("loss")
    parts = [f"x{scale} super-resolution", LOSS_NAMES.get(loss, loss) if loss else None]
    if "first_pass" in meta.get("degradation", {}):
        parts[-1] = REAL_WORLD
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
        extra={"scale": scale, "loss": meta.get("loss"), **({DENOISE_PAIR: meta[DENOISE_PAIR]} if meta.get(DENOISE_PAIR) else {})},
    )


def scores(result: Mapping[str, Any], method: str, meta: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """An `imgperc eval sr` JSON's means for ``method`` as a shipped model's ``scores`` entry:
    PSNR, SSIM, the peak measure and NIQE (with the ground truth's), keyed by data set and scale
    (and degradation, if not the benchmark's); of a ``--no-reference`` run, the peak and NIQE."""
    means = result["mean"][method]
    key = f"{Path(result['data']).name}-x{result['scale']}"
    figures = {"peak": means.get("peak"), "niqe": means.get("niqe")}
    if result.get("no_reference"):
        key += "-no-reference"
    else:
        if result["degradation"] != "bicubic":
            key += f"-{result['degradation']}"
        truth = result["ground_truth"]
        figures = {"psnr": means["psnr"], "ssim": means["ssim"], **figures,
                   "ground_truth_peak": truth["peak"], "ground_truth_niqe": truth.get("niqe")}
    entry = {k: round(v, 4 if k == "ssim" else 2) for k, v in figures.items() if v is not None}  # older files have no NIQE
    return key, {**entry, "histogram_match": result["histogram_match"]}


def default_model(scale: int | str | None = None, *, outscale: float | None = None, denoise: float | None = None) -> str:
    """The id of the default model (the ``sr`` task's ``default_model``): for ``scale``, else
    the scale `outscale` runs (None: x4); with ``denoise``, the one with a denoise pair."""
    if scale is None and outscale is not None:
        scale = scale_for(outscale)
    return default_spec(int(scale) if scale is not None else DEFAULT_SCALE, denoise=denoise is not None).id


def scale_for(outscale: float) -> int:
    """The model scale that ``--outscale`` runs: the smallest at or above it (x2 up to 2, x4 up to 4, x8 above)."""
    return next((s for s in SCALES if s >= outscale), SCALES[-1])


def default_spec(scale: int, *, denoise: bool = False) -> hub.ModelSpec:
    """The built-in perceptual model for ``scale``, else its fidelity one (``denoise``: the
    built-in one with a denoise pair, ``xSCALE-real``); a one-line error while none ships.

    ``xSCALE-perceptual`` (``xSCALE-real``) if it ships, else the first such model by name, so
    added files never change the default by their names alone.
    """
    preferred = f"x{scale}-{'real' if denoise else DEFAULT_LOSS}"
    fitting = [(rank, s.id != preferred, s.id, s) for s in hub.specs().values()
               if s.task == TASK and s.builtin is not None and s.extra.get("scale") == scale and (rank := _rank(s, denoise)) < 2]
    if fitting:
        return min(fitting)[-1]  # ids are unique: the spec itself is never compared
    if denoise:
        raise ModelNotAvailable(f"no built-in x{scale} model has a denoise pair (x{scale}-real); --denoise needs one: "
                                f"pass --model NAME|PATH of a model whose metadata names its '{DENOISE_PAIR}'")
    raise ModelNotAvailable(
        f"no built-in x{scale} super-resolution model is installed; train one with "
        f"`imgperc train sr --scale {scale} --data DIR` and pass --model NAME|PATH, or use --model bicubic"
    )


def _rank(spec: hub.ModelSpec, denoise: bool) -> int:
    """0: a default (perceptual; with ``denoise``, paired), 1: a fallback (fidelity, unpaired), 2: neither."""
    paired = DENOISE_PAIR in spec.extra
    if denoise:
        return 0 if paired else 2
    loss = spec.extra.get("loss")
    return 0 if loss == DEFAULT_LOSS else 1 if loss == "l1" and not paired else 2


@dataclass(frozen=True)
class SRChoice:
    """A resolved ``--model``: its scale, its name, the tag for output names, the model (None:
    bicubic), and the ``--denoise`` strength (None: the model as it is)."""

    scale: int
    name: str
    tag: str
    model: ResolvedModel | None = None
    denoise: float | None = None

    @property
    def is_bicubic(self) -> bool:
        return self.model is None


def _tag(scale: int, name: str) -> str:
    prefix = f"x{scale}"
    return name if name == prefix or name.startswith(f"{prefix}-") else f"{prefix}-{name}"


def choose(model: str | Path | None, scale: int | None, *, outscale: float | None = None, denoise: float | None = None) -> SRChoice:
    """Validate ``--model``, ``-x``, ``--outscale`` and ``--denoise`` together, before any work is
    done (nothing is downloaded). Without ``-x`` or ``--model``, ``--outscale`` picks the scale
    (`scale_for`) and ``--denoise`` the built-in model with a denoise pair."""
    check_outscale(outscale)
    if scale is None and outscale is not None and model in (None, BICUBIC):
        scale = scale_for(outscale)
    if scale is None and model is None and denoise is not None:
        scale = DEFAULT_SCALE
    if model is None:
        if scale is None:
            raise InputError("choose the upscaling factor with -x 2, -x 4 or -x 8 (or any output scale with --outscale F)")
        spec = default_spec(scale, denoise=denoise is not None)
        return model_choice(resolve_model(spec.id, TASK), scale, denoise=denoise, tag=f"x{scale}" if denoise is None else None)
    if str(model) == BICUBIC:
        if scale is None:
            raise InputError("--model bicubic needs the upscaling factor: -x 2, -x 4 or -x 8")
        if denoise is not None:
            raise InputError("--denoise needs a model with a denoise pair, not bicubic (use --model x4-real)")
        return SRChoice(scale, BICUBIC, _tag(scale, BICUBIC))
    return model_choice(resolve_model(model, TASK, label=LABEL, also=(BICUBIC,)), scale, denoise=denoise)


def check_outscale(outscale: float | None) -> None:
    """An InputError unless ``outscale`` is None or a finite number above 0."""
    if outscale is not None and not (math.isfinite(outscale) and outscale > 0):
        raise InputError(f"--outscale must be a finite number above 0, not {outscale}")


def model_choice(found: ResolvedModel, scale: int | None, *, denoise: float | None = None, tag: str | None = None) -> SRChoice:
    """The choice of a resolved model, checked against ``-x`` (None: the model's own scale) and
    ``denoise`` (a strength in [0, 1], for a model with a denoise pair); ``tag``: the output
    names' (default: from the model's name, and the strength)."""
    if denoise is not None:
        if not 0.0 <= denoise <= 1.0:  # NaN too
            raise InputError(f"--denoise must be between 0 and 1, not {denoise}")
        if not found.meta.get(DENOISE_PAIR):
            raise InputError(f"model '{found.name}' has no denoise pair, so --denoise cannot blend it "
                             f"(its metadata names none in '{DENOISE_PAIR}'); use a real-world model such as x4-real")
    model_x = model_scale(found.meta)
    if model_x is None:
        if scale is None:
            raise InputError(f"model '{found.name}' does not record its upscaling factor; give it with -x")
        model_x = scale
    if scale is not None and scale != model_x:
        raise InputError(f"model '{found.name}' upscales x{model_x}, not x{scale} (drop -x or choose another model)")
    if tag is None:
        tag = _tag(model_x, found.name) + ("" if denoise is None else f"-dn{denoise:g}")
    return SRChoice(model_x, found.name, tag, found, denoise)
