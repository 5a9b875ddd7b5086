"""`imgperc train sr`: a super-resolution net (``sr-johnson`` or ``sr-shuffle``) trained on
random high-resolution patches.

Each sample is a random ``--patch-size`` square of a training image (its shorter side first
enlarged to the patch size if smaller), optionally rescaled, flipped and rotated, and its
low-resolution version (:mod:`.degrade`). ``--loss`` picks a preset: the paper's feature
reconstruction at relu2_2 (``feat``), the perceptual recipe (``perceptual``), the paper's per-pixel
baseline (``pixel``) or L1 (``l1``); ``--preset`` picks any other recipe. The command and its
options: `.train_cmd`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from imgperc import plugins
from imgperc.errors import ConfigError, InputError
from imgperc.lazy import load
from imgperc.netconfig import full_config
from imgperc.io import read_image, resize
from imgperc.losses import LossRecipe, LossReport, PerceptualLoss, get_preset, resolve_recipe, with_available_network
from imgperc.train import TrainJob, list_images

from .choices import LOSSES
from .degrade import degrade
from .realworld import MILD_PROB, degrade_real, parameters as real_parameters
from .plugin import NETS

DEGRADATION_META = {
    "blur": {"blur_sigma": 1.0, "downsample": "bicubic"},
    "bicubic": {"blur_sigma": 0.0, "downsample": "bicubic (Pillow, antialiased)", "quantized": "8-bit"},
}

TASK = "sr"
PREVIEW_IMAGES = 2
ARCHITECTURES = {name: load(builder) for name, builder in NETS.items()}  # --arch -> builder
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

    def __init__(self, patch: int, scale: int, degradation: str = "blur", augment_data: bool = False,
                 mild_share: float = MILD_PROB) -> None:
        self.patch, self.scale, self.degradation, self.augment_data = patch, scale, degradation, augment_data
        self.mild_share = mild_share

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
        return self.low(hr, rng), hr

    def low(self, hr: torch.Tensor, rng: random.Random) -> torch.Tensor:
        """The low-resolution input of a [3,H,W] patch (the real-world chain draws from ``rng``)."""
        if self.degradation == "real":
            return degrade_real(hr, self.scale, rng, self.mild_share)
        return degrade(hr[None], self.scale, self.degradation)[0]


def default_preset(loss: str, network: str | None) -> str:
    """The preset ``--loss`` names; ``sr-feat-NET`` when another loss network has its own preset."""
    preset = LOSSES[loss]
    if loss == "feat" and network and f"{preset}-{network}" in plugins.registry("loss_recipes"):
        return f"{preset}-{network}"
    return preset


class SRJob(TrainJob):
    """A super-resolution net for one scale factor."""

    task = TASK
    option_names = {"name": "--loss/--preset"}

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
        mild_share: float | None = None,
    ) -> None:
        if patch_size % scale or patch_size < 8 * scale:
            raise InputError(f"--patch-size must be a multiple of the scale ({scale}) and at least {8 * scale}, got {patch_size}")
        if arch not in ARCHITECTURES:
            raise InputError(f"--arch must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")
        if arch != "sr-johnson" and skip != "bicubic":
            raise InputError(f"--skip {skip} applies to sr-johnson only ({arch} always adds to a bicubic enlargement)")
        if mild_share is not None and degradation != "real":
            raise InputError(f"--mild-share applies to --degradation real, not {degradation}")
        if mild_share is not None and not 0.0 <= mild_share <= 1.0:
            raise InputError(f"--mild-share is a share in [0, 1], got {mild_share:g}")
        if loss_network is not None and preset is None and get_preset(LOSSES[loss]).network is None:
            raise InputError(f"--loss {loss} uses no loss network; drop --loss-network or choose a --preset")
        self.data = Path(data)
        self.files = list_images(self.data)
        self.scale, self.patch_size, self.loss_kind = scale, patch_size, loss
        self.architecture, self.degradation, self.augment_data = arch, degradation, augment_data
        self.mild_share = MILD_PROB if mild_share is None else mild_share
        given = {"scale": scale, "channels": channels, "residual_blocks": residual_blocks,
                 "skip": skip if arch == "sr-johnson" else None}
        try:
            self.config: dict[str, Any] = full_config(ARCHITECTURES[arch], {k: v for k, v in given.items() if v is not None})
        except ConfigError as exc:
            raise InputError(f"--channels/--residual-blocks: {exc}") from None

        def recipe_on(network: str | None) -> LossRecipe:
            network = network or loss_network
            recipe = resolve_recipe(preset or default_preset(loss, network), network=network,
                                    content_weight=content_weight, tv_weight=tv_weight, pixel_weight=pixel_weight)
            if recipe.style_layers and recipe.style_weight:
                raise InputError(f"loss recipe '{recipe.name}' has a style term; super-resolution needs none")
            return recipe

        self.recipe = with_available_network(recipe_on, fallback=preset is None and loss_network is None)
        self.objective: PerceptualLoss | None = None

    def build_net(self) -> nn.Module:
        return ARCHITECTURES[self.architecture](**self.config)

    def sampler(self) -> PatchPair:
        return PatchPair(self.patch_size, self.scale, self.degradation, self.augment_data, self.mild_share)

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
            low = self.sampler().low(hr, random.Random(index))[None]
            output = run_net(net, low.to(net_device(net)), pad=8)[0].cpu()
            nearest = F.interpolate(low, scale_factor=self.scale, mode="nearest")[0]
            rows.append([nearest, output, hr])
        return rows

    def signature(self) -> dict[str, Any]:
        return {"data": str(self.data.resolve()), "patch_size": self.patch_size, "recipe": self.recipe.to_dict(),
                "degradation": self.degradation, "augment": self.augment_data,
                **({"mild_share": self.mild_share} if self.degradation == "real" else {})}

    def metadata(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.to_dict(),
            "loss_network": self.recipe.network,
            "loss": self.loss_kind,
            "scale": self.scale,
            "degradation": real_parameters(self.mild_share) if self.degradation == "real" else DEGRADATION_META[self.degradation],
            "data": {"folder": str(self.data), "images": len(self.files), "patch_size": self.patch_size,
                     "augmentation": "flips, 90-degree rotations, rescaling 0.5-1" if self.augment_data else "none"},
        }
