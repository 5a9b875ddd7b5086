"""`imgperc eval sr`: the protocol on a tiny synthetic set, result files, crops, and the Set5 bicubic row."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from conftest import DATA_DIR
from imgperc.cli.main import cli
from imgperc.errors import InputError
from imgperc.io import read_image
from imgperc.metrics import y_psnr_ssim
from imgperc_sr import plugin as sr_plugin
from imgperc_sr.evaluate import ground_truth, low_resolution
from test_upscale import save_sr_model


def _dataset(folder):
    """Two small textured 'ground truth' images, one with sizes that are not multiples of 4."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, (w, h) in (("a.png", (48, 40)), ("b.png", (45, 38))):
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([np.sin(xx / 3) * 100 + 120, np.cos(yy / 4) * 90 + 120, (xx + yy) * 2], -1)
        noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / name)
    return folder


def _eval(*args):
    return CliRunner().invoke(cli, ["eval", "sr", *map(str, args)])


def _pillow_bicubic_scores(path, scale):
    """The protocol written out with Pillow on 8-bit images (no imgperc resampling code)."""
    image = Image.open(path).convert("RGB")
    w, h = image.size
    hr = image.crop((0, 0, w - w % scale, h - h % scale))
    lr = hr.resize((hr.width // scale, hr.height // scale), Image.Resampling.BICUBIC)
    sr = lr.resize(hr.size, Image.Resampling.BICUBIC)
    as_tensor = lambda im: torch.from_numpy(np.asarray(im, dtype=np.float32) / 255).permute(2, 0, 1)  # noqa: E731
    return y_psnr_ssim(as_tensor(sr), as_tensor(hr), scale)


def test_eval_on_a_tiny_synthetic_set(tmp_path):
    data = _dataset(tmp_path / "tiny")
    model = save_sr_model(tmp_path / "net.safetensors", 4)
    out, crops = tmp_path / "results", tmp_path / "crops"
    result = _eval("-x", "4", "--data", data, "--model", model, "--model", "bicubic", "-o", out, "--crops", crops, "--crop-size", "32")
    assert result.exit_code == 0, result.output
    assert "mean" in result.output and "bicubic" in result.output and "net" in result.output
    doc = json.loads((out / "eval-sr-tiny-x4.json").read_text())
    assert doc["methods"] == ["bicubic", "net"] and doc["scale"] == 4 and doc["degradation"] == "bicubic"
    assert [(i["image"], i["width"], i["height"]) for i in doc["images"]] == [("a.png", 48, 40), ("b.png", 44, 36)]
    for image in doc["images"]:
        psnr, ssim = _pillow_bicubic_scores(data / image["image"], 4)
        assert image["scores"]["bicubic"]["psnr"] == pytest.approx(psnr, abs=0.05)
        assert image["scores"]["bicubic"]["ssim"] == pytest.approx(ssim, abs=0.002)
        assert -1 < image["scores"]["net"]["ssim"] < 1 and math.isfinite(image["scores"]["net"]["psnr"])
    mean = doc["mean"]["bicubic"]["psnr"]
    assert mean == pytest.approx(np.mean([i["scores"]["bicubic"]["psnr"] for i in doc["images"]]))
    rows = list(csv.DictReader((out / "eval-sr-tiny-x4.csv").open()))
    assert len(rows) == 2 * 3 + 3 and rows[-3]["image"] == "mean" and float(rows[-3]["psnr"]) == pytest.approx(mean, abs=1e-4)
    sheet = Image.open(crops / "a.x4.png")
    assert sheet.width > 4 * 32 and sheet.height > 32  # input, bicubic, net, ground truth side by side


def test_bicubic_is_always_included_and_the_builtins_are_the_default(tmp_path, monkeypatch):
    data = _dataset(tmp_path / "d")
    result = _eval("--scale", "4", "--data", data, "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "eval-sr-d-x4.json").read_text())["methods"] == ["bicubic", "x4-feat", "x4-fidelity", "x4-perceptual", "x4-pixel", "x4-real"]
    monkeypatch.setattr(sr_plugin, "WEIGHTS_DIR", tmp_path / "none")
    result = _eval("--scale", "8", "--data", data, "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "eval-sr-d-x8.json").read_text())["methods"] == ["bicubic"]


def test_blur_degradation_uses_the_training_degradation(tmp_path):
    data = _dataset(tmp_path / "d")
    truth = ground_truth(read_image(data / "a.png"), 4)
    plain, blurred = (low_resolution(truth, 4, d).pixels for d in ("bicubic", "blur"))
    assert plain.shape == blurred.shape == (3, 10, 12)
    assert blurred.std() < plain.std()  # the Gaussian blur removes texture before downsampling
    for degradation in ("bicubic", "blur"):
        assert _eval("-x", "4", "--data", data, "--degradation", degradation, "-o", tmp_path).exit_code == 0
    sharp = json.loads((tmp_path / "eval-sr-d-x4.json").read_text())["mean"]["bicubic"]["psnr"]
    soft = json.loads((tmp_path / "eval-sr-d-x4-blur.json").read_text())["mean"]["bicubic"]["psnr"]
    assert soft < sharp


def test_refuses_to_overwrite_results_without_force(tmp_path):
    data = _dataset(tmp_path / "d")
    (tmp_path / "eval-sr-d-x4.csv").write_text("keep me")
    result = _eval("-x", "4", "--data", data, "-o", tmp_path)
    assert isinstance(result.exception, InputError) and "already exists" in str(result.exception)
    assert (tmp_path / "eval-sr-d-x4.csv").read_text() == "keep me"
    assert not (tmp_path / "eval-sr-d-x4.json").exists()
    assert _eval("-x", "4", "--data", data, "-o", tmp_path, "--force").exit_code == 0


def test_a_model_of_another_scale_is_refused(tmp_path):
    data = _dataset(tmp_path / "d")
    model = save_sr_model(tmp_path / "x8.safetensors", 8)
    result = _eval("-x", "4", "--data", data, "--model", model, "-o", tmp_path)
    assert isinstance(result.exception, InputError) and "upscales x8, not x4" in str(result.exception)


def test_eval_lists_the_sr_benchmark():
    result = CliRunner().invoke(cli, ["eval", "--help"])
    assert result.exit_code == 0 and "sr" in result.output.split("Commands:")[1]


@pytest.mark.needs_shared("data")
def test_bicubic_row_reproduces_the_paper_on_set5(tmp_path):
    """Johnson et al. report bicubic x4 on Set5 as 28.43 dB / 0.8114 (Y channel, border 4)."""
    result = _eval("-x", "4", "--data", DATA_DIR / "sr" / "set5", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    mean = json.loads((tmp_path / "eval-sr-set5-x4.json").read_text())["mean"]["bicubic"]
    assert round(mean["psnr"], 2) == 28.43
    assert mean["ssim"] == pytest.approx(0.8114, abs=0.0005)


def test_an_image_too_small_to_score_is_a_clear_error(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    Image.new("RGB", (40, 18), "gray").save(data / "thin.png")
    result = _eval("-x", "4", "--data", data, "-o", tmp_path)
    assert isinstance(result.exception, InputError)
    assert "thin.png" in str(result.exception) and "too small to evaluate x4" in str(result.exception)


@pytest.mark.needs_shared("data")
def test_the_shipped_models_work_offline_and_the_pixel_model_beats_bicubic(tmp_path, monkeypatch):
    """The built-in weights, on one Set5 image: x4 per-pixel above bicubic, as in the docs' table."""
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    monkeypatch.setenv("IMGPERC_HOME", str(tmp_path / "home"))
    data = tmp_path / "set5"
    data.mkdir()
    (data / "img_002.png").write_bytes((DATA_DIR / "sr" / "set5" / "img_002.png").read_bytes())
    result = _eval("--scale", "4", "--data", data, "--model", "x4-pixel", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    mean = json.loads((tmp_path / "eval-sr-set5-x4.json").read_text())["mean"]
    assert mean["x4-pixel"]["psnr"] > mean["bicubic"]["psnr"] + 0.1


def test_the_table_never_cuts_image_names_or_model_ids_at_80_columns(monkeypatch, capsys):
    from imgperc.report import print_table
    from imgperc_sr.eval_cmd import _table
    from imgperc_sr.evaluate import Evaluation, ImageScores, Score

    monkeypatch.setenv("COLUMNS", "80")
    methods = ["bicubic", "x4-feat", "x4-fidelity", "x4-perceptual", "x4-pixel", "my-own-x4-model"]
    images = [ImageScores(f"img_{i:03d}_SRF_4_HR.png", 512, 480, 1.25, {m: Score(28.123, 0.81234, 0.95) for m in methods}) for i in range(3)]
    print_table(_table(Evaluation("set14", 4, "bicubic", False, methods, images), "set14 x4: PSNR (dB) and SSIM on Y"))
    text = capsys.readouterr().out
    assert "…" not in text and max(map(len, text.splitlines())) <= 80
    assert all(image.image in text for image in images) and all(f" {m} " in text for m in methods)
    assert "28.12" in text and "0.8123" in text and "ground truth" in text and "1.25" in text


@pytest.mark.parametrize("degradation", ["jpeg50", "blur-noise-jpeg60"])
def test_real_world_degradations_name_their_results_and_score_the_peak_measure(tmp_path, degradation):
    data = _dataset(tmp_path / "d")
    result = _eval("-x", "4", "--data", data, "--model", "bicubic", "--degradation", degradation, "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert f"{degradation} degradation" in result.output and "ground truth" in result.output and "peak" in result.output
    doc = json.loads((tmp_path / f"eval-sr-d-x4-{degradation}.json").read_text())
    assert doc["degradation"] == degradation and doc["methods"] == ["bicubic"]
    assert all(i["ground_truth"]["peak"] > 0 and i["scores"]["bicubic"]["peak"] > 0 for i in doc["images"])
    assert doc["ground_truth"]["peak"] == pytest.approx(np.mean([i["ground_truth"]["peak"] for i in doc["images"]]))
    rows = list(csv.DictReader((tmp_path / f"eval-sr-d-x4-{degradation}.csv").open()))
    assert [r["method"] for r in rows] == ["bicubic", "ground truth"] * 3 and rows[-1]["psnr"] == "" and float(rows[-1]["peak"]) > 0
    clean = json.loads(_eval("-x", "4", "--data", data, "--model", "bicubic", "-o", tmp_path).exit_code == 0
                       and (tmp_path / "eval-sr-d-x4.json").read_text())
    assert doc["mean"]["bicubic"]["psnr"] < clean["mean"]["bicubic"]["psnr"]  # JPEG (and noise) cost the baseline


def test_an_unknown_degradation_is_a_one_line_error(tmp_path):
    result = _eval("-x", "4", "--data", _dataset(tmp_path / "d"), "--degradation", "jpeg", "-o", tmp_path)
    assert result.exit_code == 2 and "'jpeg' is not one of 'bicubic', 'blur', 'jpeg50', 'blur-noise-jpeg60'" in result.output
