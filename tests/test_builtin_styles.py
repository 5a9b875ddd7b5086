"""Built-in (fast) styles: registered from the style plugin's weights folder, listed, used
offline, damaged files reported; `imgperc models ship` ships sr and style runs and records scores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import load_file

from imgperc import hub, plugins
from imgperc.cli.main import cli
from imgperc.errors import PluginError
from imgperc.losses import get_preset
from imgperc.modelfile import read_metadata, save_model_file
from imgperc_sr import plugin as sr_plugin
from imgperc_style import plugin as style_plugin
from imgperc_style.cli import FAST_STYLES
from imgperc_style.evaluate import ImageLosses, Losses, StyleEvaluation
from imgperc_style.light import light

from conftest import absolute_paths
from hardening_cli import one_error_line, run_cli


def distilled_meta(style="muse", **extra):
    """Metadata as `imgperc distill` writes it, for a width-4, depth-1 ``light`` student."""
    return {
        "architecture": "light", "config": {"width": 4, "depth": 1}, "task": "style", "iterations": 10, "style": style,
        "teacher": {"name": style, "file": None, "architecture": "ml5", "config": {}},
        "distillation": {"pixel": 1.0, "feature": 1e-5}, "loss_network": "vgg19",
        "data": {"folder": "photos", "images": 3, "image_size": 64}, **extra,
    }


def save_light(path, seed=0, **meta):
    torch.manual_seed(seed)
    save_model_file(path, light(width=4, depth=1).state_dict(), distilled_meta(**meta))
    return path


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """The style plugin's weights folder, holding a tiny distilled ``muse-fast``."""
    folder = tmp_path / "weights"
    folder.mkdir()
    save_light(folder / "muse-fast.safetensors")
    monkeypatch.setattr(style_plugin, "WEIGHTS_DIR", folder)
    plugins.reset()
    return folder


def _photo(path, size=(37, 23)):
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    Image.fromarray(np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx * yy) % 256], -1).astype(np.uint8)).save(path)
    return path


def _ship(capsys, *args):
    """`imgperc models ship ARGS`: the shipped file's path; a failure raises SystemExit with its one error line."""
    code, out, err = run_cli(capsys, "models", "ship", *args)
    if code:
        raise SystemExit(one_error_line(err))
    return Path(out.strip())


def test_a_weights_file_is_a_builtin_style_described_from_its_metadata(weights, monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    spec = hub.find_spec("muse-fast")
    assert spec.builtin == weights / "muse-fast.safetensors" and spec.task == "style"
    assert spec.description == "Pablo Picasso, La Muse (1935), fast: distilled from `muse` (light net)"
    assert spec.license == "MIT (derived from the MIT-licensed ml5 nets)"
    assert spec.source.startswith("distilled by imgperc (`imgperc distill --teacher muse`) on photos")
    listed = CliRunner().invoke(cli, ["models", "list", "--task", "style", "--json"])
    assert listed.exit_code == 0, listed.output
    row = next(r for r in json.loads(listed.output) if r["id"] == "muse-fast")
    assert row["builtin"] and row["installed"] and row["description"] == spec.description


def test_stylize_and_video_help_show_the_fast_styles(weights):
    text = CliRunner().invoke(cli, ["stylize", "--help"]).output
    assert "Styles (--style NAME):" in text and "  muse " in text
    fast = text.index(f"{FAST_STYLES}:")
    assert text.index("Styles (--style NAME):") < text.index("  muse ") < fast < text.index("  muse-fast ")
    assert "built-in fast" in CliRunner().invoke(cli, ["video", "--help"]).output


def test_without_weights_there_is_no_fast_section(tmp_path, monkeypatch):
    monkeypatch.setattr(style_plugin, "WEIGHTS_DIR", tmp_path / "none")
    assert "Fast styles" not in CliRunner().invoke(cli, ["stylize", "--help"]).output


def test_a_fast_style_stylizes_offline_at_the_input_size(weights, tmp_path, monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    src = _photo(tmp_path / "photo.png")
    result = CliRunner().invoke(cli, ["stylize", "--style", "muse-fast", "-q", str(src)])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "photo.muse-fast.png").size == (37, 23)


def test_a_damaged_or_foreign_file_is_a_one_line_plugin_error(weights, tmp_path, capsys):
    (weights / "wave-fast.safetensors").write_bytes(b"not a model")
    with pytest.raises(PluginError, match=r"^built-in model wave-fast.safetensors is damaged \(.*\)$"):
        hub.builtin_specs(style_plugin.weights_folder(weights))
    save_model_file(weights / "sr-fast.safetensors", {"w": torch.zeros(1)}, {"task": "sr", "architecture": "sr-johnson"})
    plugins.reset()
    with pytest.raises(PluginError, match="built-in model sr-fast.safetensors is not a style"):
        plugins.registry("models").get("sr-fast")
    code, _, err = run_cli(capsys, "stylize", "--style", "wave-fast", _photo(tmp_path / "a.png"))
    assert code != 0 and "wave-fast" in one_error_line(err)
    assert "Warning: built-in model wave-fast.safetensors is damaged" in err
    assert hub.find_spec("muse-fast").builtin is not None  # the others still work


def test_ship_a_style_run_in_fp16_then_record_eval_style_scores(tmp_path, monkeypatch, capsys):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    monkeypatch.setattr(style_plugin, "WEIGHTS_DIR", shipped)
    monkeypatch.chdir(tmp_path)
    run = save_light(tmp_path / "model.safetensors", training={"init": str(tmp_path / "runs" / "first" / "model.safetensors")})
    with pytest.raises(SystemExit, match="already the name of hub model 'muse'"):
        _ship(capsys, run, "muse")
    _ship(capsys, run, "muse-fast", "--note", "test run")
    target = shipped / "muse-fast.safetensors"
    assert {t.dtype for t in load_file(target).values()} == {torch.float16}
    meta = read_metadata(target)
    assert meta["weights_dtype"] == "float16" and meta["note"] == "test run" and meta["teacher"]["name"] == "muse"
    assert meta["cost"]["side"] == 608 and 0 < meta["cost"]["gflop"] < meta["cost"]["teacher_gflop"]
    assert meta["license"] == "MIT" and meta["teacher"]["source"] == "ml5js/ml5-data-and-models@0612a3e"  # the teacher's
    assert meta["training"]["init"] == str(Path("runs", "first", "model.safetensors"))  # relative to where the tool ran
    plugins.reset()
    assert re.search(r"\(light net, \d+x fewer FLOPs\)$", hub.find_spec("muse-fast").description)

    result = StyleEvaluation(str(tmp_path / "photos"), "/data/la_muse.jpg", 512, get_preset("vgg19-relu3"), ["muse", "muse-fast"])
    for name in ("a.jpg", "b.jpg"):
        result.images.append(ImageLosses(name, 64, 48, {"muse": Losses(2.0, 4.0, {}), "muse-fast": Losses(3.0, 5.0, {})}))
    report = tmp_path / "eval-style-photos-la_muse.json"
    report.write_text(result.to_json())
    _ship(capsys, "muse-fast", "--scores", report)
    meta = read_metadata(target)
    assert meta["scores"] == {"photos-512": {
        "style_loss": 3.0, "content_loss": 5.0, "photos": 2, "data": "photos", "size": 512, "style_image": "la_muse.jpg",
        "recipe": "vgg19-relu3", "teacher": {"name": "muse", "style_loss": 2.0, "content_loss": 4.0},
        "ratio": {"style": 1.5, "content": 1.25},
    }}
    assert {t.dtype for t in load_file(target).values()} == {torch.float16}


def test_ship_an_sr_run_into_the_sr_plugin_and_record_eval_sr_scores(tmp_path, monkeypatch, capsys):
    shipped = tmp_path / "sr-weights"
    shipped.mkdir()
    monkeypatch.setattr(sr_plugin, "WEIGHTS_DIR", shipped)
    config = {"scale": 4, "channels": 4, "residual_blocks": 0}
    net = plugins.registry("transform_nets").get("sr-johnson")(**config)
    run = tmp_path / "sr.safetensors"
    save_model_file(run, net.state_dict(), {"architecture": "sr-johnson", "config": config, "task": "sr", "scale": 4, "loss": "l1"})
    _ship(capsys, run, "x4-tiny")
    tensors = load_file(shipped / "x4-tiny.safetensors")
    assert {t.dtype for t in tensors.values()} == {torch.float16, torch.int64}  # batch norms' counters stay whole numbers
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    plugins.reset()
    assert hub.find_spec("x4-tiny").extra == {"scale": 4, "loss": "l1"}
    report = tmp_path / "eval-sr-set5-x4.json"
    report.write_text(json.dumps({"data": "/d/set5", "scale": 4, "degradation": "bicubic", "histogram_match": False,
                                  "mean": {"bicubic": {"psnr": 28.0, "ssim": 0.8, "peak": 1.0}, "x4-tiny": {"psnr": 30.123, "ssim": 0.85678, "peak": 1.2345}},
                                  "ground_truth": {"peak": 0.987}}))
    _ship(capsys, "x4-tiny", "--scores", report)
    scores = read_metadata(shipped / "x4-tiny.safetensors")["scores"]
    assert scores == {"set5-x4": {"psnr": 30.12, "ssim": 0.8568, "peak": 1.23, "ground_truth_peak": 0.99, "histogram_match": False}}


# --- the nine fast styles that ship ------------------------------------------------------------


def test_the_nine_fast_styles_ship_load_offline_and_keep_the_exact_size():
    from imgperc_style.ml5_styles import STYLES

    shipped = {spec.id: spec for spec in hub.builtin_specs(style_plugin.weights_folder())}
    assert sorted(shipped) == sorted(f"{style}-fast" for style in STYLES)
    picture = Image.fromarray((np.random.default_rng(0).random((23, 37, 3)) * 255).astype(np.uint8))
    for name, spec in shipped.items():
        assert spec.builtin.stat().st_size < 400_000 and "ml5" in spec.license
        meta = read_metadata(spec.builtin)
        assert meta["architecture"] == "light" and meta["teacher"]["name"] == name.removesuffix("-fast")
        assert meta["iterations"] > 0 and meta["data"]["images"] > 0 and meta["weights_dtype"] == "float16"
        assert meta["scores"]
        for score in meta["scores"].values():  # measured on held-out photos, beside the teacher (one entry per recipe)
            assert score["photos"] >= 20 and set(score["ratio"]) == {"style", "content"}
        assert not absolute_paths(meta), f"{name} names a path of the machine it was made on"
        styled = __import__("imgperc").stylize(picture, name)  # built in: no download (tests run offline)
        assert styled.size == (37, 23)
