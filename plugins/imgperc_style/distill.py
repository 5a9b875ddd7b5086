"""`imgperc distill`: train a small, fast style net to reproduce any style model (its teacher).

The teacher is a pretrained style (``muse``, ``wave``, ...), a user's trained style or a style
model file; the student is any registered transform net, by default ``light`` (a tenth of
ml5's FLOPs). The teacher stylizes each photo once (fp32, with the reflection padding `imgperc
stylize` uses; cached, see `teacher_pairs`), and each batch takes the same random crops of the
photos and of the teacher's outputs; the loss is the student's distance to the teacher's output:
per pixel (L1 by default) plus loss-network features (VGG-19 relu2_2 by default), optionally Gram
matrices (style), the content of the photo itself and the Gram matrices of the painting (the style
image, as `imgperc eval style` scores). The core
trainer (`imgperc.train`) does the rest: checkpoints, resume, previews, log, loss curve,
torchrun. The result is a ``style`` model file for `imgperc stylize --model` (``--name``
installs it as a user style).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
import torch
from torch import nn

from imgperc import plugins
from imgperc.api import resize_longest
from imgperc.errors import InputError
from imgperc.hub import ResolvedModel, resolve_model
from imgperc.inference import net_device, run_net
from imgperc.io import read_image
from imgperc.limits import FiniteFloatRange
from imgperc.losses import LossReport, feature_reconstruction_loss, gram_matrix, load_loss_network, network_def, pixel_loss, style_loss
from imgperc.losses.recipe import PIXEL_NORMS, VGG19_STYLE_LAYERS
from imgperc.train import TrainJob, common_options, list_images, split_settings, train

from .net_choice import arch_options, checked_config, pop_config
from .teacher_pairs import PairCrop, cache_folder, make_pairs, teacher_output
from .train import preview_crops

TASK = "style"
DEFAULT_ARCH = "light"
WEIGHT = FiniteFloatRange(min=0.0)


@dataclass(frozen=True)
class DistillLoss:
    """Weights of the distillation terms, each a distance of the student's output to a target.

    ``pixel``: to the teacher's output (``pixel_norm`` l1 or l2 on [0,1] RGB); ``feature``: to
    the teacher's output's loss-network features at each of ``feature_layers``; ``style``: to
    its Gram matrices at ``style_layers`` (each layer's term divided by its channels squared, as
    in the vgg19-relu3 preset); ``content``: to the photo's features at ``content_layer``;
    ``painting``: to the style image's Gram matrices at ``style_layers`` (divided likewise).
    """

    network: str = "vgg19"
    pixel: float = 1.0
    pixel_norm: str = "l1"
    feature: float = 1e-5
    feature_layers: tuple[str, ...] = ("relu2_2",)
    style: float = 0.0
    style_layers: tuple[str, ...] = VGG19_STYLE_LAYERS
    content: float = 0.0
    content_layer: str = "relu2_2"
    painting: float = 0.0

    @property
    def taps(self) -> tuple[str, ...]:
        """The loss-network taps the non-zero terms read."""
        taps = [*(self.feature_layers if self.feature else ()), *(self.style_layers if self.style or self.painting else ())]
        return tuple(dict.fromkeys([*taps, *((self.content_layer,) if self.content else ())]))

    def validate(self) -> "DistillLoss":
        """One-line errors for a norm, layers or weights that cannot make a loss."""
        if self.pixel_norm not in PIXEL_NORMS:
            raise InputError(f"--pixel-norm must be one of {', '.join(PIXEL_NORMS)}, got {self.pixel_norm!r}")
        checks = ((self.feature, "feature", self.feature_layers, "feature"), (self.style, "style", self.style_layers, "style"),
                  (self.painting, "painting", self.style_layers, "style"))
        for weight, option, layers, layer_option in checks:
            if weight and not layers:
                raise InputError(f"--{option}-weight {weight} needs at least one layer in --{layer_option}-layers")
        if not (self.pixel or self.taps):
            raise InputError("every distillation weight is 0: give --pixel-weight, --feature-weight, --style-weight, "
                             "--content-weight or --painting-weight")
        if self.taps:
            network_def(self.network).order(self.taps)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (layers as lists, as they come back from a run's run.json; ``painting``
        only when used, so that runs started before the term existed still resume)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if k != "painting" or v}


class DistillObjective(nn.Module):
    """`DistillLoss` as a module: one loss-network pass over the student's output per call."""

    def __init__(self, weights: DistillLoss) -> None:
        super().__init__()
        self.weights = weights
        self.network = load_loss_network(weights.network, weights.taps) if weights.taps else None
        self.painting: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def set_painting(self, painting: torch.Tensor) -> None:
        """Compute the painting term's Gram targets once (``[1,3,H,W]`` RGB in [0,1], on this module's device)."""
        features = self.network(painting)
        self.painting = {layer: gram_matrix(features[layer]) for layer in self.weights.style_layers}

    def forward(self, output: torch.Tensor, teacher: torch.Tensor, photo: torch.Tensor) -> LossReport:
        w = self.weights
        terms: dict[str, torch.Tensor] = {}
        if w.pixel:
            terms["pixel"] = w.pixel * pixel_loss(output, teacher, w.pixel_norm)
        if self.network is not None:
            features = self.network(output)
            with torch.no_grad():
                target = self.network(teacher) if w.feature or w.style else {}
                seen = self.network(photo) if w.content else {}
            for layer in w.feature_layers if w.feature else ():
                terms[f"feature:{layer}"] = w.feature * feature_reconstruction_loss(features[layer], target[layer])
            grams = {layer: gram_matrix(features[layer]) for layer in w.style_layers} if w.style or w.painting else {}
            for layer in w.style_layers if w.style else ():
                terms[f"style:{layer}"] = w.style / features[layer].shape[1] ** 2 * style_loss(grams[layer], gram_matrix(target[layer]))
            if w.content:
                layer = w.content_layer
                terms[f"content:{layer}"] = w.content * feature_reconstruction_loss(features[layer], seen[layer])
            for layer in w.style_layers if w.painting else ():  # [N,C,C] against the painting's [1,C,C]
                terms[f"painting:{layer}"] = w.painting / features[layer].shape[1] ** 2 * style_loss(grams[layer], self.painting[layer])
        return LossReport(torch.stack(list(terms.values())).sum(), terms)


class DistillJob(TrainJob):
    """A student net trained to reproduce one teacher style model."""

    task = TASK

    def __init__(
        self,
        teacher: ResolvedModel,
        data: Path,
        *,
        arch: str = DEFAULT_ARCH,
        config: dict[str, Any] | None = None,
        image_size: int = 256,
        crop_size: int | None = None,
        loss: DistillLoss = DistillLoss(),
        style_image: Path | None = None,
        style_size: int = 512,
    ) -> None:
        self.architecture = arch
        self.config = checked_config(arch, config or {}, "student")
        if image_size < 16 or image_size % 4:
            raise InputError(f"--image-size must be a multiple of 4 and at least 16, got {image_size}")
        self.image_size = image_size
        self.crop_size = image_size if crop_size is None else crop_size
        if not 16 <= self.crop_size <= image_size or self.crop_size % 4:
            raise InputError(f"--crop-size must be a multiple of 4 from 16 to --image-size {image_size}, got {self.crop_size}")
        self.loss_weights = loss.validate()
        if loss.painting and style_image is None:
            raise InputError(f"--painting-weight {loss.painting} needs --style-image (the painting)")
        if style_image is not None and not loss.painting:
            raise InputError(f"--style-image {style_image} would be unused: give --painting-weight too")
        self.style_image = None if style_image is None else Path(style_image)
        self.style_size = style_size
        self.painting = None if self.style_image is None else resize_longest(read_image(self.style_image), style_size).pixels[None]
        self.data = Path(data)
        self.photos = self.files = list_images(self.data)
        self.preview_inputs = preview_crops(self.files, self.image_size, any_readable=True)
        if not self.preview_inputs:
            raise InputError(f"--data {self.data}: none of its {len(self.files)} images could be read")
        self.teacher = teacher
        loaded = teacher.load()  # a hub teacher is downloaded here, once
        self.teacher_net = loaded.net.requires_grad_(False)
        self.teacher_meta = loaded.meta
        self.objective: DistillObjective | None = None

    def build_net(self) -> nn.Module:
        return plugins.registry("transform_nets").get(self.architecture)(**self.config)

    def sampler(self) -> PairCrop:
        return PairCrop(self.crop_size)

    def setup(self, device: torch.device) -> None:
        """Stylize each photo with the teacher once (cached pairs: see `teacher_pairs`)."""
        self.teacher_net.to(device)
        folder = cache_folder(self.teacher.file(), self.image_size)
        self.files = make_pairs(self.teacher_net, self.photos, folder, self.image_size, device, report=click.echo)
        self.objective = DistillObjective(self.loss_weights).to(device)
        if self.painting is not None:
            self.objective.set_painting(self.painting.to(device))

    def loss(self, net: nn.Module, batch: tuple[torch.Tensor, ...]) -> LossReport:
        photos, targets = batch
        return self.objective(net(photos), targets, photos)

    def previews(self, net: nn.Module) -> list[list[torch.Tensor]]:
        """The inputs, the teacher's outputs under them, the student's under those."""
        device = net_device(net)
        batch = torch.stack(self.preview_inputs).to(device)
        teacher = teacher_output(self.teacher_net.to(device), batch)
        student = run_net(net, batch)  # with the student's own padding, as it will run
        return [list(self.preview_inputs), list(teacher.cpu()), list(student.cpu())]

    def _teacher_id(self) -> dict[str, Any]:
        path = self.teacher.path
        return {"name": self.teacher.name, "file": str(path.resolve()) if path is not None else None}

    def signature(self) -> dict[str, Any]:
        painting = {"style_image": str(self.style_image.resolve()), "style_size": self.style_size} if self.style_image else {}
        return {
            "teacher": self._teacher_id(),
            "data": str(self.data.resolve()),
            "image_size": self.image_size,
            "crop_size": self.crop_size,
            "loss": self.loss_weights.to_dict(),
            **painting,  # only with a painting term, so that runs started without one still resume
        }

    def metadata(self) -> dict[str, Any]:
        meta = self.teacher_meta
        painting = {"style_image": self.style_image.name, "style_size": self.style_size} if self.style_image else {}
        return {
            "style": meta.get("style", self.teacher.name),
            "teacher": {**self._teacher_id(), "architecture": meta.get("architecture"), "config": meta.get("config")},
            "distillation": self.loss_weights.to_dict(),
            "loss_network": self.loss_weights.network if self.loss_weights.taps else None,
            "data": {"folder": str(self.data), "images": len(self.files), "image_size": self.image_size, "crop_size": self.crop_size},
            **painting,
        }

    def describe(self) -> str:
        return f"distill {self.teacher.name} -> {self.architecture} {self.config}, {len(self.files)} training images"


def parse_layers(value: str) -> tuple[str, ...]:
    """``"relu1_2, relu2_2"`` -> ``("relu1_2", "relu2_2")``."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


@click.command("distill")
@click.option("--teacher", required=True, metavar="NAME|PATH", help="The style to reproduce: a pretrained style, one you trained, or a style model file.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder of photos (searched recursively).")
@arch_options(DEFAULT_ARCH, "Student")
@click.option("--image-size", type=int, default=256, show_default=True, help="Photos are resized to this shorter side and stylized once by the teacher.")
@click.option("--crop-size", type=int, default=None, help="Side of the square training crops cut from them [default: --image-size]; smaller crops make loss-network terms cheaper.")
@click.option("--loss-network", default=DistillLoss.network, show_default=True, help="Loss network of the feature, style and content terms.")
@click.option("--pixel-weight", type=WEIGHT, default=DistillLoss.pixel, show_default=True, help="Per-pixel distance to the teacher's output.")
@click.option("--pixel-norm", type=click.Choice(PIXEL_NORMS), default=DistillLoss.pixel_norm, show_default=True)
@click.option("--feature-weight", type=WEIGHT, default=DistillLoss.feature, show_default=True, help="Feature distance to the teacher's output.")
@click.option("--feature-layers", default=",".join(DistillLoss.feature_layers), show_default=True, help="Comma-separated taps of the feature term.")
@click.option("--style-weight", type=WEIGHT, default=DistillLoss.style, show_default=True, help="Gram distance to the teacher's output.")
@click.option("--style-layers", default=",".join(DistillLoss.style_layers), show_default=True, help="Comma-separated taps of the style term.")
@click.option("--content-weight", type=WEIGHT, default=DistillLoss.content, show_default=True, help="Feature distance to the photo itself.")
@click.option("--content-layer", default=DistillLoss.content_layer, show_default=True, help="Tap of the content term.")
@click.option("--painting-weight", type=WEIGHT, default=DistillLoss.painting, show_default=True, help="Gram distance to --style-image (at --style-layers).")
@click.option("--style-image", type=click.Path(path_type=Path), default=None, help="The painting the painting term compares with (as `imgperc eval style --style-image`).")
@click.option("--style-size", type=click.IntRange(min=16), default=512, show_default=True, help="Longest side of --style-image, in pixels (as `imgperc eval style`).")
@common_options(iterations=20000, batch_size=4)
def distill_command(**values: Any) -> None:
    """Train a fast student net to reproduce a style model (knowledge distillation).

    The default student, `light`, costs a tenth of the pretrained styles' FLOPs. The result,
    RUN/model.safetensors, works with `imgperc stylize --model`; with --name, `imgperc stylize
    --style NAME` finds it. Runs resume from their folder; Ctrl-C saves a checkpoint and stops.
    Multi-process: torchrun --nproc-per-node N -m imgperc distill ...
    """
    teacher = resolve_model(values.pop("teacher"), TASK, label="style")
    settings, options = split_settings(values, f"distill-{values['name'] or teacher.name}")
    config = pop_config(options)
    loss = DistillLoss(
        network=options.pop("loss_network"),
        pixel=options.pop("pixel_weight"),
        pixel_norm=options.pop("pixel_norm"),
        feature=options.pop("feature_weight"),
        feature_layers=parse_layers(options.pop("feature_layers")),
        style=options.pop("style_weight"),
        style_layers=parse_layers(options.pop("style_layers")),
        content=options.pop("content_weight"),
        content_layer=options.pop("content_layer"),
        painting=options.pop("painting_weight"),
    )
    job = DistillJob(teacher, options.pop("data"), config=config, loss=loss, **options)
    train(job, settings)
