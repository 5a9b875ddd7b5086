"""`imgperc distill`: train a small, fast style net to reproduce any style model (its teacher).

The teacher is a pretrained style (``muse``, ``wave``, ...), a user's trained style or a style
model file; the student is any registered transform net, by default ``light`` (a tenth of
ml5's FLOPs). The teacher stylizes each photo once (fp32, with the reflection padding `imgperc
stylize` uses; cached, see `teacher_pairs`), and each batch takes the same random crops of the
photos and of the teacher's outputs (at one or several sizes, mixed); the loss is the student's
distance to the teacher's output: per pixel (L1 by default) plus loss-network features (VGG-19
relu2_2 by default), optionally the likeness `imgperc eval style` reports (`.likeness`), Gram
matrices (style), the content of the photo itself and the Gram matrices of the painting (the style
image, as `imgperc eval style` scores). The core
trainer (`imgperc.train`) does the rest: checkpoints, resume, previews, log, loss curve,
torchrun. The result is a ``style`` model file for `imgperc stylize --model` (``--name``
installs it as a user style). The command and its options: `.distill_cmd`; the loss weights
they set: `.distill_loss`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import click
import torch
from torch import nn

from imgperc import plugins
from imgperc.api import resize_longest
from imgperc.errors import InputError
from imgperc.hub import ResolvedModel
from imgperc.inference import net_device, run_net
from imgperc.io import read_image
from imgperc.losses import LossReport, PerceptualLoss, with_available_network
from imgperc.train import TrainJob, list_images

from .distill_cmd import DEFAULT_ARCH, TASK
from .distill_loss import DistillLoss
from .net_choice import checked_config
from .stability import SMALLEST_CROP, shift_stability
from .teacher_pairs import PairCrop, cache_folder, make_pairs, teacher_output
from .train import preview_crops


class DistillObjective(PerceptualLoss):
    """`DistillLoss.recipe` as a module, called with the student's output, the teacher's and the photo."""

    def __init__(self, weights: DistillLoss) -> None:
        super().__init__(weights.recipe())

    def set_painting(self, painting: torch.Tensor) -> None:
        """Compute the painting term's Gram targets once (``[1,3,H,W]`` RGB in [0,1], on this module's device)."""
        self.set_target("painting", painting)

    def forward(self, output: torch.Tensor, teacher: torch.Tensor, photo: torch.Tensor) -> LossReport:  # type: ignore[override]
        return super().forward(output, teacher=teacher, photo=photo)


class DistillJob(TrainJob):
    """A student net trained to reproduce one teacher style model."""

    task = TASK
    option_names = {f: f"--{f}-weight" for f in ("pixel", "feature", "style", "content", "painting", "likeness", "stability")}

    def __init__(
        self,
        teacher: ResolvedModel,
        data: Path,
        *,
        arch: str = DEFAULT_ARCH,
        config: dict[str, Any] | None = None,
        image_size: int | Sequence[int] = 256,
        crop_size: int | None = None,
        loss: DistillLoss = DistillLoss(),
        style_image: Path | None = None,
        style_size: int = 512,
        network_fallback: bool = False,
    ) -> None:
        """``network_fallback``: another loss network may stand in for ``loss.network`` if that
        cannot be had (the user named none; see `imgperc.losses.with_available_network`).
        ``image_size``: one size or several (the photos at each, pairs of all sizes mixed)."""
        self.architecture = arch
        self.config = checked_config(arch, config or {}, "student")
        self.image_sizes = tuple(dict.fromkeys([image_size] if isinstance(image_size, int) else image_size))
        if not self.image_sizes:
            raise InputError("give at least one --image-size")
        for size in self.image_sizes:
            if size < 16 or size % 4:
                raise InputError(f"--image-size must be a multiple of 4 and at least 16, got {size}")
        smallest = min(self.image_sizes)
        self.crop_size = smallest if crop_size is None else crop_size
        if not 16 <= self.crop_size <= smallest or self.crop_size % 4:
            raise InputError(f"--crop-size must be a multiple of 4 from 16 to --image-size {smallest}, got {self.crop_size}")
        if loss.stability and self.crop_size <= SMALLEST_CROP:
            raise InputError(f"--stability-weight needs a --crop-size over {SMALLEST_CROP}, got {self.crop_size}")
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
        self.preview_inputs = preview_crops(self.files, smallest, any_readable=True)
        if not self.preview_inputs:
            raise InputError(f"--data {self.data}: none of its {len(self.files)} images could be read")
        self.loss_weights = with_available_network(
            lambda network: replace(loss, network=network).validate() if network else self.loss_weights,
            fallback=network_fallback, needs=lambda weights: (weights.network, weights.taps))
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
        """Stylize each photo with the teacher once at each size (cached pairs: see `teacher_pairs`)."""
        self.teacher_net.to(device)
        self.files = [pair for size in self.image_sizes for pair in make_pairs(
            self.teacher_net, self.photos, cache_folder(self.teacher.file(), size), size, device, report=click.echo)]
        self.objective = DistillObjective(self.loss_weights).to(device)
        if self.painting is not None:
            self.objective.set_painting(self.painting.to(device))

    def loss(self, net: nn.Module, batch: tuple[torch.Tensor, ...]) -> LossReport:
        photos, targets = batch
        output = net(photos)
        report = self.objective(output, targets, photos)
        weight = self.loss_weights.stability
        if not weight:
            return report
        term = weight * shift_stability(net, photos, output)
        return LossReport(report.total + term, {**report.terms, "stability": term})

    def previews(self, net: nn.Module) -> list[list[torch.Tensor]]:
        """The inputs, the teacher's outputs under them, the student's under those."""
        device = net_device(net)
        batch = torch.stack(self.preview_inputs).to(device)
        teacher = teacher_output(self.teacher_net.to(device), batch)
        student = run_net(net, batch)  # with the student's own padding, as it will run
        return [list(self.preview_inputs), list(teacher.cpu()), list(student.cpu())]

    @property
    def image_size(self) -> int | list[int]:
        """The training size as run.json and the metadata record it (a list only for several)."""
        return self.image_sizes[0] if len(self.image_sizes) == 1 else list(self.image_sizes)

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
            "loss_network": self.loss_weights.recipe().network,
            "data": {"folder": str(self.data), "images": len(self.files) // len(self.image_sizes), "image_size": self.image_size,
                     "crop_size": self.crop_size},
            **painting,
        }

    def describe(self) -> str:
        return f"distill {self.teacher.name} -> {self.architecture} {self.config}, {len(self.files)} training images"
