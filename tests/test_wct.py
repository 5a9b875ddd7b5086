"""The whitening-colouring transform and the multi-level any-style pipeline (with untrained
decoders: these tests check the arithmetic, not the look)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from imgperc_style.anystyle import AnyStyle, Level, level_strength
from imgperc_style.decoder import FEATURE_CHANNELS, TAPS, wct_decoder
from imgperc_style.wct import LevelTransform, Moments, StyleTarget


def _features(seed: int, c: int = 16, h: int = 12, w: int = 10) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(c, c, generator=g)
    return (mix @ torch.randn(c, h * w, generator=g)).reshape(1, c, h, w) + torch.randn(c, 1, 1, generator=g)


def test_moments_of_parts_add_up_to_the_whole():
    f = _features(0)[0]
    whole = Moments.of(f)
    parts = Moments.of(f[:, :5]) + Moments.of(f[:, 5:])
    for a, b in zip(whole.mean_cov(), parts.mean_cov()):  # float32 sums: agree to float32 precision
        assert (a - b).norm() / a.norm() < 1e-5


def test_full_strength_gives_the_style_mean_and_covariance():
    content, style = _features(1), _features(2, h=20, w=20)
    target = StyleTarget.mix([Moments.of(style[0])], [1.0])
    out = LevelTransform.between(Moments.of(content[0]), target, 1.0)(content)
    got, want = Moments.of(out[0]).mean_cov(), Moments.of(style[0]).mean_cov()
    assert (got[0] - want[0]).norm() / want[0].norm() < 1e-4
    assert (got[1] - want[1]).norm() / want[1].norm() < 1e-2  # EPS regularises the whitening


def test_zero_strength_is_the_identity_and_one_painting_mixes_to_itself():
    content, style, other = _features(3), _features(4), _features(5)
    moments = Moments.of(content[0])
    target = StyleTarget.mix([Moments.of(style[0])], [1.0])
    torch.testing.assert_close(LevelTransform.between(moments, target, 0.0)(content), content, rtol=1e-4, atol=1e-4)
    mixed = StyleTarget.mix([Moments.of(style[0]), Moments.of(other[0])], [1.0, 0.0])
    torch.testing.assert_close(mixed.colour, target.colour)
    torch.testing.assert_close(mixed.mean, target.mean)


class _Encoder(nn.Module):
    """A stand-in for VGG-19 cut at a tap: same channels and resolution, random convs."""

    def __init__(self, level: int) -> None:
        super().__init__()
        pools: list[nn.Module] = [nn.MaxPool2d(2)] * (level - 1)
        self.body = nn.Sequential(*pools, nn.Conv2d(3, FEATURE_CHANNELS[level], 3, padding=1), nn.ReLU())
        self.tap = TAPS[level]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {self.tap: self.body(x)}


@pytest.fixture(scope="module")
def anystyle() -> AnyStyle:
    torch.manual_seed(0)
    return AnyStyle([Level(k, _Encoder(k).eval(), wct_decoder(k, 8).eval()) for k in (3, 2, 1)])


def test_tiled_equals_untiled_with_whole_image_statistics(anystyle):
    painting, image = torch.rand(1, 3, 48, 64), torch.rand(1, 3, 100, 139)
    moments = anystyle.style_moments(painting)
    targets = {k: StyleTarget.mix([m], [1.0]) for k, m in moments.items()}
    whole = anystyle(image, targets, 0.8)
    tiled = anystyle(image, targets, 0.8, tile=72)
    assert whole.shape == image.shape
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-3)


def test_the_levels_strengths_compound_to_the_strength_asked_for():
    for strength in (0.0, 0.25, 0.7, 1.0):
        per_level = level_strength(strength, 3)
        assert 1 - (1 - per_level) ** 3 == pytest.approx(strength)
    assert level_strength(0.25, 3) < 0.1
