"""Built-in style models: the fast styles shipped in ``weights/``.

They are student nets `imgperc distill` trained from the pretrained styles (``light`` net, fp16,
a few hundred KB each), put there by `imgperc models ship`. Each ``weights/NAME.safetensors``
of task ``style`` is the hub model ``NAME`` (``builtin``: no download, works offline; the plugin
declares the folder, `imgperc.hub.register_weights` registers it), described from its metadata:
the style, its teacher, the student net and, where shipping recorded them (``cost``), the
FLOPs saved. `ship_metadata` and `scores` are what `imgperc models ship` asks this plugin for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from imgperc import hub
from imgperc.errors import ModelNotAvailable
from imgperc.hub.ship import find_method, portable

from .eval_cmd import DEFAULT_PRESET
from .ml5_styles import STYLES

ML5_LICENSE = "MIT (derived from the MIT-licensed ml5 nets)"
COST_IMAGE = 512  # the side of the image ``cost`` is counted on (plus the reflection padding)


def _style_name(meta: Mapping[str, Any]) -> str:
    style = meta.get("style")
    return STYLES[style][1] if style in STYLES else f"style '{style}'" if style else "a style"


def describe(meta: Mapping[str, Any]) -> str:
    """``Pablo Picasso, La Muse (1935), fast: distilled from `muse` (light net, 10x fewer FLOPs)``."""
    net = f"{meta.get('architecture', 'unknown')} net"
    cost = meta.get("cost") or {}
    if cost.get("gflop") and cost.get("teacher_gflop"):
        net += f", {cost['teacher_gflop'] / cost['gflop']:.0f}x fewer FLOPs"
    teacher = (meta.get("teacher") or {}).get("name")
    if teacher:
        return f"{_style_name(meta)}, fast: distilled from `{teacher}` ({net})"
    return f"{_style_name(meta)} ({net})"


def _source(meta: Mapping[str, Any]) -> str:
    data = meta.get("data") or {}
    folder = data.get("folder", "its training set")
    teacher = (meta.get("teacher") or {}).get("name")
    if not teacher:
        return f"trained by imgperc (`imgperc train style`) on {folder}"
    photos = f", {data['images']} photos" if data.get("images") else ""
    steps = f", {meta['iterations']} iterations" if meta.get("iterations") else ""
    return f"distilled by imgperc (`imgperc distill --teacher {teacher}`) on {folder}{photos}{steps}"


def builtin_spec(path: Path, meta: Mapping[str, Any]) -> hub.ModelSpec:
    """The built-in hub entry for one style model file (named after the file)."""
    teacher = meta.get("teacher") or {}
    return hub.builtin_model(
        path,
        meta,
        description=describe(meta),
        source=_source(meta),
        license=ML5_LICENSE if teacher.get("architecture") == "ml5" else None,
        extra={"style": meta.get("style"), "teacher": teacher.get("name")},
    )


def _sig(value: float) -> float:
    return float(f"{value:.4g}")


def _gflop(arch: str, config: Mapping[str, Any] | None, side: int) -> float:
    """One forward pass of ``arch`` on a ``side`` square (counted on the meta device)."""
    import torch

    from imgperc import plugins
    from imgperc.inference.bench import net_gflop

    with torch.device("meta"):
        net = plugins.registry("transform_nets").get(arch)(**(config or {}))
    return _sig(net_gflop(net, (1, 3, side, side)))


def ship_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What `imgperc models ship` adds to a distilled style: its teacher's source and licence
    (the student's licence), and ``cost``: its GFLOP and its teacher's for a 512x512 image as
    `imgperc stylize` runs it (reflection-padded), which its description quotes."""
    teacher = dict(meta.get("teacher") or {})
    if not teacher.get("architecture"):
        return {}
    added: dict[str, Any] = {}
    try:
        spec = hub.find_spec(teacher.get("name") or "")
    except ModelNotAvailable:  # a teacher given as a file
        spec = None
    if spec is not None:
        added["license"] = spec.license
        added["teacher"] = {**teacher, "source": spec.source, "license": spec.license}
    from imgperc.inference import DEFAULT_PAD

    side = COST_IMAGE + 2 * DEFAULT_PAD
    added["cost"] = {"side": side, "gflop": _gflop(meta["architecture"], meta.get("config"), side),
                     "teacher_gflop": _gflop(teacher["architecture"], teacher.get("config"), side)}
    return added


def scores(result: Mapping[str, Any], method: str, meta: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """An `imgperc eval style` JSON's means for ``method`` as a shipped style's ``scores`` entry:
    the mean style and content losses, the photos and data folder, and, where the teacher was
    evaluated in the same file, the teacher's means and the ratios model / teacher; for a student,
    its likeness to its teacher (distance, PSNR) beside the teacher's shift floor. Keyed by the
    data folder and size, and the recipe unless it is the default one."""
    mine = result["mean"][method]
    entry = {"style_loss": _sig(mine["style"]), "content_loss": _sig(mine["content"]), "photos": len(result["images"]),
             "data": portable(result["data"]), "size": result["size"], "style_image": Path(result["style_image"]).name,
             "recipe": result["recipe"].get("name")}
    teacher = (meta.get("teacher") or {}).get("name")
    found = find_method(result["mean"], teacher) if teacher else None
    if found is not None:
        theirs = result["mean"][found]
        entry["teacher"] = {"name": teacher, "style_loss": _sig(theirs["style"]), "content_loss": _sig(theirs["content"])}
        entry["ratio"] = {k: round(mine[k] / theirs[k], 3) for k in ("style", "content") if theirs[k]}
    if mine.get("likeness"):
        entry["likeness"] = {k: v if isinstance(v, str) or v is None else _sig(v) for k, v in mine["likeness"].items()}
    recipe = entry["recipe"]
    return f"{Path(result['data']).name}-{result['size']}{'' if recipe == DEFAULT_PRESET else f'-{recipe}'}", entry
