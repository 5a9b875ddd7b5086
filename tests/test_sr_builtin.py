"""The shipped super-resolution models: offline, exact sizes, their quality bars, tiling, defaults."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import absolute_paths, require_shared
from imgperc.cli.main import cli
from imgperc.io import read_image
from imgperc.modelfile import read_metadata
from imgperc_sr import models
from imgperc_sr.evaluate import evaluate
from imgperc_sr.upscale import load_upscaler

FIDELITY = ("x4-fidelity", "x8-fidelity")
PERCEPTUAL = ("x4-perceptual", "x8-perceptual")
SET5_IMAGE = "img_002.png"  # any Set5 image; never used in training


def _photo(path, size=(37, 23)):
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx * yy) % 256], -1).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def _scores(name: str, degradation: str = "bicubic"):
    truth = require_shared("data") / "sr" / "set5" / SET5_IMAGE
    scale = models.choose(name, None).scale
    upscalers = {m: load_upscaler(models.choose(m, scale)) for m in ("bicubic", name)}
    image = evaluate([truth], scale, upscalers, degradation=degradation).images[0]
    return image.scores["bicubic"], image.scores[name]


@pytest.mark.parametrize("name", FIDELITY + PERCEPTUAL)
def test_shipped_model_works_offline_at_the_exact_size(name, tmp_path, monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    src = _photo(tmp_path / "in.png")
    result = CliRunner().invoke(cli, ["upscale", "--model", name, "-q", str(src)])
    assert result.exit_code == 0, result.output
    scale = int(name[1])
    assert Image.open(tmp_path / f"in.{name}.png").size == (37 * scale, 23 * scale)
    meta = read_metadata(models.choose(name, None).model.file())
    assert meta["degradation"]["downsample"].startswith("bicubic") and meta["iterations"] > 0
    assert meta["data"]["images"] > 0 and {"set5-x%d" % scale, "set14-x%d" % scale} <= set(meta["scores"])
    assert not absolute_paths(meta)  # no path of the machine it was made on


@pytest.mark.parametrize("name", FIDELITY)
def test_fidelity_models_beat_bicubic_by_a_decibel(name):
    bicubic, model = _scores(name)
    assert model.psnr >= bicubic.psnr + 1.0


@pytest.mark.parametrize("name", PERCEPTUAL)
def test_perceptual_models_keep_bicubics_psnr(name):
    bicubic, model = _scores(name)
    assert model.psnr >= bicubic.psnr


@pytest.mark.parametrize("degradation", ["jpeg50", "blur-noise-jpeg60"])
def test_the_real_world_model_beats_bicubic_on_damaged_photos(degradation):
    bicubic, model = _scores("x4-real", degradation)
    assert model.psnr >= bicubic.psnr + 0.3  # Set5 means: +0.62 dB (jpeg50); 22 held-out photos: +0.52, +0.66


def test_the_real_world_model_works_offline_and_names_its_denoise_partner(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    src = _photo(tmp_path / "in.png")
    result = CliRunner().invoke(cli, ["upscale", "--model", "x4-real", "--denoise", "0.5", "-q", str(src)])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "in.x4-real-dn0.5.png").size == (37 * 4, 23 * 4)
    meta = read_metadata(models.choose("x4-real", None).model.file())
    assert meta["denoise_pair"] == "x4-fidelity" and meta["degradation"]["first_pass"]["jpeg_quality"] == [30, 95]
    assert [phase["iterations"] for phase in meta["training_recipe"]["phases"]] == [1719, 1500, 1500, 1500]


@pytest.mark.parametrize("scale", [4, 8])
def test_the_default_of_each_scale_is_its_perceptual_model(scale):
    assert models.choose(None, scale).name == f"x{scale}-perceptual"


def test_the_x2_pair_ships_works_offline_and_is_the_x2_default(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    assert models.choose(None, 2).name == "x2-fidelity" and models.choose(None, 2, denoise=0.5).name == "x2-real"
    src = _photo(tmp_path / "in.png")
    for args, name in ((["-x", "2"], "in.x2.png"), (["-x", "2", "--denoise", "0.5"], "in.x2-real-dn0.5.png")):
        result = CliRunner().invoke(cli, ["upscale", *args, "-q", str(src)])
        assert result.exit_code == 0, result.output
        assert Image.open(tmp_path / name).size == (37 * 2, 23 * 2)
    meta = read_metadata(models.choose("x2-real", None).model.file())
    assert meta["denoise_pair"] == "x2-fidelity" and meta["scale"] == 2 and meta["degradation"]["mild_prob"] == 0.8
    fidelity = read_metadata(models.choose("x2-fidelity", None).model.file())["scores"]
    assert meta["scores"]["heldout-x2-jpeg50"]["psnr"] > fidelity["heldout-x2-jpeg50"]["psnr"]  # real wins on JPEGs
    assert fidelity["heldout-x2"]["psnr"] > meta["scores"]["heldout-x2"]["psnr"]  # fidelity on clean inputs


def test_tiled_equals_untiled_for_the_shipped_net(tmp_path):
    src = _photo(tmp_path / "in.png", (150, 110))
    for tile in ("off", "72"):
        result = CliRunner().invoke(cli, ["upscale", "--model", "x4-fidelity", "--tile", tile, "-o", str(tmp_path / f"{tile}.png"), str(src)])
        assert result.exit_code == 0, result.output
    whole = read_image(tmp_path / "off.png").pixels
    tiled = read_image(tmp_path / "72.png").pixels
    assert whole.shape == tiled.shape == (3, 440, 600)
    assert (whole - tiled).abs().max().item() <= 1 / 255 + 1e-6


@pytest.mark.parametrize(
    "args, message",
    [(["-x", "3"], "'3' is not one of"), (["--model", "x8-fidelity", "-x", "4"], "upscales x8, not x4")],
)
def test_bad_scale_choices_are_one_line_errors(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["upscale", *args, str(_photo(tmp_path / "in.png"))])
    assert result.exit_code != 0
    assert message in (result.output + str(result.exception or ""))
