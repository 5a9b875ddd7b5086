"""The real-world degradation chain of `imgperc train sr --degradation real` (`imgperc_sr.realworld`)."""

from __future__ import annotations

import math
import random

import pytest
import torch
from imgperc_sr import realworld
from imgperc_sr.eval_degradations import jpeg
from imgperc_sr.realworld import Pass, degrade_pass, degrade_real, filter2d, gaussian_kernel, sinc_kernel


def photo_like(size: int = 96, seed: int = 0) -> torch.Tensor:
    """Smooth shapes plus fine texture: something with both low and high frequencies."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    base = torch.stack([0.5 + 0.3 * torch.sin(6 * x + c) * torch.cos(4 * y) for c in range(3)])
    return (base + 0.08 * torch.rand(3, size, size, generator=g)).clamp(0, 1)


def high_frequency_energy(image: torch.Tensor) -> float:
    return float((image[:, :, 1:] - image[:, :, :-1]).pow(2).mean() + (image[:, 1:] - image[:, :-1]).pow(2).mean())


def block_edge_ratio(image: torch.Tensor) -> float:
    """Mean squared step across 8-pixel block borders over the mean step elsewhere (columns)."""
    steps = (image[:, :, 1:] - image[:, :, :-1]).pow(2).mean(dim=(0, 1))
    border = steps[7::8].mean()
    inside = torch.cat([steps[i::8] for i in range(7)]).mean()
    return float(border / inside)


def test_the_chain_is_deterministic_under_a_seed_and_varies_between_seeds():
    hr = photo_like(96)
    a, b = degrade_real(hr, 4, random.Random(7)), degrade_real(hr, 4, random.Random(7))
    assert torch.equal(a, b)
    assert a.shape == (3, 24, 24)
    assert a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, (a * 255).round() / 255)  # 8-bit, as a file holds
    others = [degrade_real(hr, 4, random.Random(seed)) for seed in range(1, 6)]
    assert all(not torch.equal(a, o) for o in others)


def test_kernels_are_normalised_and_blur_lowers_high_frequency_energy():
    image = photo_like(64)
    for kernel in (gaussian_kernel(21, 2.0, 2.0, 0.0), gaussian_kernel(15, 3.0, 0.5, 1.0),
                   gaussian_kernel(13, 1.5, 1.0, 0.2, "generalized", 3.0), gaussian_kernel(9, 1.0, 1.0, 0.0, "plateau", 1.5),
                   sinc_kernel(21, math.pi / 4)):
        assert math.isclose(float(kernel.sum()), 1.0, abs_tol=1e-5)
        assert high_frequency_energy(filter2d(image, kernel)) < 0.5 * high_frequency_energy(image)
    aniso = gaussian_kernel(21, 3.0, 0.5, 0.0)
    assert aniso[10, :].sum() > 2 * aniso[:, 10].sum()  # elongated along x when not rotated


def test_jpeg_gives_8x8_block_energy():
    image = photo_like(128)
    assert block_edge_ratio(image) < 1.1
    assert block_edge_ratio(jpeg(image, 30)) > 1.3


def test_noise_is_added_in_the_drawn_amount():
    flat = torch.full((3, 64, 64), 0.5)
    noisy_only = Pass(0.0, realworld.KERNELS, 0.0, (1, 1), (1, 1), (1, 1), (0.0, 0.0, 1.0), (1, 1),
                      1.0, (20.0, 20.0), (1, 1), 0.0, (95, 95))
    out = degrade_pass(flat, noisy_only, random.Random(0), (64, 64))
    assert 12 / 255 < float(out.std()) < 28 / 255  # sigma 20 levels, softened a little by JPEG q95


def test_the_mild_chain_is_the_benchmark_shrink_when_nothing_else_is_drawn():
    hr = photo_like(96)
    plain = realworld.Mild(blur_prob=0.0, noise_prob=0.0, jpeg_prob=0.0)
    from imgperc_sr.degrade import degrade

    assert torch.equal(realworld.degrade_mild(hr, 4, random.Random(0), plain), degrade(hr[None], 4, "bicubic")[0])
    damaged = realworld.degrade_mild(hr, 4, random.Random(0), realworld.Mild(blur_prob=1.0, noise_prob=1.0, jpeg_prob=1.0))
    assert damaged.shape == (3, 24, 24) and not torch.equal(damaged, degrade(hr[None], 4, "bicubic")[0])


def test_parameters_are_data():
    params = realworld.parameters()
    assert params["first_pass"]["jpeg_quality"] == (30, 95)
    assert 0 < params["second_pass_prob"] <= 1 and 0 <= params["mild_prob"] < 1
    assert params["mild"]["jpeg_quality"] == (30, 95)


def test_the_mild_share_picks_the_chain():
    hr = photo_like(96)
    for seed in range(4):  # share 1: always the first-order chain (the same draws after the coin); 0: never
        rng = random.Random(seed)
        rng.random()
        assert torch.equal(degrade_real(hr, 4, random.Random(seed), 1.0), realworld.degrade_mild(hr, 4, rng))
        assert not torch.equal(degrade_real(hr, 4, random.Random(seed), 0.0), realworld.degrade_mild(hr, 4, random.Random(seed)))
    assert realworld.parameters(0.8)["mild_prob"] == 0.8


@pytest.mark.parametrize(("degradation", "share"), [("bicubic", 0.8), ("real", 1.5), ("real", -0.1)])
def test_a_mild_share_out_of_place_is_a_clear_error(tmp_path, degradation, share):
    from imgperc.errors import InputError
    from imgperc_sr.train import SRJob

    with pytest.raises(InputError, match="--mild-share"):
        SRJob(4, tmp_path, arch="sr-shuffle", loss="l1", degradation=degradation, patch_size=32, mild_share=share)


def test_the_mild_share_is_recorded_and_part_of_the_run_signature(tmp_path):
    from PIL import Image

    from imgperc_sr.train import SRJob

    Image.new("RGB", (64, 64), (90, 120, 150)).save(tmp_path / "a.png")
    job = SRJob(4, tmp_path, arch="sr-shuffle", loss="l1", degradation="real", patch_size=32, mild_share=0.8)
    assert job.metadata()["degradation"]["mild_prob"] == 0.8 and job.signature()["mild_share"] == 0.8
    assert job.sampler().mild_share == 0.8
    default = SRJob(4, tmp_path, arch="sr-shuffle", loss="l1", degradation="real", patch_size=32)
    assert default.metadata()["degradation"]["mild_prob"] == realworld.MILD_PROB
