"""`--style-image`: any painting as a style (stylize, the API, video's task choice), its
controls and its one-line errors. Needs VGG-19 from the mirror in ../shared (the encoder)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import imgperc
from imgperc.cli.main import cli

from hardening_cli import one_error_line, run_cli


@pytest.fixture
def pictures(tmp_path):
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    rgba = np.concatenate([rng.integers(0, 256, (45, 61, 3)), np.full((45, 61, 1), 128)], axis=2).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(photo)
    a, b = tmp_path / "a.png", tmp_path / "b.jpg"
    Image.fromarray((np.indices((40, 48)).sum(0)[..., None] * [3, 1, 5] % 256).astype(np.uint8)).save(a)
    Image.fromarray(rng.integers(0, 256, (50, 40, 3)).astype(np.uint8)).save(b)
    return photo, a, b


def _stylize(*args):
    return CliRunner().invoke(cli, ["stylize", *map(str, args)])


def _no_outputs(folder):
    return not folder.exists() or not any(folder.iterdir())


def _pixels(path):
    return np.asarray(Image.open(path)).astype(np.int16)


def test_output_has_the_exact_size_keeps_alpha_and_is_tagged_with_the_painting(use_mirror, pictures, tmp_path):
    photo, a, _ = pictures
    result = _stylize("--style-image", a, photo, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "photo.a.png"
    image = Image.open(out)
    assert image.size == (61, 45) and image.mode == "RGBA"
    assert (np.asarray(image)[..., 3] == 128).all()
    assert np.abs(_pixels(out)[..., :3] - _pixels(photo)[..., :3]).mean() > 1  # it did something


def test_strength_zero_returns_the_input(use_mirror, pictures, tmp_path):
    photo, a, _ = pictures
    assert _stylize("--style-image", a, "--strength", "0", photo, "-o", tmp_path / "s0.png").exit_code == 0
    assert (_pixels(tmp_path / "s0.png") == _pixels(photo)).all()


def test_a_mix_of_one_painting_equals_that_painting_and_mixes_are_tagged(use_mirror, pictures, tmp_path):
    photo, a, b = pictures
    assert _stylize("--style-image", a, photo, "-o", tmp_path / "alone.png").exit_code == 0
    assert _stylize("--style-image", a, "--style-mix", "1", photo, "-o", tmp_path / "one.png").exit_code == 0
    result = _stylize("--style-image", a, "--style-image", b, "--style-mix", "1,0", photo, "-o", tmp_path / "mix")
    assert result.exit_code == 0, result.output
    alone = _pixels(tmp_path / "alone.png")
    assert np.abs(_pixels(tmp_path / "one.png") - alone).max() <= 1
    assert np.abs(_pixels(tmp_path / "mix" / "photo.a+b.png") - alone).max() <= 1


def test_tiled_equals_untiled(use_mirror, pictures, tmp_path):
    photo, a, _ = pictures
    big = tmp_path / "big.png"
    Image.open(photo).convert("RGB").resize((200, 150)).save(big)
    assert _stylize("--style-image", a, "--tile", "off", big, "-o", tmp_path / "whole.png").exit_code == 0
    assert _stylize("--style-image", a, "--tile", "96", big, "-o", tmp_path / "tiled.png").exit_code == 0
    assert np.abs(_pixels(tmp_path / "tiled.png") - _pixels(tmp_path / "whole.png")).max() <= 2


def test_style_size_changes_the_result_and_gray_paintings_work(use_mirror, pictures, tmp_path):
    photo, a, _ = pictures
    gray = tmp_path / "gray.png"
    Image.open(a).convert("L").save(gray)
    assert _stylize("--style-image", gray, photo, "-o", tmp_path / "g.png").exit_code == 0
    assert _stylize("--style-image", a, "--style-size", "32", photo, "-o", tmp_path / "s32.png").exit_code == 0
    assert _stylize("--style-image", a, "--style-size", "96", photo, "-o", tmp_path / "s96.png").exit_code == 0
    assert np.abs(_pixels(tmp_path / "s32.png") - _pixels(tmp_path / "s96.png")).mean() > 0.5


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--style-mix", "0.5"], "--style-mix has 1 weights for 2 --style-image paintings"),
        (["--style-mix", "1,-1"], "--style-mix weights must be finite and 0 or more"),
        (["--style-mix", "nan,1"], "--style-mix weights must be finite and 0 or more"),
        (["--style-mix", "0,0"], "--style-mix weights sum to 0"),
        (["--style-mix", "a,b"], "--style-mix must be numbers separated by commas"),
        (["--style", "wave-fast"], "give --style-image, or --style/--model, not both"),
    ],
)
def test_bad_mixes_and_choices_are_one_line_errors_and_write_nothing(pictures, tmp_path, capsys, extra, message):
    photo, a, b = pictures
    code, _, err = run_cli(capsys, "stylize", "--style-image", a, "--style-image", b, *extra, photo, "-o", tmp_path / "out")
    assert code != 0 and one_error_line(err).startswith(f"Error: {message}")
    assert _no_outputs(tmp_path / "out")


def test_bad_paintings_are_one_line_errors_and_write_nothing(use_mirror, pictures, tmp_path, capsys, monkeypatch):
    photo, a, _ = pictures
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    for painting, words in [(text, "notes.jpg"), (tiny, "too small for a style")]:
        code, _, err = run_cli(capsys, "stylize", "--style-image", painting, photo, "-o", tmp_path / "out")
        assert code != 0 and words in one_error_line(err) and _no_outputs(tmp_path / "out")
    monkeypatch.setattr("imgperc.io.image.MAX_PIXELS", 1000)  # the decoder's limit: a painting too large to read
    code, _, err = run_cli(capsys, "stylize", "--style-image", a, photo, "-o", tmp_path / "out")
    assert code != 0 and "image is too large (48x40 pixels" in one_error_line(err) and _no_outputs(tmp_path / "out")
    code, _, err = run_cli(capsys, "stylize", "--style-mix", "1", photo)
    assert code != 0 and one_error_line(err).startswith("Error: --style-mix needs --style-image")


def test_the_library_takes_a_painting_too(use_mirror, pictures):
    photo, a, b = pictures
    out = imgperc.stylize(Image.open(photo), style_image=a)
    assert out.size == (61, 45)
    mixed = imgperc.stylize(np.asarray(Image.open(photo).convert("RGB")), style_image=[a, b], style_mix=[1, 0])
    assert mixed.shape == (45, 61, 3)
    assert np.abs(mixed.astype(int) - np.asarray(out.convert("RGB")).astype(int)).max() <= 1


def test_video_takes_a_painting_and_keeps_the_frame_count(use_mirror, pictures, tmp_path, capsys):
    from imgperc_video.io import count_frames
    from test_video_support import make_clip

    _, a, _ = pictures
    clip = make_clip(tmp_path / "clip.mp4")
    code, out, err = run_cli(capsys, "video", "--style-image", a, clip, "-q")
    assert code == 0, err
    assert count_frames(tmp_path / "clip.a.mp4") == count_frames(clip)


def test_the_shipped_decoders_load_offline(monkeypatch):
    from imgperc.hub import resolve_model
    from imgperc_style.anystyle_task import DECODER_TASK, DECODERS

    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    for level, name in DECODERS.items():
        loaded = resolve_model(name, DECODER_TASK).load()
        assert loaded.meta["level"] == level and loaded.meta["training_recipe"]["phases"]
