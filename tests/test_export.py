"""`imgperc export`: style and super-resolution nets as ONNX, run in ONNX Runtime against PyTorch."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from imgperc.hub import resolve_model
from imgperc.metrics import psnr
from imgperc.modelfile import build_model, save_model_file
from imgperc_sr.nets import sr_johnson
from imgperc_style.light import LightNet

from hardening_cli import one_error_line, run_cli

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")


def _random(net: torch.nn.Module) -> torch.nn.Module:
    """Random weights that make every layer matter (a fresh SR net starts as plain bicubic)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.normal_(0.0, 0.5 / parameter[0].numel() ** 0.5 if parameter.ndim > 1 else 0.1)
    return net


@pytest.fixture
def style_file(tmp_path):
    path = tmp_path / "light.safetensors"
    save_model_file(path, _random(LightNet(width=8, depth=1)).state_dict(),
                    {"architecture": "light", "config": {"width": 8, "depth": 1}, "task": "style"})
    return path


@pytest.fixture
def sr_file(tmp_path):
    path = tmp_path / "upscaler.safetensors"
    config = {"scale": 4, "channels": 4, "residual_blocks": 1}
    save_model_file(path, _random(sr_johnson(**config)).state_dict(), {"architecture": "sr-johnson", "config": config, "task": "sr"})
    return path


@pytest.mark.parametrize("kind, size", [("style", (36, 52)), ("sr", (13, 22))])
def test_onnx_runtime_matches_pytorch_at_any_size(tmp_path, capsys, style_file, sr_file, kind, size):
    model = style_file if kind == "style" else sr_file
    target = tmp_path / f"{kind}.onnx"
    code, out, err = run_cli(capsys, "export", model, "-o", target)
    assert code == 0, err
    assert str(target) in out
    net, meta = build_model(model)
    x = torch.rand(3, 3, *size, generator=torch.Generator().manual_seed(2))
    (result,) = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})
    with torch.no_grad():
        expected = net(x).clamp(0, 1)
    assert result.shape == expected.shape
    assert psnr(torch.from_numpy(result), expected, data_range=1.0) >= 40
    props = {p.key: p.value for p in onnx.load(str(target)).metadata_props}
    assert json.loads(props["imgperc"]) == meta and props["size_multiple"] == str(getattr(net, "size_multiple", 1))


def test_a_hub_model_by_name_and_no_overwrite(tmp_path, capsys):
    target = tmp_path / "x4.onnx"
    assert run_cli(capsys, "export", "x4-pixel", "-o", target)[0] == 0  # built in: no download
    props = {p.key: p.value for p in onnx.load(str(target)).metadata_props}
    assert props["scale"] == "4" and json.loads(props["imgperc"])["task"] == "sr"
    code, _, err = run_cli(capsys, "export", "x4-pixel", "-o", target)
    assert code == 1 and "already exists (use --force to overwrite)" in one_error_line(err)


def test_a_pretrained_ml5_style_keeps_dynamic_sizes(tmp_path, capsys, use_mirror):
    target = tmp_path / "muse.onnx"
    assert run_cli(capsys, "export", "muse", "-o", target)[0] == 0
    net = resolve_model("muse", "style").load().net
    x = torch.rand(1, 3, 44, 60, generator=torch.Generator().manual_seed(3))  # TensorFlow "SAME" padding, size by size
    (result,) = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})
    with torch.no_grad():
        assert psnr(torch.from_numpy(result), net(x), data_range=1.0) >= 40


@pytest.mark.parametrize(
    "model, message",
    [
        ("no-such-model", "'no-such-model' is not a model of an image task"),
        ("vgg19", "'vgg19' is not a model of an image task (sr, style)"),
        ("{missing}", "does not exist"),
    ],
)
def test_bad_models_are_one_line_errors(tmp_path, capsys, model, message):
    code, _, err = run_cli(capsys, "export", model.format(missing=tmp_path / "gone.safetensors"), "-o", tmp_path / "out.onnx")
    assert code == 1 and message in one_error_line(err)
    assert not (tmp_path / "out.onnx").exists()


def test_without_onnx_installed_a_one_line_error(tmp_path, capsys, style_file, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    code, _, err = run_cli(capsys, "export", style_file, "-o", tmp_path / "out.onnx")
    assert code == 1
    assert one_error_line(err) == "Error: ONNX export needs onnxruntime: pip install 'imgperc[onnx]'"
