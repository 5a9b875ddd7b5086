"""`imgperc upscale --outscale F` and `--denoise D`, on the CLI and in `imgperc.upscale`, with tiny
'built-in' models: a weak x4 net and a real-world one that names it as its denoise pair."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import imgperc
from imgperc.api import clear_model_cache
from imgperc.errors import InputError
from imgperc.cli.main import cli
from imgperc.io import read_image
from imgperc.modelfile import save_model_file
from imgperc_sr import models, plugin as sr_plugin
from imgperc_sr.denoise import blended_net
from imgperc_sr.fastnet import sr_shuffle
from test_upscale import _photo

CONFIG = {"channels": 4, "residual_blocks": 1}


def _save_shuffle(path, scale=4, loss="l1", seed=0, **meta):
    """A tiny random sr-shuffle model file (its last conv not zero, so it is not bicubic)."""
    torch.manual_seed(seed)
    config = {"scale": scale, **CONFIG}
    net = sr_shuffle(**config)
    torch.nn.init.normal_(net.upsample.weight, std=0.05)
    save_model_file(path, net.state_dict(), {"architecture": "sr-shuffle", "config": config, "task": "sr", "scale": scale,
                                             "loss": loss, "iterations": 10, **meta})
    return path


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """Built-in x2-fidelity, x4-fidelity, x4-perceptual, x4-real (denoise pair: x4-fidelity) and x8-perceptual."""
    folder = tmp_path / "weights"
    folder.mkdir()
    _save_shuffle(folder / "x4-fidelity.safetensors", seed=1)
    _save_shuffle(folder / "x4-perceptual.safetensors", loss="perceptual", seed=2)
    _save_shuffle(folder / "x4-real.safetensors", seed=3, denoise_pair="x4-fidelity")
    _save_shuffle(folder / "x8-perceptual.safetensors", 8, loss="perceptual", seed=4)
    _save_shuffle(folder / "x2-fidelity.safetensors", 2, seed=5)
    monkeypatch.setattr(sr_plugin, "WEIGHTS_DIR", folder)
    clear_model_cache()
    yield folder
    clear_model_cache()


def _upscale(*args):
    return CliRunner().invoke(cli, ["upscale", *map(str, args)])


def _pixels(path):
    return np.asarray(Image.open(path))


# --- --outscale ------------------------------------------------------------------------------


@pytest.mark.parametrize("outscale", ["2", "3", "1.5", "0.5", "4", "6", "2.7"])
@pytest.mark.parametrize("size", [(21, 15), (7, 5)])
def test_outscale_gives_exactly_the_rounded_size(tmp_path, shipped, outscale, size):
    src = _photo(tmp_path / "a.png", size, mode="RGBA")
    result = _upscale("--outscale", outscale, "-q", src)
    assert result.exit_code == 0, result.output
    out = tmp_path / f"a.x{float(outscale):g}.png"
    f = float(outscale)
    assert Image.open(out).size == (round(size[0] * f), round(size[1] * f))
    assert Image.open(out).mode == "RGBA"  # alpha resized with it


def test_outscale_is_the_model_output_resized_with_lanczos(tmp_path, shipped):
    src = _photo(tmp_path / "a.png", (21, 15))
    assert _upscale("-x", "4", "-o", tmp_path / "x4.png", src).exit_code == 0
    assert _upscale("--outscale", "3", "-o", tmp_path / "x3.png", src).exit_code == 0
    x4 = read_image(tmp_path / "x4.png").pixels
    expected = Image.fromarray(_pixels(tmp_path / "x4.png")).resize((63, 45), Image.Resampling.LANCZOS)
    difference = np.abs(_pixels(tmp_path / "x3.png").astype(int) - np.asarray(expected).astype(int))
    assert difference.mean() < 0.5  # Pillow's 8-bit Lanczos of the 8-bit x4 file; ours works in float
    assert x4.shape == (3, 60, 84)


def test_outscale_picks_the_nearest_scale_at_or_above_and_keeps_a_chosen_model(tmp_path, shipped):
    assert [models.scale_for(f) for f in (0.5, 1.5, 2, 2.01, 4, 4.01, 8, 12)] == [2, 2, 2, 4, 4, 8, 8, 8]
    src = _photo(tmp_path / "a.png")
    assert _upscale("--outscale", "2", "--model", "x4-fidelity", src).exit_code == 0
    assert (tmp_path / "a.x2-x4-fidelity.png").exists()  # the net that ran, never x2-fidelity's name
    assert _upscale("--outscale", "2", "--model", "x2-fidelity", src).exit_code == 0
    assert (tmp_path / "a.x2-fidelity.png").exists()
    assert models.choose(None, None, outscale=6).name == "x8-perceptual"
    assert models.choose(None, None, outscale=1.5).name == "x2-fidelity"  # x2 has no perceptual model: its fidelity one


@pytest.mark.parametrize("value, message", [
    ("0", "0.0 is not in the range x>0.0"),
    ("-2", "-2.0 is not in the range x>0.0"),
    ("nan", "'nan' is not a finite number"),
    ("inf", "'inf' is not a finite number"),
])
def test_bad_outscales_are_one_line_errors_and_write_nothing(tmp_path, shipped, value, message):
    src = _photo(tmp_path / "a.png")
    result = _upscale("--outscale", value, src)
    assert result.exit_code == 2
    assert [line for line in result.output.splitlines() if line.startswith("Error:")] == [f"Error: Invalid value for '--outscale': {message}."]
    assert sorted(p.name for p in tmp_path.glob("a.*")) == ["a.png"]


def test_an_outscale_over_the_pixel_limit_is_a_one_line_error(tmp_path, shipped, monkeypatch):
    src = _photo(tmp_path / "a.png", (21, 15))
    monkeypatch.setenv("IMGPERC_MAX_PIXELS", str(168 * 120))  # the x8 net's output fits, x10 does not
    result = _upscale("--outscale", "10", src)
    assert isinstance(result.exception, InputError), result.output
    assert "210x150" in str(result.exception) and "IMGPERC_MAX_PIXELS" in str(result.exception) and "\n" not in str(result.exception)
    assert sorted(p.name for p in tmp_path.glob("a.*")) == ["a.png"]
    with pytest.raises(InputError, match="over the limit"):
        imgperc.upscale(Image.open(src), outscale=10)


def test_the_api_takes_outscale(shipped):
    image = Image.fromarray(np.full((15, 21, 3), 128, np.uint8))
    assert imgperc.upscale(image, outscale=1.5).size == (32, 22)
    assert imgperc.upscale(image, outscale=6).size == (126, 90)
    assert imgperc.upscale(torch.rand(1, 3, 10, 12), outscale=2.5).shape == (1, 3, 25, 30)
    for bad in (0, -1, math.nan):
        with pytest.raises(InputError, match="--outscale must be a finite number above 0"):
            imgperc.upscale(image, outscale=bad)


# --- --denoise -------------------------------------------------------------------------------


def test_denoise_ends_are_exactly_the_two_nets(shipped):
    real = models.choose("x4-real", None).model
    weak, strong = (models.choose(m, None).model.load().net.state_dict() for m in ("x4-fidelity", "x4-real"))
    for strength, expected in ((0.0, weak), (1.0, strong)):
        blended = blended_net(real, strength).state_dict()
        assert all(torch.equal(blended[k], expected[k]) for k in expected)
    half = blended_net(real, 0.5).state_dict()["head.weight"]
    assert torch.allclose(half, (weak["head.weight"] + strong["head.weight"]) / 2)


def test_denoise_0_and_1_upscale_like_the_two_models(tmp_path, shipped):
    src = _photo(tmp_path / "a.png", (21, 15))
    for args, name in ((["--model", "x4-fidelity"], "weak"), (["--model", "x4-real"], "strong"), (["--denoise", "0"], "d0"),
                       (["--denoise", "1"], "d1"), (["--denoise", "0.5"], "d05")):
        result = _upscale(*args, "-o", tmp_path / f"{name}.png", src)
        assert result.exit_code == 0, result.output
    assert np.array_equal(_pixels(tmp_path / "d0.png"), _pixels(tmp_path / "weak.png"))
    assert np.array_equal(_pixels(tmp_path / "d1.png"), _pixels(tmp_path / "strong.png"))
    assert not np.array_equal(_pixels(tmp_path / "d05.png"), _pixels(tmp_path / "strong.png"))
    assert _upscale("--denoise", "0.25", src).exit_code == 0
    assert (tmp_path / "a.x4-real-dn0.25.png").exists()  # the default with --denoise is the model with a pair


def test_the_api_takes_denoise(shipped):
    image = torch.rand(1, 3, 10, 12)
    weak = imgperc.upscale(image, model="x4-fidelity")
    assert torch.equal(imgperc.upscale(image, denoise=0.0), weak)
    assert torch.equal(imgperc.upscale(image, model="x4-real", denoise=1.0), imgperc.upscale(image, model="x4-real"))
    with pytest.raises(InputError, match="has no denoise pair"):
        imgperc.upscale(image, model="x4-perceptual", denoise=0.5)
    with pytest.raises(InputError, match="between 0 and 1"):
        imgperc.upscale(image, denoise=1.5)


@pytest.mark.parametrize("args, message", [
    (["--denoise", "1.5"], "Invalid value for '--denoise': 1.5 is not in the range 0.0<=x<=1.0"),
    (["--denoise", "-0.1"], "Invalid value for '--denoise': -0.1 is not in the range 0.0<=x<=1.0"),
    (["--denoise", "nan"], "Invalid value for '--denoise': 'nan' is not a finite number"),
    (["--denoise", "0.5", "--model", "x4-perceptual"], "model 'x4-perceptual' has no denoise pair"),
    (["--denoise", "0.5", "-x", "4", "--model", "bicubic"], "--denoise needs a model with a denoise pair, not bicubic"),
    (["--denoise", "0.5", "-x", "8"], "no built-in x8 model has a denoise pair"),
])
def test_bad_denoise_uses_are_one_line_errors_and_write_nothing(tmp_path, shipped, args, message):
    src = _photo(tmp_path / "a.png")
    result = _upscale(*args, src)
    assert result.exit_code != 0 and message in (result.output + str(result.exception))
    assert "Traceback" not in result.output and sum(line.startswith("Error:") for line in result.output.splitlines()) <= 1
    assert sorted(p.name for p in tmp_path.glob("a.*")) == ["a.png"]


def test_a_denoise_pair_of_another_architecture_is_refused(tmp_path, shipped):
    from test_upscale import save_sr_model

    save_sr_model(shipped / "x4-pixel.safetensors", 4)  # sr-johnson
    _save_shuffle(tmp_path / "odd.safetensors", seed=5, denoise_pair="x4-pixel")
    result = _upscale("--model", tmp_path / "odd.safetensors", "--denoise", "0.5", _photo(tmp_path / "a.png"))
    assert isinstance(result.exception, InputError) and "are different nets" in str(result.exception)
