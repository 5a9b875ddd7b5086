"""`imgperc eval style`: how well style models (and optionally Gatys) render one style.

Every photo of ``--data`` is resized (longest side ``--size``) and stylized by each model as
`imgperc stylize` would. Each output is scored with a loss recipe (default ``vgg19-relu3``):
the style loss is the sum over its style taps of the layer multiplier times the squared
Frobenius distance between the output's and the style image's Gram matrices, the content loss
the same sum of feature distances to the photo over its content taps. The recipe's global
weights are not applied, so the numbers compare across recipes' weightings. ``--gatys N``
adds the Gatys et al. optimisation from the same photo (N L-BFGS iterations of the recipe's
weighted objective), through the gatys plugin. A student (a model distilled from a teacher) is
also scored for its likeness to its teacher's output (`.likeness`: distance and PSNR), beside
its teacher's own 2-pixel shift floor; its teacher is then evaluated too. The command and its
options: `.eval_cmd`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from PIL import Image as PILImage

from imgperc import plugins
from imgperc.api import resize_longest
from imgperc.report import labelled_row
from imgperc.errors import InputError, ModelNotAvailable, PluginError
from imgperc.hub import ResolvedModel, resolve_model
from imgperc.io import read_image
from imgperc.lazy import load
from imgperc.losses import LossRecipe, PerceptualLoss, get_preset

from .eval_cmd import DEFAULT_PRESET
from .likeness import Likeness, LikenessMeter
from .stylize import StyleChoice

GATYS_OPTIMIZER = "imgperc_gatys.gatys:optimize"

Method = Callable[[torch.Tensor], torch.Tensor]
"""A way to stylize a photo: [1,3,H,W] in [0,1] -> the same shape."""


@dataclass(frozen=True)
class Losses:
    """One output's style loss (total and per tap) and content loss."""

    style: float
    content: float
    style_layers: dict[str, float]


@dataclass
class ImageLosses:
    image: str
    width: int
    height: int
    losses: dict[str, Losses] = field(default_factory=dict)
    likeness: dict[str, Likeness] = field(default_factory=dict)  # of each student to its teacher


@dataclass
class StyleEvaluation:
    """Every method's losses on every photo, and how they were measured."""

    data: str
    style_image: str
    size: int
    recipe: LossRecipe
    methods: list[str]
    images: list[ImageLosses] = field(default_factory=list)

    def means(self) -> dict[str, tuple[float, float]]:
        """Each method's mean (style, content) loss over the photos."""
        n = len(self.images)
        return {
            m: (sum(i.losses[m].style for i in self.images) / n, sum(i.losses[m].content for i in self.images) / n)
            for m in self.methods
        }

    def likeness_means(self) -> dict[str, Likeness]:
        """Each student's mean likeness over the photos (PSNR: the mean of the photos' dB)."""
        students = self.images[0].likeness if self.images else {}
        n = len(self.images)
        return {m: Likeness(first.reference, *(sum(getattr(i.likeness[m], f) for i in self.images) / n for f in LIKENESS_FIELDS))
                for m, first in students.items()}

    def to_json(self) -> str:
        likeness = self.likeness_means()
        doc = {
            "data": self.data,
            "style_image": self.style_image,
            "size": self.size,
            "recipe": self.recipe.to_dict(),
            "methods": self.methods,
            "images": [
                {"image": i.image, "width": i.width, "height": i.height,
                 "losses": {m: {"style": l.style, "content": l.content, "style_layers": l.style_layers,
                                **({"likeness": _likeness_json(i.likeness[m])} if m in i.likeness else {})} for m, l in i.losses.items()}}
                for i in self.images
            ],
            "mean": {m: {"style": s, "content": c, **({"likeness": _likeness_json(likeness[m])} if m in likeness else {})}
                     for m, (s, c) in self.means().items()},
        }
        return json.dumps(doc, indent=2, allow_nan=False)

    def to_csv(self) -> str:
        """One row per photo and method, then one ``mean`` row per method."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["image", "width", "height", "method", "style_loss", "content_loss", "teacher", *LIKENESS_COLUMNS])
        for i in self.images:
            for m in self.methods:
                writer.writerow([i.image, i.width, i.height, m, f"{i.losses[m].style:.6g}", f"{i.losses[m].content:.6g}",
                                 *_likeness_cells(i.likeness.get(m))])
        likeness = self.likeness_means()
        for m, (s, c) in self.means().items():
            writer.writerow(["mean", "", "", m, f"{s:.6g}", f"{c:.6g}", *_likeness_cells(likeness.get(m))])
        return out.getvalue()


LIKENESS_FIELDS = ("distance", "psnr", "floor_distance", "floor_psnr")
LIKENESS_COLUMNS = ("likeness", "psnr_db", "floor_likeness", "floor_psnr_db")


def _finite(value: float) -> float | None:
    """``value``, or None for JSON where it is infinite (the PSNR of identical images)."""
    return value if math.isfinite(value) else None


def _likeness_json(score: Likeness) -> dict[str, object]:
    return {"teacher": score.reference, **{f: _finite(getattr(score, f)) for f in LIKENESS_FIELDS}, "floor_ratio": score.floor_ratio}


def _likeness_cells(score: Likeness | None) -> list[str]:
    """The teacher and likeness columns of a CSV row (empty for a method that has no teacher)."""
    if score is None:
        return [""] * (1 + len(LIKENESS_FIELDS))
    return [score.reference, *(f"{getattr(score, f):.6g}" for f in LIKENESS_FIELDS)]


def scoring_recipe(preset: str) -> LossRecipe:
    """``preset`` with global weights 1 and no TV or pixel term; it must have style taps."""
    recipe = get_preset(preset)
    if recipe.network is None or not recipe.style_layers or not recipe.content_layers:
        raise InputError(f"loss recipe '{preset}' has no style or no content taps; choose a style preset such as {DEFAULT_PRESET}")
    return recipe.replace(content_weight=1.0, style_weight=1.0, tv_weight=0.0, pixel_weight=0.0).validate()


def score(objective: PerceptualLoss, output: torch.Tensor) -> Losses:
    """The losses of ``output`` (objective: a `scoring_recipe` with its style and content set)."""
    with torch.no_grad():
        values = objective(output).values()
    style = {k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("style:")}
    content = sum(v for k, v in values.items() if k.startswith("content:"))
    return Losses(sum(style.values()), content, style)


def teacher_of(model: ResolvedModel) -> ResolvedModel | None:
    """The teacher a student's metadata names (a hub style's ``extra`` its name; a distilled
    file's its name and file): by name if that resolves, else by its file; None for a model
    that is no student. A teacher that cannot be found is a one-line error."""
    teacher = model.meta.get("teacher")
    name, file = (teacher, None) if isinstance(teacher, str) else ((teacher or {}).get("name"), (teacher or {}).get("file"))
    if not name:
        return None
    try:
        return resolve_model(name, "style", label="style")
    except (InputError, ModelNotAvailable):
        if file and Path(file).is_file():
            return resolve_model(file, "style", label="style")
    raise InputError(f"{model.name}'s teacher '{name}' is neither a known style nor an existing file"
                     f"{f' ({file})' if file else ''}: cannot measure its likeness")


def add_teachers(choices: dict[str, StyleChoice]) -> dict[str, str]:
    """Each student's teacher (``choices`` ref -> teacher ref), added to ``choices`` unless it is there."""
    teachers = {}
    for ref, choice in list(choices.items()):
        teacher = teacher_of(choice.model)
        if teacher is not None:
            same = (teacher.name, teacher.path)
            teachers[ref] = next((r for r, c in choices.items() if (c.model.name, c.model.path) == same), teacher.name)
            choices.setdefault(teachers[ref], StyleChoice(teacher.name, teacher))
    return teachers


def gatys_optimizer() -> Callable[..., torch.Tensor]:
    """The gatys plugin's optimiser, ``optimize(loss, start, iterations)`` (imported now)."""
    info = plugins.host().infos.get("gatys")
    if info is None or info.error:
        raise PluginError("--gatys needs the gatys plugin, which is not installed or not enabled (see `imgperc plugins`)")
    return load(GATYS_OPTIMIZER)


def gatys_method(optimize: Callable[..., torch.Tensor], recipe: LossRecipe, scorer: PerceptualLoss, style: torch.Tensor, iterations: int) -> Method:
    """Gatys et al. from the photo: ``iterations`` of ``optimize`` (projected L-BFGS) on the
    recipe's weighted objective (sharing the scorer's loss network)."""
    objective = PerceptualLoss(recipe, network=scorer.network)
    objective.set_style(style)

    def run(photo: torch.Tensor) -> torch.Tensor:
        objective.set_content(photo)
        return optimize(objective, photo, iterations)

    return run


def evaluate(
    files: list[Path],
    methods: dict[str, Method],
    scorer: PerceptualLoss,
    *,
    size: int,
    data: Path,
    style_image: Path,
    device: torch.device,
    teachers: dict[str, str] | None = None,
    meter: LikenessMeter | None = None,
    on_image: Callable[[Path, torch.Tensor, dict[str, torch.Tensor], ImageLosses], None] | None = None,
) -> StyleEvaluation:
    """Score every method on every photo (resized to longest side ``size``); ``teachers``: each
    student method's teacher method, whose likeness ``meter`` measures."""
    result = StyleEvaluation(str(data), str(style_image), size, scorer.recipe, list(methods))
    for path in files:
        image = resize_longest(read_image(path), size)
        photo = image.pixels[None].to(device)
        entry = ImageLosses(path.relative_to(data).as_posix(), *image.size)
        outputs = {name: method(photo).to(device) for name, method in methods.items()}
        scorer.set_content(photo)
        entry.losses = {name: score(scorer, output) for name, output in outputs.items()}
        if teachers:
            entry.likeness = likeness_scores(meter, teachers, methods, photo, outputs)
        result.images.append(entry)
        if on_image is not None:
            on_image(path, photo, outputs, entry)
    return result


def likeness_scores(meter: LikenessMeter, teachers: dict[str, str], methods: dict[str, Method], photo: torch.Tensor,
                    outputs: dict[str, torch.Tensor]) -> dict[str, Likeness]:
    """Each student's likeness to its teacher on one photo, with the teacher's shift floor (once per teacher)."""
    floors = {t: meter.shift_floor(methods[t], photo, outputs[t]) for t in dict.fromkeys(teachers.values())}
    return {m: Likeness(t, *meter.pair(outputs[m], outputs[t]), *floors[t]) for m, t in teachers.items()}


def side_by_side(panels: list[tuple[str, torch.Tensor]], crop: int) -> PILImage.Image:
    """One row of labelled centre crops (``crop`` pixels square at most) of [1,3,H,W] images."""
    h, w = panels[0][1].shape[-2:]
    side_h, side_w = min(crop, h), min(crop, w)
    top, left = (h - side_h) // 2, (w - side_w) // 2
    return labelled_row([(label, pixels[0, :, top : top + side_h, left : left + side_w]) for label, pixels in panels], fit_labels=True)
