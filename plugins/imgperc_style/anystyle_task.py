"""`--style-image`: any painting as a style (`.anystyle`), for `imgperc stylize`, `imgperc
video` and `imgperc.stylize`.

The decoders ship in the package (``decoders/``, task ``style-decoder``, registered by
`.plugin`); the encoder is VGG-19 up to ``relu3_1`` from the hub (a 2 MB download, once). The
nets are loaded once per device and the paintings' statistics once per painting and size.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from imgperc.cli.options import SIZE_MIN
from imgperc.errors import InputError

if TYPE_CHECKING:
    import torch

    from imgperc.hub import ModelSpec

    from .anystyle import AnyStyle
    from .wct import Moments, StyleTarget

DECODER_TASK = "style-decoder"
DECODERS = {3: "decoder-relu3_1", 2: "decoder-relu2_1", 1: "decoder-relu1_1"}  # shipped model ids
STYLE_SIZE = 512  # the painting's longest side by default
PAINTING_MIN = SIZE_MIN  # pixels, the shortest side a painting may have
PEAK_BYTES_PER_PIXEL = 64 * 4 * 4  # relu1_1 (64 channels, fp32) about 4 times over at the peak


def parse_mix(text: str | None, count: int) -> list[float]:
    """``--style-mix 0.7,0.3`` -> weights summing to 1, one per painting (None: equal)."""
    if text is None:
        return [1.0 / count] * count
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"--style-mix must be numbers separated by commas, got {text!r}") from None
    if len(weights) != count:
        raise InputError(f"--style-mix has {len(weights)} weights for {count} --style-image paintings")
    if not all(math.isfinite(w) and w >= 0 for w in weights):
        raise InputError(f"--style-mix weights must be finite and 0 or more, got {text!r}")
    total = sum(weights)
    if total <= 0:
        raise InputError("--style-mix weights sum to 0")
    return [w / total for w in weights]


def check_choice(style_images: Sequence[Path], style: str | None, model: str | Path | None, style_mix: str | None) -> None:
    """Refuse ``--style-image`` beside ``--style``/``--model``, and ``--style-mix`` without it."""
    if style_images and (style or model):
        raise InputError("give --style-image, or --style/--model, not both")
    if style_mix is not None and not style_images:
        raise InputError("--style-mix needs --style-image paintings to mix")


def painting_tag(style_images: Sequence[Path]) -> str:
    """Outputs are tagged with the paintings' stems: ``photo.starry.jpg``, ``photo.a+b.jpg``."""
    return "+".join(Path(p).stem for p in style_images)


def decoder_spec(path: Path, meta: dict) -> "ModelSpec":
    """The hub entry of a shipped decoder file."""
    from imgperc import hub

    tap = meta.get("tap", "?")
    return hub.builtin_model(path, meta, description=f"--style-image decoder of VGG-19 {tap} (trained on photos only)",
                             source="trained by imgperc (`imgperc train decoder`)")


def load_painting(path: Path, style_size: int) -> "torch.Tensor":
    """``[1,3,H,W]`` RGB of a painting, its longest side ``style_size`` (gray and alpha work:
    gray is read as RGB, alpha is ignored)."""
    from imgperc.io import read_image, resize, scaled_size

    image = read_image(Path(path))
    w, h = image.size
    if min(w, h) < PAINTING_MIN:
        raise InputError(f"--style-image {path}: {w}x{h} is too small for a style (at least {PAINTING_MIN} pixels a side)")
    new_h, new_w = scaled_size(h, w, longest=style_size)
    if min(new_h, new_w) < PAINTING_MIN:
        raise InputError(f"--style-image {path}: at --style-size {style_size} its shorter side would be under {PAINTING_MIN} pixels")
    return resize(image.pixels, (new_h, new_w))[None]


@functools.lru_cache(maxsize=2)
def load_anystyle(device: str) -> "AnyStyle":
    """The VGG-19 encoders and the shipped decoders on ``device``, loaded once."""
    from imgperc.hub import resolve_model
    from imgperc.losses import load_loss_network

    from .anystyle import LEVELS, AnyStyle, Level
    from .decoder import TAPS

    levels = []
    for level in LEVELS:
        decoder = resolve_model(DECODERS[level], DECODER_TASK, label="any-style decoder").load().net
        encoder = load_loss_network("vgg19", (TAPS[level],))
        levels.append(Level(level, encoder.to(device), decoder.float().eval().to(device)))
    return AnyStyle(levels)


@functools.lru_cache(maxsize=16)
def painting_moments(path: str, stamp: int, style_size: int, device: str) -> "dict[int, Moments]":
    """Each level's statistics of one painting (cached per file version and size)."""
    import torch

    painting = load_painting(Path(path), style_size).to(device)
    with torch.inference_mode():
        return load_anystyle(device).style_moments(painting)


def style_targets(style_images: Sequence[Path], weights: Sequence[float], style_size: int, device: str) -> "dict[int, StyleTarget]":
    """The mixed colouring targets of the paintings, per level."""
    from .wct import StyleTarget

    moments = []
    for path in style_images:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"--style-image {path}: no such file")
        moments.append(painting_moments(str(path.resolve()), path.stat().st_mtime_ns, style_size, device))
    return {level: StyleTarget.mix([m[level] for m in moments], weights) for level in moments[0]}


def auto_tile(height: int, width: int, device: "torch.device") -> int | None:
    """A tile side when the image would not fit in the memory budget, else None."""
    from imgperc.inference.tiling import memory_budget

    from .anystyle import MARGIN

    budget = memory_budget(device)
    if height * width * PEAK_BYTES_PER_PIXEL <= budget:
        return None
    side = int(math.sqrt(budget / PEAK_BYTES_PER_PIXEL)) - 2 * MARGIN
    return max(128, side // 4 * 4)


@dataclass
class AnyStyleTransform:
    """The `imgperc.tasks.Transform` of ``--style-image`` (scale 1)."""

    anystyle: "AnyStyle"
    targets: "dict[int, StyleTarget]"
    tag: str
    strength: float = 1.0
    preserve_color: bool = False
    tile: int | str | None = "auto"
    precision: str = "fp32"
    scale: int = 1

    def __call__(self, batch: "torch.Tensor") -> "torch.Tensor":
        import torch

        from imgperc.precision import DTYPES

        from . import color

        if self.strength <= 0.0:
            return batch.clone()
        device = next(self.anystyle.parameters()).device
        outputs = []
        autocast = torch.autocast(device.type, dtype=DTYPES[self.precision], enabled=self.precision != "fp32")
        with torch.inference_mode(), autocast:
            for image in batch:
                x = image[None].to(device)
                h, w = x.shape[-2:]
                tile = auto_tile(h, w, device) if self.tile == "auto" else self.tile
                styled = self.anystyle(x, self.targets, self.strength, tile=tile)
                if self.preserve_color:
                    styled = color.preserve_color(styled, x)
                outputs.append(styled.float().to(batch.device, batch.dtype))
        return torch.cat(outputs)


def prepare_anystyle(
    style_images: Sequence[Path],
    *,
    style_mix: str | None = None,
    style_size: int | None = None,
    strength: float = 1.0,
    preserve_color: bool = False,
    device: str = "auto",
    precision: str = "auto",
    tile: int | str | None = "auto",
) -> AnyStyleTransform:
    """Load (once) and configure ``--style-image`` for these paintings (the nets run in
    ``precision``, ``auto`` meaning fp32; the statistics and transforms always in float64/float32)."""
    from imgperc.inference import select_device
    from imgperc.precision import resolve

    weights = parse_mix(style_mix, len(style_images))
    where = select_device(device)
    anystyle = load_anystyle(str(where))
    targets = style_targets(style_images, weights, style_size or STYLE_SIZE, str(where))
    # auto is fp32 here: whitening amplifies bf16's rounding (up to 44 levels off fp32 in 8 bits)
    chosen = "fp32" if precision == "auto" else resolve(precision, where, "inference")
    return AnyStyleTransform(anystyle, targets, painting_tag(style_images), strength, preserve_color, tile, chosen)
