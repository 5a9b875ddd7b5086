"""The cheaper super-resolution path: the sr-shuffle net, the benchmark degradation, augmentation,
the L1 pixel term, the cosine schedule, --init, and the grid measure."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from imgperc.cli.main import cli
from imgperc.errors import ConfigError
from imgperc.losses.terms import pixel_loss
from imgperc.modelfile import build_model, load_model_file, read_metadata, save_model_file
from imgperc.train.loop import learning_rate
from imgperc.train.options import TrainSettings

from conftest import random_images
from imgperc_sr.bicubic import downscale_bicubic
from imgperc_sr.degrade import degrade
from imgperc_sr.fastnet import sr_shuffle
from imgperc_sr.train import PatchPair, augment

TINY = ["--arch", "sr-shuffle", "--patch-size", "32", "--batch-size", "2", "--channels", "4", "--residual-blocks", "1",
        "--workers", "0", "--log-every", "1", "--precision", "fp32", "--preview-every", "0"]


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_untrained_sr_shuffle_is_bicubic_interpolation(scale):
    torch.manual_seed(0)
    net = sr_shuffle(scale=scale, channels=8, residual_blocks=2).eval()
    low = torch.rand(1, 3, 9, 7)
    out = net(low)
    assert out.shape == (1, 3, 9 * scale, 7 * scale)
    assert torch.allclose(out, F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False))
    assert all(m.stride == (1, 1) for m in net.modules() if isinstance(m, torch.nn.Conv2d))  # all at input resolution


def test_sr_shuffle_config_is_bounded():
    with pytest.raises(ConfigError, match="scale"):
        sr_shuffle(scale=3)
    with pytest.raises(ConfigError, match="channels"):
        sr_shuffle(channels=100000)
    with pytest.raises(ConfigError, match="grid_notch"):
        sr_shuffle(grid_notch=4)  # the window is centred: odd sizes only


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_the_grid_notch_removes_a_phase_pattern_and_keeps_detail_common_to_the_phases(scale):
    torch.manual_seed(0)
    low = torch.rand(1, 3, 24, 20)
    painted = sr_shuffle(scale=scale, channels=8, residual_blocks=1, grid_notch=0).eval()
    with torch.no_grad():
        painted.upsample.bias.copy_(torch.randn(3 * scale * scale) * 0.05)  # each phase its own level: a grid
    notched = sr_shuffle(scale=scale, channels=8, residual_blocks=1, grid_notch=9).eval()
    notched.load_state_dict(painted.state_dict())
    bicubic = F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False)
    grid = painted(low) - bicubic
    assert grid.abs().mean() > 0.02
    assert torch.allclose(notched(low), bicubic + grid.mean((-2, -1), keepdim=True), atol=1e-5)  # the grid's mean stays
    with torch.no_grad():  # the same level in every phase of a colour is not a grid: the notch keeps it
        painted.upsample.bias.copy_(torch.randn(3).repeat_interleave(scale * scale) * 0.05)
        notched.load_state_dict(painted.state_dict())
    assert torch.allclose(notched(low), painted(low), atol=1e-6)


def test_bicubic_degradation_is_the_benchmark_protocol_in_8_bits():
    torch.manual_seed(1)
    hr = torch.rand(1, 3, 32, 24)
    low = degrade(hr, 4, "bicubic")
    assert low.shape == (1, 3, 8, 6)
    assert torch.equal(low, (downscale_bicubic(hr, 4) * 255).round() / 255)
    assert not torch.allclose(low, degrade(hr, 4, "blur"))
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(hr, 4, "jpeg")


def test_augment_gives_every_flip_and_rotation():
    patch = torch.arange(2 * 3 * 3, dtype=torch.float32).view(2, 3, 3)
    seen = {tuple(augment(patch, random.Random(seed)).flatten().tolist()) for seed in range(200)}
    assert len(seen) == 8  # the dihedral group of the square


def test_augmented_patch_pairs_are_deterministic_per_rng():
    pixels = torch.rand(3, 90, 70)
    sample = PatchPair(32, 4, "bicubic", augment_data=True)
    low, high = sample(pixels, random.Random(5))
    again_low, again_high = sample(pixels, random.Random(5))
    assert high.shape == (3, 32, 32) and low.shape == (3, 8, 8)
    assert torch.equal(high, again_high) and torch.equal(low, again_low)
    assert torch.equal(low, degrade(high[None], 4, "bicubic")[0])


def test_l1_pixel_loss_is_the_mean_absolute_difference():
    a, b = torch.zeros(2, 3, 2, 2), torch.zeros(2, 3, 2, 2)
    b[0, 0, 0, 0] = 1.2  # one pixel of 12 in the first image, none in the second
    assert pixel_loss(a, b, "l1").item() == pytest.approx(1.2 / 12 / 2)
    assert pixel_loss(a, b, "l2").item() == pytest.approx(1.44 / 12 / 2)


def test_cosine_schedule_decays_to_zero():
    settings = TrainSettings(out=None, iterations=100, lr=1e-3, lr_schedule="cosine")
    assert learning_rate(settings, 0) == pytest.approx(1e-3)
    assert learning_rate(settings, 50) == pytest.approx(5e-4)
    assert learning_rate(settings, 99) < 1e-6
    assert learning_rate(TrainSettings(out=None, iterations=100, lr=1e-3), 99) == 1e-3


@pytest.fixture
def images(tmp_path):
    return random_images(tmp_path / "hr", [(40, 44)] * 3, seed=3)


def test_train_sr_shuffle_l1_then_fine_tune_with_init(tmp_path, images):
    first = tmp_path / "first"
    result = CliRunner().invoke(cli, ["train", "sr", "--scale", "4", "--loss", "l1", "--degradation", "bicubic", "--augment",
                                      "--lr-schedule", "cosine", "--data", str(images), "--out", str(first), "--iterations", "3", *TINY])
    assert result.exit_code == 0, result.output
    meta = read_metadata(first / "model.safetensors")
    assert meta["architecture"] == "sr-shuffle" and meta["recipe"]["pixel_norm"] == "l1"
    assert meta["degradation"]["downsample"].startswith("bicubic") and meta["degradation"]["blur_sigma"] == 0
    assert meta["training"]["lr_schedule"] == "cosine" and meta["data"]["augmentation"] != "none"
    net, _ = build_model(first / "model.safetensors")
    assert net(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)

    second = tmp_path / "second"
    result = CliRunner().invoke(cli, ["train", "sr", "--scale", "4", "--loss", "l1", "--data", str(images), "--out", str(second),
                                      "--iterations", "1", "--lr", "1e-12", "--init", str(first / "model.safetensors"), *TINY])
    assert result.exit_code == 0, result.output
    tuned, _ = build_model(second / "model.safetensors")
    for (name, a), b in zip(net.state_dict().items(), tuned.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name  # started from the first run's weights

    tensors, meta = load_model_file(first / "model.safetensors")  # a file from before a config key: its default applies
    older = tmp_path / "older.safetensors"
    save_model_file(older, tensors, {**meta, "config": {k: v for k, v in meta["config"].items() if k != "grid_notch"}})
    again = CliRunner().invoke(cli, ["train", "sr", "--scale", "4", "--loss", "l1", "--data", str(images), "--out", str(tmp_path / "again"),
                                     "--iterations", "1", "--init", str(older), *TINY])
    assert again.exit_code == 0, again.output

    other = CliRunner().invoke(cli, ["train", "sr", "--scale", "4", "--loss", "l1", "--data", str(images), "--out", str(tmp_path / "wide"),
                                     "--iterations", "1", "--init", str(first / "model.safetensors"), *TINY, "--channels", "6"])
    assert other.exit_code != 0 and "--init" in str(other.exception) and "'channels': 4" in str(other.exception)
