"""`imgperc train sr`: an ``sr-johnson`` net trained on random high-resolution patches.

Each sample is a random ``--patch-size`` square of a training image (its shorter side first
enlarged to the patch size if smaller) and its low-resolution version (:mod:`.degrade`). The
loss is feature reconstruction at relu2_2 (``--loss feat``, preset ``sr-feat``) or the per-pixel
baseline (``--loss pixel``, preset ``sr-pixel``); ``--preset`` picks any other recipe.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import click
import torch
import torch.nn.functional as F
from torch import nn

from imgperc import plugins
from imgperc.errors import InputError
from imgperc.io.image import read_image
from imgperc.losses import LossReport, PerceptualLoss, resolve_recipe
from imgperc.train import TrainJob, common_options, list_images, split_settings, train

from .degrade import degrade
from .nets import SKIPS, sr_johnson

TASK = "sr"
LOSSES = {"feat": "sr-feat", "pixel": "sr-pixel"}
PREVIEW_IMAGES = 2


def fit_patch(pixels: torch.Tensor, patch: int) -> torch.Tensor:
    """Enlarge (bicubic) so that both sides are at least ``patch``; larger images are untouched."""
    h, w = pixels.shape[-2:]
    if min(h, w) >= patch:
        return pixels
    scale = patch / min(h, w)
    size = (max(patch, round(h * scale)), max(patch, round(w * scale)))
    return F.interpolate(pixels[None], size=size, mode="bicubic", align_corners=False)[0].clamp(0, 1)


class PatchPair:
    """A training sample: a random high-resolution patch and its degraded low-resolution input."""

    def __init__(self, patch: int, scale: int) -> None:
        self.patch, self.scale = patch, scale

    def __call__(self, pixels: torch.Tensor, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
        image = fit_patch(pixels, self.patch)
        h, w = image.shape[-2:]
        top, left = rng.randint(0, h - self.patch), rng.randint(0, w - self.patch)
        hr = image[:, top : top + self.patch, left : left + self.patch].contiguous()
        return degrade(hr[None], self.scale)[0], hr


def default_preset(loss: str, network: str | None) -> str:
    """``sr-feat`` / ``sr-pixel``; ``sr-feat-NET`` when another loss network has its own preset."""
    preset = LOSSES[loss]
    if loss == "feat" and network and f"{preset}-{network}" in plugins.registry("loss_recipes"):
        return f"{preset}-{network}"
    return preset


class SRJob(TrainJob):
    """A super-resolution net for one scale factor."""

    task = TASK
    architecture = "sr-johnson"

    def __init__(
        self,
        scale: int,
        data: Path,
        *,
        loss: str = "feat",
        patch_size: int = 288,
        preset: str | None = None,
        loss_network: str | None = None,
        content_weight: float | None = None,
        tv_weight: float | None = None,
        pixel_weight: float | None = None,
        channels: int = 64,
        residual_blocks: int = 4,
        skip: str = "bicubic",
    ) -> None:
        if patch_size % scale or patch_size < 8 * scale:
            raise InputError(f"--patch-size must be a multiple of the scale ({scale}) and at least {8 * scale}, got {patch_size}")
        if channels < 1 or residual_blocks < 0:
            raise InputError("--channels must be >= 1 and --residual-blocks >= 0")
        if loss == "pixel" and loss_network is not None and preset is None:
            raise InputError("--loss pixel uses no loss network; drop --loss-network or choose a --preset")
        self.data = Path(data)
        self.files = list_images(self.data)
        self.scale, self.patch_size, self.loss_kind = scale, patch_size, loss
        self.recipe = resolve_recipe(preset or default_preset(loss, loss_network), network=loss_network,
                                     content_weight=content_weight, tv_weight=tv_weight, pixel_weight=pixel_weight)
        if self.recipe.style_layers and self.recipe.style_weight:
            raise InputError(f"loss recipe '{self.recipe.name}' has a style term; super-resolution needs none")
        self.config = {"scale": scale, "channels": channels, "residual_blocks": residual_blocks, "skip": skip}
        self.objective: PerceptualLoss | None = None

    def build_net(self) -> nn.Module:
        return sr_johnson(**self.config)

    def sampler(self) -> PatchPair:
        return PatchPair(self.patch_size, self.scale)

    def setup(self, device: torch.device) -> None:
        self.objective = PerceptualLoss(self.recipe).to(device)

    def loss(self, net: nn.Module, batch: tuple[torch.Tensor, ...]) -> LossReport:
        low, high = batch
        return self.objective(net(low), content=high)

    def previews(self, net: nn.Module) -> list[list[torch.Tensor]]:
        from imgperc.inference import net_device, run_net

        rows = []
        for index in sorted({0, len(self.files) // 2})[:PREVIEW_IMAGES]:
            try:
                image = fit_patch(read_image(self.files[index]).pixels, self.patch_size)
            except InputError:
                continue
            h, w = image.shape[-2:]
            top, left = (h - self.patch_size) // 2, (w - self.patch_size) // 2
            hr = image[:, top : top + self.patch_size, left : left + self.patch_size]
            low = degrade(hr[None], self.scale)
            output = run_net(net, low.to(net_device(net)), pad=8)[0].cpu()
            nearest = F.interpolate(low, scale_factor=self.scale, mode="nearest")[0]
            rows.append([nearest, output, hr])
        return rows

    def signature(self) -> dict[str, Any]:
        return {"data": str(self.data.resolve()), "patch_size": self.patch_size, "recipe": self.recipe.to_dict()}

    def metadata(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.to_dict(),
            "loss_network": self.recipe.network,
            "loss": self.loss_kind,
            "scale": self.scale,
            "degradation": {"blur_sigma": 1.0, "downsample": "bicubic"},
            "data": {"folder": str(self.data), "images": len(self.files), "patch_size": self.patch_size},
        }


@click.command("sr")
@click.option("--scale", type=click.Choice(["4", "8"]), required=True, help="Upscaling factor.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder of high-resolution images (searched recursively).")
@click.option("--loss", type=click.Choice(sorted(LOSSES)), default="feat", show_default=True, help="feat: VGG relu2_2 feature loss; pixel: per-pixel baseline.")
@click.option("--patch-size", type=int, default=288, show_default=True, help="High-resolution training patches are this size squared.")
@click.option("--preset", default=None, help="Loss recipe preset replacing the one --loss picks.")
@click.option("--loss-network", default=None, help="Loss network for --loss feat (vgg16, vgg19, ...).")
@click.option("--content-weight", type=float, default=None, help="Override the feature-loss weight.")
@click.option("--tv-weight", type=float, default=None, help="Override the total-variation weight.")
@click.option("--pixel-weight", type=float, default=None, help="Override the per-pixel weight.")
@click.option("--channels", type=int, default=64, show_default=True, help="Filters per layer (the paper: 64).")
@click.option("--residual-blocks", type=int, default=4, show_default=True, help="Residual blocks (the paper: 4).")
@click.option("--skip", type=click.Choice(SKIPS), default="bicubic", show_default=True,
              help="bicubic: the net adds detail to a bicubic enlargement; none: the paper's tanh output.")
@common_options(iterations=200000, batch_size=4)
def train_sr_command(**values: Any) -> None:
    """Train a super-resolution net (Johnson et al., 2016) on a folder of images.

    Low-resolution inputs: Gaussian blur (sigma 1.0), then bicubic downsampling by --scale.
    The result, RUN/model.safetensors, is an imgperc model file of task 'sr'.
    """
    values["scale"] = int(values["scale"])
    default_out = f"sr-{values['name'] or 'x%d-%s' % (values['scale'], values['loss'])}"
    settings, options = split_settings(values, default_out)
    job = SRJob(options.pop("scale"), options.pop("data"), **options)
    train(job, settings)
