"""Turn a trained super-resolution or style run into a built-in model of its plugin.

    python tools/ship_weights.py RUN/model.safetensors NAME [--note TEXT]
    python tools/ship_weights.py --scores NAME EVAL.json [EVAL.json ...] [--method RUN/model.safetensors]

The first form writes ``NAME.safetensors`` into the ``WEIGHTS_DIR`` of the plugin of the run's
task (``sr``: imgperc_sr, ``style``: imgperc_style): the weights in fp16 (half the size;
`imgperc.modelfile.build_model` computes in fp32) with the run's metadata. A distilled style also
gets ``cost``: its GFLOP and its teacher's for a 512x512 image as `imgperc stylize` runs it
(reflection-padded), which its description quotes.

The second records measured scores (evaluated on the shipped file itself) in that file's
metadata; the weights are left as they are. ``--method`` names the result to take when the
JSON scored the run's own file before it was shipped (its fp32 weights; the shipped fp16 ones
compute in fp32 too). ``sr``: `imgperc eval sr` JSON files, PSNR, SSIM and
grid per data set and scale. ``style``: `imgperc eval style` JSON files, the mean style and
content losses, the photos and data folder, and, where the teacher was evaluated in the same
file, the teacher's means and the ratios model / teacher.

Paths in the metadata (the data folder, the run it started from) are recorded relative to the
folder the tool runs in, so that shipped files name no machine's absolute paths.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import torch

from imgperc import hub, plugins
from imgperc.errors import ModelNotAvailable
from imgperc.inference import DEFAULT_PAD
from imgperc.inference.bench import net_gflop
from imgperc.modelfile import load_model_file, save_model_file
from imgperc_sr import plugin as sr_plugin
from imgperc_style import plugin as style_plugin

PLUGINS = {"sr": sr_plugin, "style": style_plugin}  # task -> the plugin whose WEIGHTS_DIR ships it
EVAL_KEY = {"sr": "scale", "style": "style_image"}  # a key only that task's eval JSON has
COST_SIDE = 512 + 2 * DEFAULT_PAD


def _sig(value: float) -> float:
    return float(f"{value:.4g}")


def portable(path: str | None) -> str | None:
    """``path`` relative to the working folder if it is absolute (shipped files travel); its
    name alone where no relative path exists (another drive)."""
    if not path or not os.path.isabs(path):
        return path
    try:
        return os.path.relpath(path)
    except ValueError:
        return Path(path).name


def _portable_paths(meta: dict[str, Any]) -> dict[str, Any]:
    for key, field in (("data", "folder"), ("training", "init")):
        if isinstance(meta.get(key), dict) and field in meta[key]:
            meta = {**meta, key: {**meta[key], field: portable(meta[key][field])}}
    return meta


def weights_dir(task: Any) -> Path:
    if task not in PLUGINS:
        raise SystemExit(f"cannot ship a model of task {task!r} (only {', '.join(PLUGINS)})")
    return PLUGINS[task].WEIGHTS_DIR


def gflop(arch: str, config: dict[str, Any] | None) -> float:
    """One forward pass of ``arch`` on a COST_SIDE square (counted on the meta device)."""
    with torch.device("meta"):
        net = plugins.registry("transform_nets").get(arch)(**(config or {}))
    return _sig(net_gflop(net, (1, 3, COST_SIDE, COST_SIDE)))


def ship(run_model: Path, name: str, note: str | None) -> Path:
    tensors, meta = load_model_file(run_model)
    target = weights_dir(meta.get("task")) / f"{name}.safetensors"
    try:
        taken = hub.find_spec(name)
    except ModelNotAvailable:
        taken = None
    if taken is not None and taken.builtin != target:
        raise SystemExit(f"'{name}' is already the name of hub model '{taken.id}' ({taken.description}); choose another")
    meta = _portable_paths({**meta, "weights_dtype": "float16"})
    teacher = meta.get("teacher")
    if meta["task"] == "style" and teacher and teacher.get("architecture"):
        meta["cost"] = {"side": COST_SIDE, "gflop": gflop(meta["architecture"], meta.get("config")),
                        "teacher_gflop": gflop(teacher["architecture"], teacher.get("config"))}
    if note:
        meta["note"] = note
    half = {key: value.to(torch.float16) if value.is_floating_point() else value for key, value in tensors.items()}
    save_model_file(target, half, meta)
    return target


def _method(means: dict[str, Any], name: str) -> str | None:
    """The method of an eval JSON that is ``name`` (given by name or as NAME.safetensors)."""
    return next((m for m in means if m == name or Path(m).stem == name), None)


def sr_scores(name: str, meta: dict[str, Any], result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    means = result["mean"][_method(result["mean"], name)]
    key = f"{Path(result['data']).name}-x{result['scale']}"
    if result["degradation"] != "bicubic":  # the benchmark protocol; others are named
        key += f"-{result['degradation']}"
    return key, {"psnr": round(means["psnr"], 2), "ssim": round(means["ssim"], 4), "grid": round(means["grid"], 3),
                 "histogram_match": result["histogram_match"]}


def style_scores(name: str, meta: dict[str, Any], result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    mine = result["mean"][_method(result["mean"], name)]
    scores = {"style_loss": _sig(mine["style"]), "content_loss": _sig(mine["content"]), "photos": len(result["images"]),
              "data": portable(result["data"]), "size": result["size"], "style_image": Path(result["style_image"]).name,
              "recipe": result["recipe"].get("name")}
    teacher = (meta.get("teacher") or {}).get("name")
    found = _method(result["mean"], teacher) if teacher else None
    if found is not None:
        theirs = result["mean"][found]
        scores["teacher"] = {"name": teacher, "style_loss": _sig(theirs["style"]), "content_loss": _sig(theirs["content"])}
        scores["ratio"] = {k: round(mine[k] / theirs[k], 3) for k in ("style", "content") if theirs[k]}
    return f"{Path(result['data']).name}-{result['size']}", scores


def record_scores(name: str, results: list[Path], method: str | None = None) -> Path:
    found = [d / f"{name}.safetensors" for d in (p.WEIGHTS_DIR for p in PLUGINS.values()) if (d / f"{name}.safetensors").is_file()]
    if not found:
        raise SystemExit(f"no shipped model '{name}' (ship it first)")
    target = found[0]
    tensors, meta = load_model_file(target)
    scores = dict(meta.get("scores", {}))
    for path in results:
        result = json.loads(path.read_text())
        if EVAL_KEY[meta["task"]] not in result:
            raise SystemExit(f"{path} is not an `imgperc eval {meta['task']}` result")
        chosen = method or name
        if _method(result["mean"], chosen) is None:
            raise SystemExit(f"{path} has no results for '{chosen}' (methods: {', '.join(result['mean'])})")
        key, entry = (style_scores if meta["task"] == "style" else sr_scores)(chosen, meta, result)
        scores[key] = entry
    save_model_file(target, tensors, {**meta, "scores": scores})
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", action="store_true", help="record eval JSON files into NAME's metadata")
    parser.add_argument("--note")
    parser.add_argument("--method", help="with --scores: the JSON's method that is NAME (default: NAME itself)")
    parser.add_argument("args", nargs="+")
    options = parser.parse_args(argv)
    if options.scores:
        print(record_scores(options.args[0], [Path(p) for p in options.args[1:]], options.method))
    else:
        if len(options.args) != 2:
            parser.error("give RUN/model.safetensors and NAME (or --scores NAME EVAL.json ...)")
        run_model, name = options.args
        print(ship(Path(run_model), name, options.note))


if __name__ == "__main__":
    main()
