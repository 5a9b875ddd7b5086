"""Turn a trained super-resolution run into a built-in model of the sr plugin.

    python tools/ship_sr_weights.py RUN/model.safetensors x4-feat [--note TEXT]
    python tools/ship_sr_weights.py --scores x4-feat eval-sr-set5-x4.json eval-sr-set14-x4.json

The first form writes ``plugins/imgperc_sr/weights/NAME.safetensors``: the weights in fp16
(half the size; `imgperc.modelfile.build_model` computes in fp32) with the run's metadata.
The second records measured scores (`imgperc eval sr` JSON files, evaluated on the shipped
file itself) in that file's metadata; the weights are left as they are.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from imgperc.modelfile import load_model_file, save_model_file
from imgperc_sr.plugin import WEIGHTS_DIR


def ship(run_model: Path, name: str, note: str | None) -> Path:
    tensors, meta = load_model_file(run_model)
    if meta.get("task") != "sr":
        raise SystemExit(f"{run_model} is not a super-resolution model")
    half = {key: value.to(torch.float16) for key, value in tensors.items()}
    meta = {**meta, "weights_dtype": "float16"}
    if note:
        meta["note"] = note
    target = WEIGHTS_DIR / f"{name}.safetensors"
    save_model_file(target, half, meta)
    return target


def record_scores(name: str, results: list[Path]) -> Path:
    target = WEIGHTS_DIR / f"{name}.safetensors"
    tensors, meta = load_model_file(target)
    scores = dict(meta.get("scores", {}))
    for path in results:
        result = json.loads(path.read_text())
        means = result["mean"]
        method = next(m for m in means if m == name or Path(m).stem == name)
        key = f"{Path(result['data']).name}-x{result['scale']}"
        if result["degradation"] != "bicubic":  # the benchmark protocol; others are named
            key += f"-{result['degradation']}"
        scores[key] = {"psnr": round(means[method]["psnr"], 2), "ssim": round(means[method]["ssim"], 4),
                       "grid": round(means[method]["grid"], 3), "histogram_match": result["histogram_match"]}
    save_model_file(target, tensors, {**meta, "scores": scores})
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", action="store_true", help="record eval JSON files into NAME's metadata")
    parser.add_argument("--note")
    parser.add_argument("args", nargs="+")
    options = parser.parse_args()
    if options.scores:
        print(record_scores(options.args[0], [Path(p) for p in options.args[1:]]))
    else:
        run_model, name = options.args
        print(ship(Path(run_model), name, options.note))


if __name__ == "__main__":
    main()
