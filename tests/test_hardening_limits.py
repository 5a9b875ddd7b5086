"""Limits checked before work: output pixels, finite options, model-file configs and shapes."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from PIL import Image

from imgperc.errors import ConfigError, InputError
from imgperc.limits import FINITE_FLOAT
from imgperc.settings import DEFAULT_MAX_PIXELS, max_pixels
from imgperc.modelfile import build_model, save_model_file
from imgperc_sr.nets import sr_johnson
from imgperc_style.nets import JohnsonNet, johnson

from hardening_cli import one_error_line, run_cli


@pytest.fixture
def tiny_style(tmp_path):
    path = tmp_path / "tiny.safetensors"
    net = JohnsonNet(channels=4, residual_blocks=1)
    save_model_file(path, net.state_dict(), {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}, "task": "style"})
    return path


def _photo(path, size=(40, 32), mode="RGB"):
    Image.new(mode, size, 1 if mode == "1" else (90, 120, 200)).save(path)
    return path


# --- output size ------------------------------------------------------------------------------


def test_upscaling_past_the_pixel_limit_is_refused_before_allocating(tmp_path, capsys):
    source = _photo(tmp_path / "big.png", (4000, 4000), "1")  # a 2 kB file
    assert source.stat().st_size < 10_000
    code, _, err = run_cli(capsys, "upscale", "-x", "8", source)
    line = one_error_line(err)
    assert code == 1 and "32000x32000" in line and f"{DEFAULT_MAX_PIXELS:,}" in line and "IMGPERC_MAX_PIXELS" in line
    assert not list(tmp_path.glob("big.x8*"))


def test_the_bicubic_baseline_respects_the_pixel_limit_too(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IMGPERC_MAX_PIXELS", "10000")
    code, _, err = run_cli(capsys, "upscale", "-x", "4", "--model", "bicubic", _photo(tmp_path / "p.png"))
    assert code == 1 and "160x128 = 20,480 pixels, over the limit of 10,000" in one_error_line(err)


def test_stylize_size_past_the_pixel_limit_is_a_clean_error(tiny_style, tmp_path, capsys):
    code, _, err = run_cli(capsys, "stylize", "--model", tiny_style, "--size", "100000", _photo(tmp_path / "p.png"))
    line = one_error_line(err)
    assert code == 1 and "100000x80000" in line and "IMGPERC_MAX_PIXELS" in line


def test_the_pixel_limit_setting_is_checked(monkeypatch):
    monkeypatch.setenv("IMGPERC_MAX_PIXELS", "1_000_000")
    assert max_pixels() == 1_000_000
    monkeypatch.setenv("IMGPERC_MAX_PIXELS", "lots")
    with pytest.raises(InputError, match="IMGPERC_MAX_PIXELS must be a positive whole number"):
        max_pixels()


# --- finite options ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_strength_must_be_finite(tiny_style, tmp_path, capsys, value):
    code, _, err = run_cli(capsys, "stylize", "--model", tiny_style, "--strength", value, _photo(tmp_path / "p.png"))
    assert code == 2 and "--strength" in one_error_line(err)
    assert not (tmp_path / "p.tiny.png").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("video", "--deflicker", "nan", "in.mp4"),
        ("train", "style", "--lr", "nan"),
        ("train", "sr", "--pixel-weight", "inf"),
        ("gatys", "--tv-weight", "nan", "a.png"),
    ],
)
def test_float_options_refuse_nan_and_infinity(capsys, args):
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "is not a finite number" in one_error_line(err)


def test_the_finite_float_type_keeps_ordinary_numbers():
    assert FINITE_FLOAT.convert("1e-3", None, None) == 1e-3


# --- model-file configs -----------------------------------------------------------------------


def _hostile_model(path, arch, config, tensors=None):
    """A tiny safetensors file whose metadata claims anything."""
    meta = json.dumps({"architecture": arch, "config": config, "task": "style"})
    header = json.dumps({"__metadata__": {"imgperc": meta}, **(tensors or {})}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


@pytest.mark.parametrize(
    "config, message",
    [
        ({"channels": 32, "residual_blocks": 100000}, "residual_blocks must be between 0 and 64, got 100000"),
        ({"channels": 1000000}, "channels must be between 1 and 256, got 1000000"),
        ({"channels": 32, "layers": 3}, "unknown config key 'layers'"),
        ({"channels": "32"}, "channels must be a whole number"),
        ({"channels": True}, "channels must be a whole number"),
        ([1, 2], "config must be a mapping"),
    ],
)
def test_absurd_configs_are_refused_before_building(tmp_path, config, message):
    path = _hostile_model(tmp_path / "evil.safetensors", "johnson", config)
    assert path.stat().st_size < 300
    with pytest.raises(ConfigError, match=message) as info:
        build_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_configs_of_nets_without_a_declaration_are_refused(tmp_path):
    path = _hostile_model(tmp_path / "evil.safetensors", "ml5", {"channels": 8})
    with pytest.raises(ConfigError, match=r"unknown config key 'channels' \(known: none\)"):
        build_model(path)


def test_tensor_shapes_must_match_the_config(tmp_path):
    net = JohnsonNet(channels=4, residual_blocks=1)
    state = net.state_dict()
    state["down.0.1.weight"] = torch.zeros(4, 3, 3, 3)
    path = tmp_path / "m.safetensors"
    save_model_file(path, state, {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}})
    with pytest.raises(InputError, match=r"tensor down.0.1.weight has shape \[4, 3, 3, 3\], the net needs \[4, 3, 9, 9\]"):
        build_model(path)
    del state["down.0.1.weight"]
    save_model_file(path, state, {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}})
    with pytest.raises(InputError, match="missing tensor down.0.1.weight"):
        build_model(path)


def test_a_valid_file_still_builds(tiny_style):
    net, meta = build_model(tiny_style)
    assert meta["config"] == {"channels": 4, "residual_blocks": 1} and len(net.res) == 1


def test_builders_check_direct_calls_too():
    with pytest.raises(ConfigError, match="johnson: residual_blocks must be between 0 and 64"):
        johnson(residual_blocks=65)
    with pytest.raises(ConfigError, match="sr_johnson: scale must be one of 2, 4, 8, got 3"):
        sr_johnson(3)
    assert sr_johnson(2, channels=4, residual_blocks=0).scale == 2
