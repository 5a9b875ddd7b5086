"""Any painting as a style, with no training: multi-level WCT (Li et al., NeurIPS 2017).

For each level, coarse to fine (``relu3_1``, ``relu2_1``, ``relu1_1`` of VGG-19), the current
image is encoded, its features are whitened and coloured with the painting's statistics at
that level (`.wct`), and the level's decoder (`.decoder`, trained on photos only) turns them
back into an image, the input of the next level. The deep level moves the large strokes and
colours, the shallow ones the fine texture.

Statistics are those of the whole image, also when a large image runs in tiles: each level
first sums the features over the tiles' cores (`Moments`), then transforms and decodes the
tiles with the whole image's map (`imgperc.inference.tiling.run_tiled` blends the seams).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from imgperc.inference.padding import reflect_pad
from imgperc.inference.tiling import run_tiled, tile_core, tiles

from .decoder import TAPS
from .wct import LevelTransform, Moments, StyleTarget

LEVELS = (3, 2, 1)  # coarse to fine
BORDER = 16  # reflection padding against the zero-padded convs' border artefacts
MARGIN = 64  # context around each tile: more than the encoder and decoder see


def level_strength(strength: float, levels: int) -> float:
    """The blend of each level that compounds to ``strength`` over ``levels`` levels: every level
    moves the image part of the way, so blending each by ``strength`` itself would stylize
    0.25 nearly as much as 1 (``1 - 0.75^3`` = 58% of the way after three levels)."""
    return 1.0 - (1.0 - strength) ** (1.0 / levels)


def _multiple(level: int) -> int:
    return 2 ** (level - 1)


class Level(nn.Module):
    """One level: the VGG-19 encoder cut at its tap, and its decoder."""

    def __init__(self, level: int, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.level, self.encoder, self.decoder = level, encoder, decoder

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image)[TAPS[self.level]]


class AnyStyle(nn.Module):
    """The encoders and decoders of the levels, run on ``[1,3,H,W]`` images in [0,1]."""

    def __init__(self, levels: Sequence[Level]) -> None:
        super().__init__()
        self.levels = nn.ModuleList(levels)

    @torch.no_grad()
    def style_moments(self, painting: torch.Tensor) -> dict[int, Moments]:
        """Each level's feature statistics of ``painting`` (``[1,3,H,W]``)."""
        return {lv.level: Moments.of(lv.encode(painting)[0]) for lv in self.levels}

    @torch.no_grad()
    def forward(self, image: torch.Tensor, targets: dict[int, StyleTarget], strength: float, tile: int | None = None) -> torch.Tensor:
        """``image`` (``[1,3,H,W]``) stylised towards ``targets`` (one per level)."""
        h, w = image.shape[-2:]
        multiple = max(_multiple(lv.level) for lv in self.levels)
        bottom, right = BORDER + (-(h + 2 * BORDER)) % multiple, BORDER + (-(w + 2 * BORDER)) % multiple
        x = reflect_pad(image, BORDER, bottom, BORDER, right)
        per_level = level_strength(strength, len(self.levels))
        for lv in self.levels:
            x = self._level(lv, x, targets[lv.level], per_level, tile)
        return x[..., BORDER : BORDER + h, BORDER : BORDER + w].clamp(0, 1)

    def _level(self, lv: Level, x: torch.Tensor, target: StyleTarget, strength: float, tile: int | None) -> torch.Tensor:
        multiple = _multiple(lv.level)
        h, w = x.shape[-2:]
        if tile is None or (h <= tile and w <= tile):
            features = lv.encode(x)
            transform = LevelTransform.between(Moments.of(features[0]), target, strength)
            return lv.decoder(transform(features))
        moments = None
        for rows, cols in tiles(h, w, tile, MARGIN, multiple):
            features = lv.encode(x[..., rows.start : rows.stop, cols.start : cols.stop])
            ys, xs = tile_core(rows, cols).scaled(*features.shape[-2:])
            part = Moments.of(features[0][:, ys, xs])
            moments = part if moments is None else moments + part
        transform = LevelTransform.between(moments, target, strength)
        return run_tiled(lambda t: lv.decoder(transform(lv.encode(t))), x, tile=tile, multiple=multiple, margin=MARGIN)
