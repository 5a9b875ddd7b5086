"""`imgperc train style`: a transform net (``johnson`` by default, ``--arch``) trained with a
perceptual loss recipe.

Data: every image under ``--data`` (recursive), its shorter side resized to ``--image-size``
and a random square crop of that size taken. Loss: a recipe (``--preset``, by default the
paper's: VGG-16, content relu2_2, style relu1_2/2_2/3_3/4_3) against one style image. The
command and its options: `.train_cmd`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch
from torch import nn

from imgperc import plugins
from imgperc.errors import InputError
from imgperc.io.image import read_image
from imgperc.io import resize
from imgperc.losses import LossRecipe, LossReport, PerceptualLoss, load_loss_network, network_def, resolve_recipe, with_available_network
from imgperc.train import TrainJob, list_images

from .net_choice import checked_config

TASK = "style"
PREVIEW_IMAGES = 3


class ContentCrop:
    """A training sample: shorter side resized to ``size``, then a random ``size`` x ``size`` crop."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, pixels: torch.Tensor, rng: random.Random) -> tuple[torch.Tensor]:
        image = resize(pixels, shortest=self.size)
        h, w = image.shape[-2:]
        top, left = rng.randint(0, h - self.size), rng.randint(0, w - self.size)
        return (image[:, top : top + self.size, left : left + self.size].contiguous(),)


def center_crop(pixels: torch.Tensor, size: int) -> torch.Tensor:
    image = resize(pixels, shortest=size)
    h, w = image.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return image[:, top : top + size, left : left + size]


def preview_crops(files: list[Path], size: int, *, any_readable: bool = False) -> list[torch.Tensor]:
    """Centre crops of ``PREVIEW_IMAGES`` images spread over ``files`` (unreadable ones skipped;
    with ``any_readable``, other files stand in for them)."""
    count = len(files)
    picks = sorted({round(i * (count - 1) / max(PREVIEW_IMAGES - 1, 1)) for i in range(PREVIEW_IMAGES)})
    crops: list[torch.Tensor] = []
    for index in dict.fromkeys([*picks, *range(count)]) if any_readable else picks:
        if len(crops) == len(picks):
            break
        try:
            crops.append(center_crop(read_image(files[index]).pixels, size))
        except InputError:
            continue
    return crops


def parse_layers(value: str | None) -> list[str] | None:
    """``relu1_2,relu2_2`` -> names (None keeps the preset's)."""
    if value is None:
        return None
    layers = [v.strip() for v in value.split(",") if v.strip()]
    if not layers:
        raise InputError("--style-layers needs at least one layer name")
    return layers


class StyleJob(TrainJob):
    """A style transform net for one style image."""

    task = TASK

    def __init__(
        self,
        style_image: Path,
        data: Path,
        *,
        image_size: int = 256,
        style_size: int | None = None,
        preset: str | None = None,
        loss_network: str | None = None,
        content_weight: float | None = None,
        style_weight: float | None = None,
        tv_weight: float | None = None,
        style_layers: list[str] | None = None,
        arch: str = "johnson",
        config: dict[str, Any] | None = None,
    ) -> None:
        if image_size < 16 or image_size % 4:
            raise InputError(f"--image-size must be a multiple of 4 and at least 16, got {image_size}")
        if style_size is not None and style_size < 16:
            raise InputError(f"--style-size must be at least 16, got {style_size}")
        self.architecture = arch
        self.config = checked_config(arch, config or {}, "net")
        self.style_path = Path(style_image)
        self.style = read_image(self.style_path).pixels
        self.data = Path(data)
        self.files = list_images(self.data)
        self.image_size = image_size
        self.style_size = style_size or image_size

        def recipe_on(network: str | None) -> LossRecipe:
            recipe = resolve_recipe(preset, network=network or loss_network, content_weight=content_weight,
                                    style_weight=style_weight, tv_weight=tv_weight)
            if recipe.network is None or not recipe.style_layers or not recipe.style_weight:
                raise InputError(f"loss recipe '{recipe.name}' has no style term; choose a style preset")
            if style_layers is not None:
                network_def(recipe.network).order(style_layers)
            return recipe

        def needs(recipe: LossRecipe) -> tuple[str | None, tuple[str, ...]]:
            """The recipe's network and taps, with --style-layers in place of the preset's."""
            if style_layers is not None:
                recipe = recipe.replace(style_layers=dict.fromkeys(style_layers, 1.0))
            return recipe.network, recipe.layers

        recipe = with_available_network(recipe_on, fallback=preset is None and loss_network is None, needs=needs)
        if style_layers is not None:
            recipe = recipe.replace(style_layers=self._style_multipliers(recipe, style_layers)).validate()
        self.recipe = recipe
        self.objective: PerceptualLoss | None = None

    @staticmethod
    def _style_multipliers(recipe, layers: list[str]) -> dict[str, float]:
        """The preset's multiplier where it has one, else 1/C^2 (C: the layer's channels)."""
        network = load_loss_network(recipe.network, tuple(layers))
        with torch.no_grad():
            widths = {k: v.shape[1] for k, v in network(torch.zeros(1, 3, 32, 32)).items()}
        return {l: recipe.style_layers.get(l, 1.0 / widths[l] ** 2) for l in layers}

    def build_net(self) -> nn.Module:
        return plugins.registry("transform_nets").get(self.architecture)(**self.config)

    def sampler(self) -> ContentCrop:
        return ContentCrop(self.image_size)

    def setup(self, device: torch.device) -> None:
        self.objective = PerceptualLoss(self.recipe).to(device)
        self.objective.set_style(resize(self.style, longest=self.style_size)[None].to(device))

    def loss(self, net: nn.Module, batch: tuple[torch.Tensor, ...]) -> LossReport:
        (content,) = batch
        return self.objective(net(content), content=content)

    def previews(self, net: nn.Module) -> list[list[torch.Tensor]]:
        from imgperc.inference import net_device, run_net

        inputs = preview_crops(self.files, self.image_size)
        if not inputs:
            return [[resize(self.style, longest=self.image_size)]]
        batch = torch.stack(inputs).to(net_device(net))
        outputs = run_net(net, batch, pad=16)
        style = resize(self.style, longest=self.image_size)
        return [[style, *inputs], [torch.ones_like(style), *outputs.cpu()]]  # outputs under their inputs

    def signature(self) -> dict[str, Any]:
        return {
            "style_image": str(self.style_path.resolve()),
            "data": str(self.data.resolve()),
            "image_size": self.image_size,
            "style_size": self.style_size,
            "recipe": self.recipe.to_dict(),
        }

    def metadata(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.to_dict(),
            "loss_network": self.recipe.network,
            "style_image": self.style_path.name,
            "style_size": self.style_size,
            "data": {"folder": str(self.data), "images": len(self.files), "image_size": self.image_size},
        }
