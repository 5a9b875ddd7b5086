"""The paper's evaluations (Johnson et al. 2016), regenerated: Fig. 5, Table 1 and the SR table.

    python benchmarks/paper.py fig5 --data ../shared/data/content --style-image ../shared/data/styles/starry_night.jpg \\
        --model A.safetensors --model B.safetensors --sizes 256,512 --iterations 500 --out runs/paper
    python benchmarks/paper.py table1 --sizes 256,512,1024 --iterations 100,300,500 --out runs/paper
    python benchmarks/paper.py sr --data-root ../shared/data/sr --out runs/paper

``fig5``: for every model, the objective it was trained with (the recipe in its metadata:
content + style + TV, weighted; a model without one, such as the ml5 nets, needs ``--preset``)
after each L-BFGS iteration of Gatys et al., averaged over the photos of ``--data`` (each
resized so its longest side is the size); Gatys starts from white noise as the paper does
(``--init content``: from the photo). Models with the same objective (recipe, style image and
style size) share one Gatys run; each net's mean objective on its own outputs is a horizontal
line, and the JSON says at which iteration Gatys first gets as low. ``--iterations`` is one
count for all sizes or one per size. Writes fig5.json and one fig5-N-MODEL.png per objective
(log-y).

``table1``: wall seconds of one feed-forward pass of each ``--model`` (fp32, eager) against
Gatys with each iteration count, at each square size, in one process; the Gatys times are read
at those iterations of one run (after a one-iteration warm-up; setting the content and style
targets is not timed). With
``--measure-iterations K`` below an iteration count, that count's time is K iterations' time
extrapolated, and the table says so. Writes table1.json.

``sr``: runs `imgperc eval sr` (bicubic and every built-in model) on each data set and scale and
writes sr.md beside the paper's published cells.

Every subcommand prints the command line that regenerates its output.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from imgperc.api import resize_longest
from imgperc.atomic import atomic_path, check_writable
from imgperc.errors import ImgpercError, InputError
from imgperc.hub import builtin_specs, model_names
from imgperc.inference import Engine, select_device
from imgperc.io import collect_inputs, read_image, resize
from imgperc.losses import LossRecipe, PerceptualLoss, get_preset
from imgperc.train.plot import loss_curve
from imgperc_gatys.gatys import INITS, initial_image, optimize
from imgperc_sr.plugin import weights_folder
from imgperc_style.stylize import TASK, StyleChoice, choose

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FALLBACK_PRESET = "vgg19-relu3"
PAPER_SPEEDUP = {  # Table 1: Gatys (100, 300, 500 iterations) over the feed-forward net
    256: {100: 212, 300: 636, 500: 1060},
    512: {100: 205, 300: 615, 500: 1026},
    1024: {100: 208, 300: 625, 500: 1042},
}
PAPER_SR = {  # Table 2 cells (PSNR, SSIM or None) by (data set, scale, method)
    ("set5", 4, "bicubic"): (28.43, 0.8114),
    ("set5", 4, "pixel"): (28.40, 0.8205),
    ("set5", 4, "feat"): (27.09, 0.7680),
    ("set5", 4, "srcnn"): (30.48, 0.8628),
    ("set5", 8, "bicubic"): (23.80, None),
    ("set5", 8, "pixel"): (24.77, None),
    ("set5", 8, "feat"): (23.26, None),
}
SR_ROWS = {"bicubic": "bicubic", "pixel": "per-pixel loss", "feat": "feature loss", "l1": "fidelity (L1)",
           "perceptual": "perceptual", "srcnn": "SRCNN"}

Net = Callable[[torch.Tensor], torch.Tensor]


def command_line(argv: Sequence[str]) -> str:
    return "python benchmarks/paper.py " + shlex.join(argv)


def int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def write_json(path: Path, doc: dict[str, Any], force: bool) -> None:
    with atomic_path(path, overwrite=force) as tmp:
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=False))
    print(path)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def load_style_net(choice: StyleChoice, device: torch.device) -> tuple[Net, dict[str, Any]]:
    """The choice's net (fp32, never tiled or compiled) and its model file's metadata."""
    loaded = choice.model.load()
    return Engine(loaded.net, device=device, precision="fp32", tile=None, compile="never"), dict(loaded.meta)


def training_recipe(meta: dict[str, Any], ref: str, preset: str | None) -> tuple[LossRecipe, str]:
    """The recipe the model was trained with (its metadata), else ``preset``; and which it is."""
    if "recipe" in meta:
        return LossRecipe.from_dict(meta["recipe"]).validate(), "model"
    if preset is None:
        raise InputError(f"model {ref} records no training recipe (e.g. the ml5 nets); pass --preset NAME to use a preset instead")
    return get_preset(preset), f"--preset {preset}"


def gatys_curve(objective: PerceptualLoss, start: torch.Tensor, iterations: int) -> list[tuple[float, float]]:
    """(seconds since the start, total objective) after 0, 1, ..., ``iterations`` projected L-BFGS iterations."""
    steps: list[tuple[float, float]] = []
    optimize(objective, start, iterations, on_step=lambda s: steps.append((s.seconds, s.values["total"])))
    return steps


def net_labels(choices: Sequence[StyleChoice]) -> list[str]:
    """Short unique names for plots and tables: each model's name (its run folder's for a run's
    ``model.safetensors``), with ``-2``, ``-3`` ... on repeats."""
    labels: list[str] = []
    for choice in choices:
        path = choice.model.path
        name = path.parent.name if path is not None and choice.tag == "model" else choice.tag
        labels.append(name if name not in labels else f"{name}-{labels.count(name) + 1}")
    return labels


def matched_at(curve: Sequence[float], level: float) -> int | None:
    """The first iteration whose objective is at most ``level`` (None if Gatys never gets there)."""
    return next((i for i, value in enumerate(curve) if value <= level), None)


def fig5(args: argparse.Namespace, argv: Sequence[str]) -> None:
    if len(args.style_image) not in (1, len(args.model)):
        raise InputError("give one --style-image for all models or one per --model")
    if len(args.iterations) not in (1, len(args.sizes)):
        raise InputError("give one --iterations for all sizes or one per --sizes")
    iterations = dict(zip(args.sizes, args.iterations * len(args.sizes) if len(args.iterations) == 1 else args.iterations))
    files = collect_inputs([args.data], recursive=True)
    choices = [choose(None, ref) for ref in args.model]
    device = select_device(args.device)
    styles = args.style_image * (len(args.model) // len(args.style_image))
    runs: dict[str, dict[str, Any]] = {}  # one per objective: models with the same one share the Gatys curves
    for ref, choice, label, style_path in zip(args.model, choices, net_labels(choices), styles):
        net, meta = load_style_net(choice, device)
        recipe, source = training_recipe(meta, ref, args.preset)
        style_size = args.style_size or meta.get("style_size")
        key = json.dumps([recipe.to_dict(), str(style_path), style_size], sort_keys=True)
        run = runs.setdefault(key, {"recipe": recipe, "style_image": style_path, "style_size": style_size, "nets": []})
        run["nets"].append({"model": ref, "label": label, "recipe_from": source, "net": net})
    args.out.mkdir(parents=True, exist_ok=True)
    plots = [args.out / f"fig5-{i + 1}-{safe_name(run['nets'][0]['label'])}.png" for i, run in enumerate(runs.values())]
    for target in (args.out / "fig5.json", *plots):
        check_writable(target, overwrite=args.force)
    entries = [fig5_run(run, files, args, iterations, device) for run in runs.values()]
    for entry, plot in zip(entries, plots):
        entry["plot"] = plot.name
        plot_fig5(entry, plot)
        print(plot)
    doc = {"command": command_line(argv), "data": str(args.data), "photos": len(files), "iterations": args.iterations,
           "init": args.init, "seed": args.seed, "device": str(device), "threads": torch.get_num_threads(),
           "objective": "recipe total (weighted content + style + tv)", "runs": entries}
    write_json(args.out / "fig5.json", doc, args.force)
    print(f"regenerate: {doc['command']}")


def fig5_run(run: dict[str, Any], files: Sequence[Path], args: argparse.Namespace, iterations: dict[int, int],
             device: torch.device) -> dict[str, Any]:
    """One objective: the mean Gatys curve and each net's mean objective at every size."""
    objective = PerceptualLoss(run["recipe"]).to(device)
    entry: dict[str, Any] = {"recipe": run["recipe"].to_dict(), "style_image": str(run["style_image"]),
                             "models": [{k: n[k] for k in ("model", "label", "recipe_from")} for n in run["nets"]], "sizes": {}}
    for size, count in iterations.items():
        style_size = run["style_size"] or size
        objective.set_style(resize_longest(read_image(run["style_image"]), style_size).pixels[None].to(device))
        curves, photos = [], []
        for index, path in enumerate(files):
            photo = resize_longest(read_image(path), size).pixels[None].to(device)
            objective.set_content(photo)
            with torch.no_grad():
                nets = {n["label"]: float(objective(n["net"](photo)).total) for n in run["nets"]}
            start = initial_image(photo, args.init, torch.Generator().manual_seed(args.seed + index))
            curves.append([total for _, total in gatys_curve(objective, start, count)])
            photos.append({"image": path.relative_to(args.data).as_posix(), "nets": nets, "gatys_final": curves[-1][-1]})
            shown = ", ".join(f"{label} {value:.4g}" for label, value in nets.items())
            print(f"{size}px {photos[-1]['image']}: {shown}; gatys {curves[-1][0]:.4g} -> {curves[-1][-1]:.4g}", flush=True)
        gatys = [statistics.fmean(values) for values in zip(*curves)]
        means = {n["label"]: statistics.fmean(p["nets"][n["label"]] for p in photos) for n in run["nets"]}
        entry["sizes"][str(size)] = {"iterations": count, "style_size": style_size, "gatys": gatys, "nets": means,
                                     "gatys_matches_net_at": {label: matched_at(gatys, v) for label, v in means.items()},
                                     "photos": photos}
    return entry


def plot_fig5(entry: dict[str, Any], path: Path) -> None:
    """Mean Gatys objective per iteration at each size, and each net at each size as a horizontal line."""
    last = max(r["iterations"] for r in entry["sizes"].values())
    records = []
    for i in range(last + 1):
        loss = {f"gatys {s}": r["gatys"][i] for s, r in entry["sizes"].items() if i <= r["iterations"]}
        if i in (0, last):
            loss.update({f"{label} {s}": v for s, r in entry["sizes"].items() for label, v in r["nets"].items()})
        records.append({"iteration": i, "loss": loss})
    title = f"{Path(entry['style_image']).name}: objective {entry['recipe']['name'] or 'recipe'}, mean over the photos"
    loss_curve(records, path, title=title)


def square(image_path: Path, size: int) -> torch.Tensor:
    """The image's centre square resized to ``size`` x ``size``, as [1,3,S,S]."""
    pixels = read_image(image_path).pixels
    h, w = pixels.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return resize(pixels[:, top : top + side, left : left + side], (size, size))[None]


def timed(device: torch.device, run: Callable[[], Any]) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    began = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - began


def table1(args: argparse.Namespace, argv: Sequence[str]) -> None:
    refs = args.model or [model_names(TASK)[0]]
    choices = [choose(None, ref) for ref in refs]
    measured = min(args.measure_iterations or max(args.iterations), max(args.iterations))
    args.out.mkdir(parents=True, exist_ok=True)
    check_writable(args.out / "table1.json", overwrite=args.force)
    device = select_device(args.device)
    loaded = [load_style_net(choice, device) for choice in choices]
    labels = net_labels(choices)
    recipe, source = training_recipe(loaded[0][1], refs[0], args.preset or FALLBACK_PRESET)
    objective = PerceptualLoss(recipe).to(device)
    rows = []
    for size in args.sizes:
        photo = square(args.content, size).to(device)
        objective.set_content(photo)
        objective.set_style(resize_longest(read_image(args.style_image), size).pixels[None].to(device))
        net_seconds = {}
        with torch.no_grad():
            for label, (net, _) in zip(labels, loaded):
                net(photo)  # warm-up
                net_seconds[label] = statistics.median(timed(device, lambda: net(photo)) for _ in range(args.net_repeats))
        start = initial_image(photo, "noise", torch.Generator().manual_seed(0))
        gatys_curve(objective, start, 1)  # warm-up
        steps = gatys_curve(objective, start, measured)
        per_iteration = (steps[-1][0] - steps[0][0]) / measured
        for n in args.iterations:
            extrapolated = n > measured
            seconds = steps[-1][0] + (n - measured) * per_iteration if extrapolated else steps[n][0]
            nets = {label: {"seconds": t, "speedup": seconds / t} for label, t in net_seconds.items()}
            rows.append({"size": size, "iterations": n, "gatys_seconds": seconds, "extrapolated": extrapolated,
                         "nets": nets, "paper_speedup": PAPER_SPEEDUP.get(size, {}).get(n)})
    print(f"Gatys objective: {recipe.name or 'recipe'} ({source}, loss network {recipe.network}); nets fp32 eager; "
          f"device {device}, {torch.get_num_threads()} threads; Gatys from noise, {measured} iterations measured per size")
    print("| size | Gatys iterations | Gatys s | " + " | ".join(f"{label} s | speed-up" for label in labels) + " | paper |")
    print("|---:|---:|---:|" + "---:|---:|" * len(labels) + "---:|")
    for r in rows:
        note = " (extrapolated)" if r["extrapolated"] else ""
        paper = f"{r['paper_speedup']}x" if r["paper_speedup"] else "-"
        nets = " | ".join(f"{n['seconds']:.4f} | {n['speedup']:.0f}x" for n in r["nets"].values())
        print(f"| {r['size']} | {r['iterations']} | {r['gatys_seconds']:.3f}{note} | {nets} | {paper} |")
    if any(r["extrapolated"] for r in rows):
        print(f"extrapolated: {measured} iterations timed, the rest at the same seconds per iteration")
    doc = {"command": command_line(argv), "models": dict(zip(labels, refs)), "recipe": recipe.to_dict(), "recipe_from": source,
           "device": str(device), "threads": torch.get_num_threads(), "content": str(args.content),
           "style_image": str(args.style_image), "measured_iterations": measured, "net_repeats": args.net_repeats,
           "rows": rows}
    write_json(args.out / "table1.json", doc, args.force)
    print(f"regenerate: {doc['command']}")


def sr(args: argparse.Namespace, argv: Sequence[str]) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "sr.md"
    check_writable(target, overwrite=args.force)
    losses = {spec.id: spec.extra["loss"] for spec in builtin_specs(weights_folder())}
    cells: dict[tuple[str, int, str], tuple[float | None, float]] = {}
    for name in args.datasets:
        data = args.data_root / name
        if not data.is_dir():
            raise InputError(f"{data} is not a folder of ground-truth images")
        for scale in args.scales:
            report = args.out / f"eval-sr-{data.resolve().name}-x{scale}.json"
            check_writable(report, overwrite=args.force)
            call = [sys.executable, "-m", "imgperc", "eval", "sr", "-x", str(scale), "--data", str(data), "-o", str(args.out),
                    "--device", args.device, *(["--force"] if args.force else []),
                    *(["--histogram-match"] if args.histogram_match else [])]
            if subprocess.run(call).returncode:
                raise InputError(f"`{shlex.join(call)}` failed")
            for method, score in json.loads(report.read_text())["mean"].items():
                cells[(name, scale, losses.get(method, method))] = (score["psnr"], score["ssim"])
    text = sr_table(cells, args.datasets, args.scales, command_line(argv), args.histogram_match)
    with atomic_path(target, overwrite=args.force) as tmp:
        tmp.write_text(text)
    print(text)
    print(target)
    print(f"regenerate: {command_line(argv)}")


def sr_table(cells: dict, datasets: list[str], scales: list[int], command: str, histogram_match: bool) -> str:
    """Markdown: one row per method, ours beside the paper's PSNR/SSIM for each data set and scale."""

    def pair(value: tuple[float | None, float | None] | None) -> str:
        if value is None:
            return "-"
        psnr, ssim = value
        return ("inf" if psnr is None else f"{psnr:.2f}") + ("" if ssim is None else f" / {ssim:.4f}")

    columns = [(d, s) for s in scales for d in datasets]
    head = "| method | " + " | ".join(f"{d} x{s} | paper" for d, s in columns) + " |"
    lines = [f"Generated by `{command}`: PSNR (dB) / SSIM on Y, border = scale, bicubic degradation"
             + (", histogram matching" if histogram_match else "") + "; paper: Johnson et al. 2016, Table 2.", "",
             head, "|---|" + "---:|" * (2 * len(columns))]
    methods = list(dict.fromkeys(m for (_, _, m) in [*cells, *PAPER_SR]))
    for method in sorted(methods, key=lambda m: list(SR_ROWS).index(m) if m in SR_ROWS else len(SR_ROWS)):
        row = [f"{pair(cells.get((d, s, method)))} | {pair(PAPER_SR.get((d, s, method)))}" for d, s in columns]
        lines.append(f"| {SR_ROWS.get(method, method)} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", type=Path, required=True, help="Folder for the outputs.")
    common.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    common.add_argument("--force", action="store_true", help="Overwrite earlier outputs.")

    f = sub.add_parser("fig5", parents=[common], help="Gatys objective per iteration vs the nets' (Fig. 5).")
    f.add_argument("--data", type=Path, required=True, help="Folder of held-out photos.")
    f.add_argument("--style-image", type=Path, action="append", required=True, help="One for all models, or one per --model.")
    f.add_argument("--model", action="append", required=True, help="A style model (repeat).")
    f.add_argument("--sizes", type=int_list, default=[256, 512])
    f.add_argument("--iterations", type=int_list, default=[500], help="One for all sizes, or one per size.")
    f.add_argument("--init", choices=INITS, default="noise", help="Gatys start: white noise (the paper) or the photo.")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--style-size", type=int, help="Longest side of the style [default: the model's, else the size].")
    f.add_argument("--preset", help="Recipe for models that record none.")

    t = sub.add_parser("table1", parents=[common], help="Wall time: net vs Gatys (Table 1).")
    t.add_argument("--model", action="append", help="A style model (repeat) [default: the first registered style]; "
                   "the first one's recipe is Gatys's objective.")
    t.add_argument("--sizes", type=int_list, default=[256, 512, 1024])
    t.add_argument("--iterations", type=int_list, default=[100, 300, 500])
    t.add_argument("--measure-iterations", type=int, help="Time only K Gatys iterations and extrapolate beyond.")
    t.add_argument("--net-repeats", type=int, default=5, help="Net passes timed (the median is reported).")
    t.add_argument("--content", type=Path, default=SHARED / "content" / "chicago.jpg")
    t.add_argument("--style-image", type=Path, default=SHARED / "styles" / "starry_night.jpg")
    t.add_argument("--preset", help=f"Gatys recipe [default: the model's, else {FALLBACK_PRESET}].")

    s = sub.add_parser("sr", parents=[common], help="Set5/Set14 PSNR/SSIM beside the paper (Table 2).")
    s.add_argument("--data-root", type=Path, default=SHARED / "sr")
    s.add_argument("--datasets", type=lambda v: v.split(","), default=["set5", "set14"])
    s.add_argument("--scales", type=int_list, default=[4, 8])
    s.add_argument("--histogram-match", action="store_true", help="The paper's post-processing of model outputs.")
    return top


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    for name in ("iterations", "measure_iterations", "net_repeats", "style_size"):
        value = getattr(args, name, None)
        if isinstance(value, int) and value < 1:
            raise SystemExit(f"Error: --{name.replace('_', '-')} must be at least 1")
    try:
        {"fig5": fig5, "table1": table1, "sr": sr}[args.command](args, argv)
    except ImgpercError as exc:
        raise SystemExit(f"Error: {exc}") from None


if __name__ == "__main__":
    main()
