"""NIQE (`imgperc_sr.niqe`): determinism, its ranking of clean over blurred and JPEG-damaged
images, the size it needs, and its column and the no-reference mode of `imgperc eval sr`."""

from __future__ import annotations

import csv
import io
import json
import math

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import require_shared
from imgperc.errors import InputError
from imgperc_sr.models import scores
from imgperc_sr.niqe import niqe, niqe_y
from test_eval_sr import _eval


def _jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


def _rgb(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels.astype(np.float32) / 255).permute(2, 0, 1)


def _power_law_field(seed: int, height: int = 192, width: int = 288) -> np.ndarray:
    """8-bit gray noise whose amplitude spectrum falls as 1/f^1.5: texture at every scale, as
    in photos (white noise has none of their structure, and NIQE rightly finds it unnatural)."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(height)[:, None], np.fft.fftfreq(width)[None]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(height, width))) / radius**1.5))
    return np.clip(np.round((field - field.mean()) / field.std() * 40 + 120), 0, 255).astype(np.uint8)


def _photo() -> np.ndarray:
    return np.asarray(Image.open(require_shared("data") / "content" / "chicago.jpg").convert("RGB"))


def test_niqe_is_deterministic_and_finite_on_a_photo():
    photo = _rgb(_photo())
    first = niqe(photo)
    assert math.isfinite(first) and 2 < first < 10
    assert niqe(photo) == first
    assert niqe(photo, border=4) == pytest.approx(first, rel=0.2)  # a few pixels less: about the same


def test_niqe_ranks_a_clean_photo_above_a_blurred_and_a_jpeg_copy():
    photo = _photo()
    clean, blurred, jpeg = (niqe(_rgb(p)) for p in (photo, cv2.GaussianBlur(photo, (0, 0), 2.0), _jpeg(photo, 15)))
    assert clean + 1 < jpeg and clean + 1 < blurred  # lower is better; measured 4.84, 8.72 (blur), 7.11 (JPEG)


@pytest.mark.parametrize("seed", [0, 1])
def test_niqe_ranks_a_natural_like_texture_above_its_blurred_and_jpeg_copies(seed):
    """No ../shared needed: a 1/f^1.5 random field (about 5.5) against its blurred (about 10.5)
    and JPEG quality 15 (about 8.5) copies."""
    field = _power_law_field(seed)
    clean, blurred, jpeg = (niqe_y(y) for y in (field, cv2.GaussianBlur(field, (0, 0), 2.0), _jpeg(field, 15)))
    assert clean + 1 < jpeg and clean + 1 < blurred


def test_an_image_too_small_for_niqe_is_a_clear_error_and_a_flat_one_has_no_niqe():
    with pytest.raises(InputError, match=r"a 191x96 image is too small for NIQE \(it needs two 96x96 blocks"):
        niqe_y(np.zeros((96, 191)))
    assert math.isfinite(niqe_y(_power_law_field(0, 96, 192)))  # two blocks: enough
    assert math.isnan(niqe_y(np.full((96, 192), 128.0)))  # no block has every feature


def _photos(folder, sizes):
    """Small textured RGB photos, one per (width, height)."""
    folder.mkdir()
    for k, (width, height) in enumerate(sizes):
        planes = [_power_law_field(3 * k + c, height, width) for c in range(3)]
        Image.fromarray(np.stack(planes, -1)).save(folder / f"p{k}.png")
    return folder


def test_eval_sr_writes_niqe_for_every_method_and_the_ground_truth(tmp_path):
    data = _photos(tmp_path / "d", [(200, 104), (48, 40)])  # the second too small for NIQE
    result = _eval("-x", "4", "--data", data, "--model", "bicubic", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert "NIQE" in result.output
    doc = json.loads((tmp_path / "eval-sr-d-x4.json").read_text())
    big, small = doc["images"]
    assert big["scores"]["bicubic"]["niqe"] > big["ground_truth"]["niqe"] > 0  # bicubic blurs
    assert small["scores"]["bicubic"]["niqe"] is None and small["ground_truth"]["niqe"] is None
    assert doc["mean"]["bicubic"]["niqe"] == big["scores"]["bicubic"]["niqe"]  # over the images that have it
    assert doc["ground_truth"]["niqe"] == big["ground_truth"]["niqe"] and doc["no_reference"] is False
    rows = list(csv.DictReader((tmp_path / "eval-sr-d-x4.csv").open()))
    assert [r["method"] for r in rows] == ["bicubic", "ground truth"] * 3
    assert float(rows[0]["niqe"]) == pytest.approx(big["scores"]["bicubic"]["niqe"], abs=1e-4)
    assert rows[2]["niqe"] == "" and float(rows[-1]["niqe"]) == pytest.approx(doc["ground_truth"]["niqe"], abs=1e-4)


def test_no_reference_mode_scores_photos_without_ground_truth(tmp_path):
    data = _photos(tmp_path / "photos", [(52, 28), (30, 20)])  # x4: 200x104 and 112x72 after the border
    result = _eval("-x", "4", "--data", data, "--model", "bicubic", "--no-reference", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert "NIQE" in result.output and "PSNR" not in result.output
    assert "ground truth" not in result.output.split("NIQE", 2)[-1]  # no ground-truth rows below the header
    doc = json.loads((tmp_path / "eval-sr-photos-x4-no-reference.json").read_text())
    assert doc["no_reference"] is True and doc["degradation"] is None and "ground_truth" not in doc
    first, second = doc["images"]
    assert (first["width"], first["height"]) == (52, 28) and "ground_truth" not in first
    assert set(first["scores"]["bicubic"]) == {"peak", "niqe"} and first["scores"]["bicubic"]["niqe"] > 0
    assert second["scores"]["bicubic"]["niqe"] is None and second["scores"]["bicubic"]["peak"] > 0
    rows = list(csv.DictReader((tmp_path / "eval-sr-photos-x4-no-reference.csv").open()))
    assert list(rows[0]) == ["image", "width", "height", "method", "peak", "niqe"]
    assert [r["image"] for r in rows] == ["p0.png", "p1.png", "mean"]


def test_a_shipped_model_records_niqe_and_the_no_reference_figures(tmp_path):
    truth, photos = _photos(tmp_path / "truth", [(208, 112)]), _photos(tmp_path / "photos", [(52, 28)])
    assert _eval("-x", "4", "--data", truth, "--model", "bicubic", "-o", tmp_path).exit_code == 0
    assert _eval("-x", "4", "--data", photos, "--model", "bicubic", "--no-reference", "-o", tmp_path).exit_code == 0
    key, entry = scores(json.loads((tmp_path / "eval-sr-truth-x4.json").read_text()), "bicubic", {})
    assert key == "truth-x4" and {"psnr", "ssim", "peak", "niqe", "ground_truth_peak", "ground_truth_niqe"} <= set(entry)
    key, entry = scores(json.loads((tmp_path / "eval-sr-photos-x4-no-reference.json").read_text()), "bicubic", {})
    assert key == "photos-x4-no-reference" and set(entry) == {"peak", "niqe", "histogram_match"}


@pytest.mark.parametrize("option", [["--degradation", "blur"], ["--degradation", "bicubic"], ["--crops", "c"]])
def test_no_reference_mode_refuses_options_that_need_ground_truth(tmp_path, option):
    data = _photos(tmp_path / "photos", [(30, 20)])
    result = _eval("-x", "4", "--data", data, "--no-reference", *option, "-o", tmp_path)
    assert result.exit_code == 2 and "with --no-reference" in result.output.splitlines()[-1]
    assert not list(tmp_path.glob("eval-sr-*"))


def test_no_reference_mode_refuses_a_photo_too_small_to_score(tmp_path):
    data = _photos(tmp_path / "photos", [(3, 20)])
    result = _eval("-x", "4", "--data", data, "--model", "bicubic", "--no-reference", "-o", tmp_path)
    assert isinstance(result.exception, InputError) and "p0.png: a 3x20 photo is too small to evaluate x4" in str(result.exception)
