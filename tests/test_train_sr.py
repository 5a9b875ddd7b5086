"""`imgperc train sr`: the paper's degradation, the sr-johnson net, a tiny training run."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

from imgperc.cli.main import cli
from imgperc.modelfile import build_model, read_metadata
from imgperc.train import log
from imgperc_sr.degrade import degrade, gaussian_blur
from imgperc_sr.nets import sr_johnson
from imgperc_sr.train import PatchPair, default_preset

TINY = ["--patch-size", "32", "--batch-size", "2", "--channels", "4", "--residual-blocks", "1", "--workers", "0",
        "--log-every", "1", "--precision", "fp32", "--preview-every", "2"]


def test_blur_is_a_normalised_gaussian_of_sigma_one():
    impulse = torch.zeros(1, 1, 15, 15)
    impulse[..., 7, 7] = 1.0
    kernel = gaussian_blur(impulse)[0, 0]
    assert kernel.sum().item() == pytest.approx(1.0, abs=1e-6)
    ys, xs = torch.meshgrid(torch.arange(15.0) - 7, torch.arange(15.0) - 7, indexing="ij")
    assert (kernel * xs**2).sum().item() == pytest.approx(1.0, rel=0.02)  # variance = sigma^2
    flat = torch.full((1, 3, 8, 8), 0.3)
    assert torch.allclose(gaussian_blur(flat), flat)


def test_degrade_blurs_then_downsamples_bicubically():
    torch.manual_seed(0)
    hr = torch.rand(2, 3, 32, 24)
    lr = degrade(hr, 4)
    assert lr.shape == (2, 3, 8, 6) and 0 <= lr.min() and lr.max() <= 1
    expected = F.interpolate(gaussian_blur(hr), size=(8, 6), mode="bicubic", align_corners=False).clamp(0, 1)
    assert torch.allclose(lr, expected)
    with pytest.raises(ValueError, match="multiple of the scale"):
        degrade(hr, 5)


@pytest.mark.parametrize("scale", [4, 8])
def test_sr_net_takes_the_low_resolution_image_directly(scale):
    net = sr_johnson(scale=scale, channels=8, residual_blocks=2)
    upsampling = [m for m in net.modules() if isinstance(m, torch.nn.Upsample)]
    assert len(upsampling) == {4: 2, 8: 3}[scale]
    assert net(torch.rand(1, 3, 10, 7)).shape == (1, 3, 10 * scale, 7 * scale)
    default = sr_johnson()
    assert default.head[1].kernel_size == (9, 9) and default.out[1].kernel_size == (9, 9)
    assert len(default.res) == 4 and default.head[1].out_channels == 64
    with pytest.raises(ValueError, match="scale"):
        sr_johnson(scale=3)


def test_patch_pairs_are_random_crops_with_their_degraded_input():
    pixels = torch.rand(3, 20, 50)  # smaller than the patch on one side: enlarged first
    low, high = PatchPair(24, 4)(pixels, random.Random(0))
    assert high.shape == (3, 24, 24) and low.shape == (3, 6, 6)
    assert torch.allclose(low, degrade(high[None], 4)[0])


def test_loss_choice_picks_the_preset():
    assert default_preset("feat", None) == "sr-feat" and default_preset("pixel", None) == "sr-pixel"
    assert default_preset("feat", "vgg19") == "sr-feat-vgg19"


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "hr" / "set"
    root.mkdir(parents=True)
    torch.manual_seed(3)
    for i in range(3):
        Image.fromarray((torch.rand(40, 44, 3) * 255).byte().numpy()).save(root / f"{i}.png")
    return tmp_path / "hr"


def test_train_sr_pixel_writes_an_sr_model(tmp_path, images):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "sr", "--scale", "4", "--loss", "pixel", "--data", str(images), "--out", str(out),
                                      "--iterations", "4", *TINY])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out / "model.safetensors")
    assert meta["task"] == "sr" and meta["architecture"] == "sr-johnson" and meta["scale"] == 4
    assert meta["loss"] == "pixel" and meta["loss_network"] is None and meta["recipe"]["name"] == "sr-pixel"
    assert meta["data"]["images"] == 3 and meta["data"]["patch_size"] == 32
    assert set(log.read(out / "log.jsonl")[0]["loss"]) == {"total", "pixel"}
    net, _ = build_model(out / "model.safetensors")
    assert net.eval()(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)
    preview = Image.open(out / "previews" / "iter-000004.png")
    assert preview.size == (3 * 32 + 2 * 4, 2 * 32 + 4)  # LR (nearest), output, HR per image


def test_train_sr_feat_uses_relu2_2(tmp_path, images, use_mirror):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "sr", "--scale", "8", "--data", str(images), "--out", str(out), "--iterations", "2",
                                      "--loss-network", "vgg19", *TINY, "--patch-size", "64"])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out / "model.safetensors")
    assert meta["recipe"]["content_layers"] == {"relu2_2": 1.0} and meta["config"]["scale"] == 8
    assert set(log.read(out / "log.jsonl")[0]["loss"]) == {"total", "content:relu2_2", "tv"}


@pytest.mark.parametrize(
    "extra, message",
    [(["--patch-size", "30"], "multiple of the scale"), (["--preset", "paper"], "style term"),
     (["--loss", "pixel", "--loss-network", "vgg19"], "uses no loss network")],
)
def test_bad_sr_options_are_one_line_errors(tmp_path, images, extra, message, capsys):
    from imgperc.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "sr", "--scale", "4", "--data", str(images), "--out", str(tmp_path / "r"), *TINY, *extra])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and message in err and err.count("\n") == 1
