"""`imgperc train decoder`: a decoder that inverts VGG-19 at ``relu{level}_1`` (`.decoder`).

Data: natural photos only (every image under ``--data``). Each sample is a random square crop
of ``--image-size`` after the shorter side was resized to a random size between the crop and
twice the crop (at most the photo's own), flipped at random. Loss: the per-pixel L2 distance to
the photo plus the feature reconstruction at the decoder's own tap, with the shared loss
engine's network and terms (`imgperc.losses`), as in Li et al. (2017). The photo's features are
computed once per batch: they are both the decoder's input and the feature term's target. The result is an imgperc model file of task
``style-decoder``; `.anystyle` uses one per level.

With ``fit_photos`` N (by default at level 1 only), training ends with a closed-form step: the
decoder's last convolution is replaced by the least-squares fit of the photos' pixels on what
the layers before it make of their features (N photos drawn with a fixed seed, each cropped as in training). At level 1
that conv is the whole decoder, so the fit is the exact optimum of the pixel term, which
gradient descent approaches slowly (about 21 dB PSNR after 1,000 iterations, 40 dB with the
fit, on held-out photos). Deeper decoders gain less from it (+0.4 dB at relu2_1, +0.1 at relu3_1).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from imgperc.errors import InputError
from imgperc.io import read_image, resize
from imgperc.losses import LossRecipe, LossReport, feature_reconstruction_loss, load_loss_network, pixel_loss
from imgperc.train import TrainJob, list_images

from .anystyle_task import DECODER_TASK as TASK
from .decoder import ARCHITECTURE, TAPS, wct_decoder
from .train import preview_crops

LOSS_NETWORK = "vgg19"
# per level: makes the feature term about as large as the pixel term for a slightly blurred photo
FEATURE_WEIGHTS = {1: 1e-5, 2: 2.5e-7, 3: 1e-7}
# per level: about the features' root mean square (57, 211, 269 on photos), as a power of two
INPUT_DIVISORS = {1: 64, 2: 256, 3: 256}
FIT_PHOTOS = {1: 64, 2: 0, 3: 0}  # per level: photos of the last conv's least-squares fit (0: none)
FIT_SEED = 0  # of the fit's choice of photos and crops
FIT_RIDGE = 1e-6  # times the mean diagonal of the normal equations: keeps the solve well posed


class PhotoCrop:
    """A random crop of ``size`` at a random scale (shorter side ``size``..2x), flipped at random."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, pixels: torch.Tensor, rng: random.Random) -> tuple[torch.Tensor]:
        shortest = min(pixels.shape[-2:])
        target = rng.randint(self.size, max(self.size, min(shortest, 2 * self.size)))
        image = resize(pixels, shortest=target)
        h, w = image.shape[-2:]
        top, left = rng.randint(0, h - self.size), rng.randint(0, w - self.size)
        crop = image[:, top : top + self.size, left : left + self.size]
        if rng.random() < 0.5:
            crop = crop.flip(-1)
        return (crop.contiguous(),)


def decoder_recipe(level: int, feature_weight: float) -> LossRecipe:
    """Pixel L2 + feature reconstruction at ``relu{level}_1`` of VGG-19."""
    tap = TAPS[level]
    return LossRecipe(
        name=f"decoder-{tap}",
        description=f"invert VGG-19 at {tap}: per-pixel L2 + feature reconstruction at {tap}",
        network=LOSS_NETWORK,
        content_layers={tap: 1.0},
        content_weight=feature_weight,
        style_weight=0.0,
        pixel_weight=1.0,
    )


class DecoderJob(TrainJob):
    """A decoder for one VGG-19 level."""

    task = TASK
    architecture = ARCHITECTURE

    def __init__(self, level: int, data: Path, *, width: int = 64, image_size: int = 256, feature_weight: float | None = None,
                 input_divisor: int | None = None, fit_photos: int | None = None) -> None:
        self.level, self.width, self.image_size = level, width, image_size
        self.fit_photos = FIT_PHOTOS[level] if fit_photos is None else fit_photos
        self.data = Path(data)
        self.files = list_images(self.data)
        divisor = INPUT_DIVISORS[level] if input_divisor is None else input_divisor
        self.config: dict[str, Any] = {"level": level, "width": width, **({"input_divisor": divisor} if divisor != 1 else {})}
        wct_decoder(**self.config)  # checks the config before anything loads
        self.recipe = decoder_recipe(level, FEATURE_WEIGHTS[level] if feature_weight is None else feature_weight).validate()
        self.network: nn.Module | None = None

    def build_net(self) -> nn.Module:
        return wct_decoder(**self.config)

    def sampler(self) -> PhotoCrop:
        return PhotoCrop(self.image_size)

    def setup(self, device: torch.device) -> None:
        self.network = load_loss_network(LOSS_NETWORK, (TAPS[self.level],)).to(device)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The decoder's input: VGG-19 features of ``images`` at its tap."""
        with torch.no_grad():
            return self.network(images)[TAPS[self.level]]

    def loss(self, net: nn.Module, batch: tuple[torch.Tensor, ...]) -> LossReport:
        (photos,) = batch
        tap = TAPS[self.level]
        features = self.encode(photos)
        decoded = net(features)
        terms = {
            f"content:{tap}": self.recipe.content_weight * feature_reconstruction_loss(self.network(decoded)[tap], features),
            "pixel": self.recipe.pixel_weight * pixel_loss(decoded, photos),
        }
        return LossReport(torch.stack(list(terms.values())).sum(), terms)

    def finish(self, net: nn.Module) -> dict[str, Any]:
        """The last conv's least-squares fit (see the module docstring), with the pixel loss
        on the fit's crops before and after; nothing without ``fit_photos``."""
        if not self.fit_photos:
            return {}
        from imgperc.inference import net_device

        device = net_device(net)
        if self.network is None:
            self.setup(device)

        def pairs() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:  # streamed, twice: fit, then score
            return ((self.encode(crop), crop) for crop in self._fit_crops(device))

        before = fit_last_conv(net, pairs(), FIT_RIDGE)
        with torch.no_grad():
            losses = [float(pixel_loss(net(features), target)) for features, target in pairs()]
        return {"last_conv_fit": {"photos": len(losses), "image_size": self.image_size, "ridge": FIT_RIDGE,
                                  "pixel_loss_before": before, "pixel_loss_after": sum(losses) / len(losses)}}

    def _fit_crops(self, device: torch.device) -> Iterator[torch.Tensor]:
        """The fit's ``[1,3,S,S]`` crops: up to ``fit_photos`` readable photos in an order fixed
        by `FIT_SEED`, each cropped as in training (the same crops on every call)."""
        rng, crop, count = random.Random(FIT_SEED), PhotoCrop(self.image_size), 0
        for path in rng.sample(self.files, len(self.files)):
            if count == self.fit_photos:
                return
            try:
                pixels = read_image(path).pixels
            except InputError:  # unreadable: skipped, as training skips it
                continue
            count += 1
            yield crop(pixels, rng)[0][None].to(device)
        if not count:
            raise InputError(f"no readable photo in {self.data} for the last conv's fit")

    def previews(self, net: nn.Module) -> list[list[torch.Tensor]]:
        from imgperc.inference import net_device

        device = net_device(net)
        if self.network is None:  # a finished run asked only for its model: no training step ran
            self.setup(device)
        rows = []
        for crop in preview_crops(self.files, self.image_size):
            with torch.no_grad():
                decoded = net(self.encode(crop[None].to(device)))[0].clamp(0, 1).cpu()
            rows.append([crop, decoded])
        return rows

    def signature(self) -> dict[str, Any]:
        return {"data": str(self.data.resolve()), "image_size": self.image_size, "recipe": self.recipe.to_dict()}

    def metadata(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.to_dict(),
            "loss_network": LOSS_NETWORK,
            "level": self.level,
            "tap": TAPS[self.level],
            "data": {"folder": str(self.data), "images": len(self.files), "image_size": self.image_size,
                     "augmentation": "random scale (shorter side 1-2x the crop), random crop, horizontal flips"},
        }

    def describe(self) -> str:
        fit = f", its last conv fitted on {self.fit_photos} photos at the end" if self.fit_photos else ""
        return f"decoder of VGG-19 {TAPS[self.level]}: width {self.width}, {len(self.files)} training photos{fit}"


@torch.no_grad()
def fit_last_conv(decoder: nn.Module, pairs: Iterable[tuple[torch.Tensor, torch.Tensor]], ridge: float) -> float:
    """Set ``decoder``'s last conv (``body[-1]``) to the least-squares map from the layers
    before it to the target images of ``pairs`` (features, target; streamed); returns the mean
    pixel loss before. The normal equations are summed in float64 over every output pixel."""
    head, last = decoder.body[:-1], decoder.body[-1]
    size = last.in_channels * last.kernel_size[0] * last.kernel_size[1] + 1
    gram = torch.zeros(size, size, dtype=torch.float64)
    cross = torch.zeros(size, last.out_channels, dtype=torch.float64)
    before, count = 0.0, 0
    for features, target in pairs:
        before, count = before + float(pixel_loss(decoder(features), target)), count + 1
        patches = F.unfold(head(decoder.scaled(features)), last.kernel_size)[0].T.double().cpu()
        patches = torch.cat([patches, torch.ones(len(patches), 1, dtype=torch.float64)], 1)
        gram += patches.T @ patches
        cross += patches.T @ target[0].reshape(last.out_channels, -1).T.double().cpu()
    gram += ridge * gram.diagonal().mean() * torch.eye(size, dtype=torch.float64)
    solution = torch.linalg.solve(gram, cross)
    last.weight.copy_(solution[:-1].T.reshape(last.weight.shape).to(last.weight))
    last.bias.copy_(solution[-1].to(last.bias))
    return before / count
