"""`imgperc train sr`: a super-resolution net (``sr-johnson`` or ``sr-shuffle``) trained on
random high-resolution patches.

Each sample is a random ``--patch-size`` square of a training image (its shorter side first
enlarged to the patch size if smaller), optionally rescaled, flipped and rotated, and its
low-resolution version (:mod:`.degrade`). ``--loss`` picks a preset: the paper's feature
reconstruction at relu2_2 (``feat``), the perceptual recipe (``perceptual``), the paper's per-pixel
baseline (``pixel``) or L1 (``l1``); ``--preset`` picks any other recipe.
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
from imgperc.errors import ConfigError, InputError
from imgperc.netconfig import full_config
from imgperc.io import read_image, resize
from imgperc.limits import FINITE_FLOAT
from imgperc.losses import LossReport, PerceptualLoss, get_preset, resolve_recipe
from imgperc.train import TrainJob, common_options, list_images, split_settings, train

from .degrade import DEGRADATIONS, degrade
from .fastnet import sr_shuffle
from .nets import SKIPS, sr_johnson

DEGRADATION_META = {
    "blur": {"blur_sigma": 1.0, "downsample": "bicubic"},
    "bicubic": {"blur_sigma": 0.0, "downsample": "bicubic (Pillow, antialiased)", "quantized": "8-bit"},
}

TASK = "sr"
LOSSES = {"feat": "sr-feat", "perceptual": "sr-perceptual", "pixel": "sr-pixel", "l1": "sr-l1"}
PREVIEW_IMAGES = 2
ARCHITECTURES = {"sr-johnson": sr_johnson, "sr-shuffle": sr_shuffle}  # --arch -> builder
MIN_RESCALE = 0.5


def fit_patch(pixels: torch.Tensor, patch: int) -> torch.Tensor:
    """Enlarge (bicubic) so that both sides are at least ``patch``; larger images are untouched."""
    if min(pixels.shape[-2:]) >= patch:
        return pixels
    return resize(pixels, shortest=patch)


def augment(patch: torch.Tensor, rng: random.Random) -> torch.Tensor:
    """One of the eight flips and 90-degree rotations of a square patch, drawn from ``rng``."""
    if rng.random() < 0.5:
        patch = patch.flip(-1)
    if rng.random() < 0.5:
        patch = patch.flip(-2)
    if rng.random() < 0.5:
        patch = patch.transpose(-1, -2)
    return patch.contiguous()


class PatchPair:
    """A training sample: a random high-resolution patch and its degraded low-resolution input.

    With ``augment_data``, half of the patches are cut from a larger square (up to 1/``MIN_RESCALE``
    times the patch) shrunk to the patch size, and every patch is flipped or rotated at random.
    """

    def __init__(self, patch: int, scale: int, degradation: str = "blur", augment_data: bool = False) -> None:
        self.patch, self.scale, self.degradation, self.augment_data = patch, scale, degradation, augment_data

    def _crop(self, image: torch.Tensor, rng: random.Random) -> torch.Tensor:
        h, w = image.shape[-2:]
        side = self.patch
        if self.augment_data and rng.random() < 0.5:
            side = min(h, w, round(self.patch / rng.uniform(MIN_RESCALE, 1.0)))
        top, left = rng.randint(0, h - side), rng.randint(0, w - side)
        crop = image[:, top : top + side, left : left + side]
        if side != self.patch:
            crop = resize(crop, size=(self.patch, self.patch))
        return augment(crop, rng) if self.augment_data else crop.contiguous()

    def __call__(self, pixels: torch.Tensor, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
        hr = self._crop(fit_patch(pixels, self.patch), rng)
        return degrade(hr[None], self.scale, self.degradation)[0], hr


def default_preset(loss: str, network: str | None) -> str:
    """The preset ``--loss`` names; ``sr-feat-NET`` when another loss network has its own preset."""
    preset = LOSSES[loss]
    if loss == "feat" and network and f"{preset}-{network}" in plugins.registry("loss_recipes"):
        return f"{preset}-{network}"
    return preset


class SRJob(TrainJob):
    """A super-resolution net for one scale factor."""

    task = TASK

    def __init__(
        self,
        scale: int,
        data: Path,
        *,
        loss: str = "feat",
        arch: str = "sr-johnson",
        degradation: str = "blur",
        augment_data: bool = False,
        patch_size: int = 288,
        preset: str | None = None,
        loss_network: str | None = None,
        content_weight: float | None = None,
        tv_weight: float | None = None,
        pixel_weight: float | None = None,
        channels: int | None = None,
        residual_blocks: int | None = None,
        skip: str = "bicubic",
    ) -> None:
        if patch_size % scale or patch_size < 8 * scale:
            raise InputError(f"--patch-size must be a multiple of the scale ({scale}) and at least {8 * scale}, got {patch_size}")
        if arch not in ARCHITECTURES:
            raise InputError(f"--arch must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")
        if arch != "sr-johnson" and skip != "bicubic":
            raise InputError(f"--skip {skip} applies to sr-johnson only ({arch} always adds to a bicubic enlargement)")
        if loss_network is not None and preset is None and get_preset(LOSSES[loss]).network is None:
            raise InputError(f"--loss {loss} uses no loss network; drop --loss-network or choose a --preset")
        self.data = Path(data)
        self.files = list_images(self.data)
        self.scale, self.patch_size, self.loss_kind = scale, patch_size, loss
        self.architecture, self.degradation, self.augment_data = arch, degradation, augment_data
        self.recipe = resolve_recipe(preset or default_preset(loss, loss_network), network=loss_network,
                                     content_weight=content_weight, tv_weight=tv_weight, pixel_weight=pixel_weight)
        if self.recipe.style_layers and self.recipe.style_weight:
            raise InputError(f"loss recipe '{self.recipe.name}' has a style term; super-resolution needs none")
        given = {"scale": scale, "channels": channels, "residual_blocks": residual_blocks,
                 "skip": skip if arch == "sr-johnson" else None}
        try:
            self.config: dict[str, Any] = full_config(ARCHITECTURES[arch], {k: v for k, v in given.items() if v is not None})
        except ConfigError as exc:
            raise InputError(f"--channels/--residual-blocks: {exc}") from None
        self.objective: PerceptualLoss | None = None

    def build_net(self) -> nn.Module:
        return ARCHITECTURES[self.architecture](**self.config)

    def sampler(self) -> PatchPair:
        return PatchPair(self.patch_size, self.scale, self.degradation, self.augment_data)

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
            low = degrade(hr[None], self.scale, self.degradation)
            output = run_net(net, low.to(net_device(net)), pad=8)[0].cpu()
            nearest = F.interpolate(low, scale_factor=self.scale, mode="nearest")[0]
            rows.append([nearest, output, hr])
        return rows

    def signature(self) -> dict[str, Any]:
        return {"data": str(self.data.resolve()), "patch_size": self.patch_size, "recipe": self.recipe.to_dict(),
                "degradation": self.degradation, "augment": self.augment_data}

    def metadata(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.to_dict(),
            "loss_network": self.recipe.network,
            "loss": self.loss_kind,
            "scale": self.scale,
            "degradation": DEGRADATION_META[self.degradation],
            "data": {"folder": str(self.data), "images": len(self.files), "patch_size": self.patch_size,
                     "augmentation": "flips, 90-degree rotations, rescaling 0.5-1" if self.augment_data else "none"},
        }


@click.command("sr")
@click.option("--scale", type=click.Choice(["4", "8"]), required=True, help="Upscaling factor.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder of high-resolution images (searched recursively).")
@click.option("--loss", type=click.Choice(list(LOSSES)), default="feat", show_default=True,
              help="feat: the paper's VGG relu2_2 feature loss; perceptual: feature loss + L1 pixel term + TV "
                   "(clean, sharp); pixel: the paper's per-pixel (L2) baseline; l1: mean absolute error (best PSNR).")
@click.option("--arch", type=click.Choice(list(ARCHITECTURES)), default="sr-johnson", show_default=True,
              help="sr-johnson: the paper's net (most work after upsampling); sr-shuffle: all convs at the input "
                   "resolution, pixel-shuffle upsampling (about 12x cheaper).")
@click.option("--degradation", type=click.Choice(DEGRADATIONS), default="blur", show_default=True,
              help="How low-resolution inputs are made: blur (the paper: Gaussian sigma 1, then bicubic) or bicubic "
                   "(the benchmark protocol of imgperc eval sr: Pillow bicubic, 8-bit).")
@click.option("--augment/--no-augment", "augment_data", default=False, show_default=True,
              help="Random flips, 90-degree rotations and rescaling of the training patches.")
@click.option("--patch-size", type=int, default=288, show_default=True, help="High-resolution training patches are this size squared.")
@click.option("--preset", default=None, help="Loss recipe preset replacing the one --loss picks.")
@click.option("--loss-network", default=None, help="Loss network for --loss feat (vgg16, vgg19, ...).")
@click.option("--content-weight", type=FINITE_FLOAT, default=None, help="Override the feature-loss weight.")
@click.option("--tv-weight", type=FINITE_FLOAT, default=None, help="Override the total-variation weight.")
@click.option("--pixel-weight", type=FINITE_FLOAT, default=None, help="Override the per-pixel weight.")
@click.option("--channels", type=int, default=None, help="Filters per layer (default: sr-johnson 64, as the paper; sr-shuffle 32).")
@click.option("--residual-blocks", type=int, default=None, help="Residual blocks (default: sr-johnson 4, as the paper; sr-shuffle 6).")
@click.option("--skip", type=click.Choice(SKIPS), default="bicubic", show_default=True,
              help="bicubic: the net adds detail to a bicubic enlargement; none: the paper's tanh output.")
@common_options(iterations=200000, batch_size=4)
def train_sr_command(**values: Any) -> None:
    """Train a super-resolution net (Johnson et al., 2016) on a folder of images.

    Low-resolution inputs: see --degradation. The result, RUN/model.safetensors, is an imgperc model file of task 'sr'.
    """
    values["scale"] = int(values["scale"])
    default_out = f"sr-{values['name'] or 'x%d-%s' % (values['scale'], values['loss'])}"
    settings, options = split_settings(values, default_out)
    job = SRJob(options.pop("scale"), options.pop("data"), **options)
    train(job, settings)
