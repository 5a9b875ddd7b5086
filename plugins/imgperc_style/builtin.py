"""Built-in style models: the fast styles shipped in ``weights/``.

They are student nets `imgperc distill` trained from the pretrained styles (``light`` net, fp16,
a few hundred KB each), put there by ``tools/ship_weights.py``. Each ``weights/NAME.safetensors``
of task ``style`` is the hub model ``NAME`` (``builtin``: no download, works offline; the plugin
registers it by the file's stem), described from its metadata: the style, its teacher, the
student net and, where the ship tool recorded them (``cost``), the FLOPs saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from imgperc import hub

from . import plugin
from .ml5_styles import STYLES

TASK = "style"
ML5_LICENSE = "MIT (derived from the MIT-licensed ml5 nets)"


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


def builtin_spec(path: Path) -> hub.ModelSpec:
    """The built-in hub entry for one style model file (named after the file)."""
    meta = hub.builtin_metadata(path, TASK, "style")
    teacher = meta.get("teacher") or {}
    return hub.builtin_model(
        path,
        meta,
        description=describe(meta),
        source=_source(meta),
        license=ML5_LICENSE if teacher.get("architecture") == "ml5" else "MIT",
        extra={"style": meta.get("style"), "teacher": teacher.get("name")},
    )


def builtin_specs(folder: Path | None = None) -> list[hub.ModelSpec]:
    """A built-in hub entry for every model file in ``folder`` (``weights/``)."""
    folder = plugin.WEIGHTS_DIR if folder is None else folder
    return [builtin_spec(path) for path in sorted(folder.glob("*.safetensors"))]
