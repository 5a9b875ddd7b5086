"""Distillation data: each photo beside its teacher's stylization, computed once and cached.

The teacher (an ml5 net: 93 GFLOP per padded 512 image) costs ten times the student, so running
it on every batch made it most of a CPU distillation's time. Instead each photo is resized to
``size`` on its shorter side and stylized once, as `imgperc stylize` does (fp32, reflection
padding), and the pair is stored as one 8-bit PNG, photo on the left, teacher on the right, under
``home()/cache/distill/<teacher and size key>/``. Training reads those pairs like any image
folder (decoded once into memory) and `PairCrop` cuts the same random square from both halves.
Runs that share a teacher and a size share the cache (resumes, sweeps of the student's config).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import torch
from torch import nn

from imgperc import settings
from imgperc.errors import InputError
from imgperc.inference import DEFAULT_PAD, run_net
from imgperc.integrity import sha256_file
from imgperc.io import resize
from imgperc.io.image import Image, read_image, write_image

CACHE_VERSION = 1


def cache_folder(teacher_file: Path, size: int) -> Path:
    """The pair folder of one teacher file (by content) at one training size."""
    key = json.dumps({"teacher": sha256_file(teacher_file), "size": size, "pad": DEFAULT_PAD, "v": CACHE_VERSION})
    return settings.home_dir("cache", "distill", hashlib.sha256(key.encode()).hexdigest()[:16])


def _pair_name(photo: Path) -> str:
    """Named by the photo's content: a copied, moved or re-provisioned data folder keeps its cache."""
    return sha256_file(photo)[:20] + ".png"


def teacher_output(teacher: nn.Module, photos: torch.Tensor) -> torch.Tensor:
    """The teacher's stylization of ``photos`` as `imgperc stylize` makes it (fp32, reflection pad)."""
    with torch.autocast(photos.device.type, enabled=False):
        return run_net(teacher, photos.float(), pad=DEFAULT_PAD).clone()  # a normal tensor, not an inference one


def make_pairs(teacher: nn.Module, photos: list[Path], folder: Path, size: int, device: torch.device, *, report=print) -> list[Path]:
    """The pair file of each readable photo, computed where missing.

    An unreadable photo is skipped and remembered (an empty ``.unreadable`` file under the same
    key, which changes when the file does), so later runs neither retry nor count it. Raises a
    one-line error when not one photo could be read."""
    names = {photo: _pair_name(photo) for photo in photos}
    todo = [p for p, name in names.items() if not (folder / name).is_file() and not (folder / name).with_suffix(".unreadable").exists()]
    if todo:
        report(f"teacher outputs: stylizing {len(todo)} of {len(photos)} photos once (cached in {folder})")
    for photo in todo:
        target = folder / names[photo]
        try:
            pixels = resize(read_image(photo).pixels, shortest=size)
        except InputError:
            target.with_suffix(".unreadable").touch()
            continue
        styled = teacher_output(teacher, pixels[None].to(device))[0].cpu()
        write_image(target, Image(torch.cat([pixels, styled], dim=-1).clamp(0, 1), None), overwrite=True)
    pairs = [folder / name for name in names.values() if (folder / name).is_file()]
    if not pairs:
        raise InputError(f"none of the {len(photos)} training images could be read")
    return pairs


class PairCrop:
    """A training sample from one pair image: the same random ``size`` square of the photo and of
    the teacher's output, both flipped left-right half the time."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, pixels: torch.Tensor, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = pixels.shape[-2], pixels.shape[-1] // 2
        top, left = rng.randint(0, h - self.size), rng.randint(0, w - self.size)
        photo = pixels[:, top : top + self.size, left : left + self.size]
        styled = pixels[:, top : top + self.size, w + left : w + left + self.size]
        if rng.random() < 0.5:
            photo, styled = photo.flip(-1), styled.flip(-1)
        return photo.contiguous(), styled.contiguous()
