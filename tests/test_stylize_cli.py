"""`imgperc stylize`: naming, overwrite refusal, folders, alpha, EXIF, sizes, colour, strength, --model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from imgperc.cli.main import cli
from imgperc.errors import InputError
from imgperc.modelfile import save_model_file
from imgperc_style.color import rgb_to_ycbcr
from imgperc_style.nets import JohnsonNet


def _photo(path, size=(40, 32), mode="RGB", **save):
    """A smooth colourful test picture (gradients, so stylization visibly changes it)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) * 127 // max(w + h - 2, 1)], -1)
    image = Image.fromarray(rgb.astype(np.uint8))
    if mode == "RGBA":
        image.putalpha(Image.fromarray((xx * 255 // max(w - 1, 1)).astype(np.uint8)))
    image.save(path, **save)
    return path


def _stylize(*args):
    return CliRunner().invoke(cli, ["stylize", *map(str, args)])


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


@pytest.fixture
def tiny_model(tmp_path):
    torch.manual_seed(0)
    net = JohnsonNet(channels=4, residual_blocks=1)
    path = tmp_path / "tiny-net.safetensors"
    meta = {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}, "task": "style"}
    save_model_file(path, net.state_dict(), meta)
    return path


def test_stylize_writes_beside_the_input_and_prints_it(use_mirror, tmp_path):
    src = _photo(tmp_path / "photo.jpg")
    result = _stylize("--style", "muse", src)
    assert result.exit_code == 0, result.output
    out = tmp_path / "photo.muse.jpg"
    assert result.output.splitlines() == [str(out)]
    assert Image.open(out).size == (40, 32)
    assert np.abs(_pixels(out) - _pixels(src)).mean() > 0.05


def test_alias_names_the_output_with_the_style_id(use_mirror, tmp_path):
    src = _photo(tmp_path / "photo.png")
    result = _stylize("--style", "la_muse", "-q", src)
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "photo.muse.png").is_file()


def test_refuses_to_overwrite_before_doing_any_work(tmp_path, tiny_model):
    a, b = _photo(tmp_path / "a.png"), _photo(tmp_path / "b.png")
    (tmp_path / "b.tiny-net.png").write_bytes(b"keep me")
    result = _stylize("--model", tiny_model, a, b)
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError) and "already exists" in str(result.exception)
    assert not (tmp_path / "a.tiny-net.png").exists()
    assert (tmp_path / "b.tiny-net.png").read_bytes() == b"keep me"
    forced = _stylize("--model", tiny_model, "--force", a, b)
    assert forced.exit_code == 0, forced.output
    assert Image.open(tmp_path / "b.tiny-net.png").size == (40, 32)
    assert len(forced.output.splitlines()) == 2


def test_output_file_and_output_folder(tmp_path, tiny_model):
    a, b = _photo(tmp_path / "a.jpg"), _photo(tmp_path / "b.png", size=(20, 24))
    target = tmp_path / "styled.png"
    assert _stylize("--model", tiny_model, "-o", target, a).exit_code == 0
    assert Image.open(target).format == "PNG" and Image.open(target).size == (40, 32)
    folder = tmp_path / "out"
    folder.mkdir()
    result = _stylize("--model", tiny_model, "-o", folder, a, b)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["a.tiny-net.jpg", "b.tiny-net.png"]
    assert Image.open(folder / "b.tiny-net.png").size == (20, 24)


def test_folder_input_and_recursion(tmp_path, tiny_model):
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    _photo(album / "top.png")
    _photo(album / "sub" / "deep.png")
    flat = _stylize("--model", tiny_model, album)
    assert flat.exit_code == 0, flat.output
    assert (album / "top.tiny-net.png").is_file() and not (album / "sub" / "deep.tiny-net.png").exists()
    deep = _stylize("--model", tiny_model, "-r", album)
    assert deep.exit_code != 0  # top's output now exists: nothing is done without --force
    assert not (album / "sub" / "deep.tiny-net.png").exists()
    deep = _stylize("--model", tiny_model, "-r", "--force", album)
    assert deep.exit_code == 0, deep.output
    assert (album / "sub" / "deep.tiny-net.png").is_file()


def test_alpha_is_kept_and_odd_sizes_are_exact(use_mirror, tmp_path):
    src = _photo(tmp_path / "logo.png", size=(37, 23), mode="RGBA")
    result = _stylize("--style", "muse", src)
    assert result.exit_code == 0, result.output
    out = Image.open(tmp_path / "logo.muse.png")
    assert out.mode == "RGBA" and out.size == (37, 23)
    assert np.array_equal(np.asarray(out)[..., 3], np.asarray(Image.open(src))[..., 3])


@pytest.mark.parametrize("size", [(37, 23), (9, 64), (8, 8)])
def test_any_size_comes_back_exact(tmp_path, tiny_model, size):
    src = _photo(tmp_path / "odd.jpg", size=size)
    assert _stylize("--model", tiny_model, src).exit_code == 0
    assert Image.open(tmp_path / "odd.tiny-net.jpg").size == size


def test_exif_orientation_is_honoured(tmp_path, tiny_model):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40x32, shown rotated by 90 degrees: 32x40
    src = _photo(tmp_path / "phone.jpg", exif=exif)
    assert _stylize("--model", tiny_model, src).exit_code == 0
    out = Image.open(tmp_path / "phone.tiny-net.jpg")
    assert out.getexif().get(0x0112, 1) == 1
    assert out.size == (32, 40)


def test_size_resizes_the_longest_side(tmp_path, tiny_model):
    src = _photo(tmp_path / "big.png", size=(80, 40))
    assert _stylize("--model", tiny_model, "--size", 30, src).exit_code == 0
    assert Image.open(tmp_path / "big.tiny-net.png").size == (30, 15)


def test_preserve_color_keeps_the_chroma(use_mirror, tmp_path):
    src = _photo(tmp_path / "c.png")
    folder = tmp_path / "out"
    folder.mkdir()
    assert _stylize("--style", "wave", "-o", folder / "plain.png", src).exit_code == 0
    assert _stylize("--style", "wave", "--preserve-color", "-o", folder / "kept.png", src).exit_code == 0

    def ycbcr(path):
        return rgb_to_ycbcr(torch.from_numpy(_pixels(path)).permute(2, 0, 1)[None])[0]

    content, plain, kept = ycbcr(src), ycbcr(folder / "plain.png"), ycbcr(folder / "kept.png")
    chroma_kept = (kept[1:] - content[1:]).abs().mean()
    assert chroma_kept < 0.01 < (plain[1:] - content[1:]).abs().mean()
    assert (kept[0] - plain[0]).abs().mean() < 0.02  # the luminance is the stylized one


def test_strength_zero_returns_the_input(tmp_path, tiny_model):
    src = _photo(tmp_path / "s.png")
    assert _stylize("--model", tiny_model, "--strength", 0, src).exit_code == 0
    assert np.abs(_pixels(tmp_path / "s.tiny-net.png") - _pixels(src)).max() <= 1 / 255
    half = _stylize("--model", tiny_model, "--strength", 0.5, "-o", tmp_path / "half.png", src)
    assert half.exit_code == 0
    full = _stylize("--model", tiny_model, "-o", tmp_path / "full.png", src)
    assert full.exit_code == 0
    blend = (_pixels(src) + _pixels(tmp_path / "full.png")) / 2
    assert np.abs(_pixels(tmp_path / "half.png") - blend).max() <= 1.5 / 255


def test_bad_strength_is_a_usage_error_and_no_style_means_the_default(tmp_path):
    src = _photo(tmp_path / "x.png")
    assert _stylize("--style", "muse", "--strength", 1.5, src).exit_code == 2
    result = _stylize(src)  # issue 25 item 10: the built-in default, as `imgperc.stylize` (tests/test_api_load.py)
    assert result.exit_code == 0 and "using the built-in fast style 'muse-fast'" in result.stderr


def test_unknown_style_is_one_line_error_without_traceback(tmp_path):
    src = _photo(tmp_path / "x.png")
    result = subprocess.run(
        [sys.executable, "-m", "imgperc", "stylize", "--style", "vangogh", str(src)], capture_output=True, text=True
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("Error: unknown style 'vangogh' (known: ") and "muse" in lines[0] and "wave" in lines[0]
    assert not list(tmp_path.glob("x.*.png"))
