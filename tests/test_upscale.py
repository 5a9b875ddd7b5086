"""`imgperc upscale`: exact sizes, alpha, gray and 16-bit files, histogram matching, models, naming."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from imgperc import hub, plugins
from imgperc.cli.main import cli
from imgperc.errors import InputError, ModelNotAvailable
from imgperc.io import read_image
from imgperc.modelfile import load_model_file, save_model_file
from imgperc_sr import models, plugin as sr_plugin
from imgperc_sr.bicubic import bicubic_resize, upscale_bicubic
from imgperc_sr.histogram import match_histograms
from imgperc_sr.nets import sr_johnson
from imgperc_sr.upscale import PAD, load_upscaler


def save_sr_model(path, scale=4, loss="pixel", seed=0):
    """A tiny random sr-johnson model file (8 channels, one residual block)."""
    torch.manual_seed(seed)
    config = {"scale": scale, "channels": 8, "residual_blocks": 1}
    meta = {"architecture": "sr-johnson", "config": config, "task": "sr", "scale": scale, "loss": loss, "iterations": 10}
    net = sr_johnson(**config)
    torch.nn.init.normal_(net.out[1].weight, std=0.05)  # trained nets add detail to bicubic; untrained ones are bicubic
    save_model_file(path, net.state_dict(), meta)
    return path


def _photo(path, size=(21, 15), mode="RGB"):
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx * yy) % 256], -1).astype(np.uint8)
    image = Image.fromarray(rgb)
    if mode == "RGBA":
        image.putalpha(Image.fromarray(((xx + yy) * 255 // max(w + h - 2, 1)).astype(np.uint8)))
    elif mode == "L":
        image = image.convert("L")
    image.save(path)
    return path


def _upscale(*args):
    return CliRunner().invoke(cli, ["upscale", *map(str, args)])


@pytest.fixture
def tiny4(tmp_path):
    return save_sr_model(tmp_path / "tiny4.safetensors", 4)


@pytest.fixture
def builtin(tmp_path, monkeypatch):
    """A weights folder holding tiny x4 and x8 perceptual and x4 fidelity 'built-in' models."""
    folder = tmp_path / "weights"
    folder.mkdir()
    save_sr_model(folder / "x4-perceptual.safetensors", 4, "perceptual", seed=1)
    save_sr_model(folder / "x4-fidelity.safetensors", 4, "l1", seed=2)
    save_sr_model(folder / "x8-perceptual.safetensors", 8, "perceptual", seed=3)
    monkeypatch.setattr(sr_plugin, "WEIGHTS_DIR", folder)
    return folder


@pytest.mark.parametrize("size", [(7, 5), (1, 3), (13, 1), (19, 11)])
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_output_is_exactly_scale_times_the_input_for_odd_sizes(tmp_path, size, scale):
    src = _photo(tmp_path / "in.png", size)
    model = save_sr_model(tmp_path / f"m{scale}.safetensors", scale)
    for extra in (["--model", model], ["--model", "bicubic", "-x", scale]):
        result = _upscale(*extra, "-q", "--force", src)
        assert result.exit_code == 0, result.output
        tag = f"x{scale}-m{scale}" if extra[1] == model else f"x{scale}-bicubic"
        assert Image.open(tmp_path / f"in.{tag}.png").size == (size[0] * scale, size[1] * scale)


def test_builtin_models_are_found_and_used_by_default(builtin, tmp_path, monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    listed = CliRunner().invoke(cli, ["models", "list", "--task", "sr", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"id": "x4-perceptual"' in listed.output and '"builtin": true' in listed.output
    src = _photo(tmp_path / "small.png")
    assert _upscale("-x", "4", src).output.splitlines() == [str(tmp_path / "small.x4.png")]
    assert _upscale("-x", "8", src).exit_code == 0
    assert Image.open(tmp_path / "small.x8.png").size == (21 * 8, 15 * 8)
    assert _upscale("--model", "x4-fidelity", src).exit_code == 0
    assert (tmp_path / "small.x4-fidelity.png").is_file()
    by_default = np.asarray(Image.open(tmp_path / "small.x4.png"))
    perceptual = _upscale("--model", "x4-perceptual", "-o", tmp_path / "perceptual.png", src)
    assert perceptual.exit_code == 0, perceptual.output
    assert np.array_equal(np.asarray(Image.open(tmp_path / "perceptual.png")), by_default)
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "small.x4-fidelity.png")), by_default)


def test_without_a_builtin_model_the_error_names_training_and_bicubic(tmp_path, monkeypatch):
    monkeypatch.setattr(sr_plugin, "WEIGHTS_DIR", tmp_path / "empty")
    result = _upscale("-x", "8", _photo(tmp_path / "a.png"))
    assert isinstance(result.exception, ModelNotAvailable)
    message = str(result.exception)
    assert "\n" not in message and "imgperc train sr --scale 8" in message and "--model bicubic" in message


def test_dropping_in_another_builtin_model_keeps_the_default(builtin):
    save_sr_model(builtin / "x4-a-perceptual.safetensors", 4, "perceptual", seed=4)
    assert models.choose(None, 4).name == "x4-perceptual" and models.choose("x4-a-perceptual", None).scale == 4
    (builtin / "x4-perceptual.safetensors").unlink()
    plugins.reset()
    assert models.choose(None, 4).name == "x4-a-perceptual"


def test_without_a_perceptual_model_the_fidelity_one_is_the_default_and_never_the_real_one(builtin):
    real = save_sr_model(builtin / "x2-a-real.safetensors", 2, "l1", seed=5)
    tensors, meta = load_model_file(real)
    save_model_file(real, tensors, {**meta, "denoise_pair": "x2-fidelity"})
    plugins.reset()
    with pytest.raises(ModelNotAvailable, match="no built-in x2 super-resolution model"):
        models.choose(None, 2)  # a paired (real-world) model is not a clean default
    save_sr_model(builtin / "x2-fidelity.safetensors", 2, "l1", seed=6)
    plugins.reset()
    assert models.choose(None, 2).name == "x2-fidelity" and models.choose(None, None, outscale=1.5).name == "x2-fidelity"
    assert models.choose(None, 2, denoise=0.5).name == "x2-a-real"
    assert models.choose(None, 4).name == "x4-perceptual"


def test_the_shipped_weights_folder_holds_only_valid_sr_models():
    for spec in hub.builtin_specs(sr_plugin.weights_folder()):
        assert spec.task == "sr" and spec.builtin.is_file() and spec.extra["scale"] in (2, 4, 8)


def test_a_damaged_builtin_file_is_a_plugin_error(tmp_path):
    (tmp_path / "x4-feat.safetensors").write_bytes(b"not a model")
    with pytest.raises(Exception, match="x4-feat.safetensors is damaged"):
        hub.builtin_specs(sr_plugin.weights_folder(tmp_path))


def test_alpha_is_upscaled_bicubically_and_kept(tmp_path, tiny4):
    src = _photo(tmp_path / "a.png", (9, 7), mode="RGBA")
    assert _upscale("--model", tiny4, src).exit_code == 0
    out = Image.open(tmp_path / "a.x4-tiny4.png")
    assert out.mode == "RGBA" and out.size == (36, 28)
    alpha = torch.from_numpy(np.asarray(Image.open(src))[..., 3].astype(np.float32) / 255)
    expected = upscale_bicubic(alpha[None, None], 4)[0, 0].mul(255).round().numpy()
    assert np.array_equal(np.asarray(out)[..., 3], expected.astype(np.uint8))


def test_sixteen_bit_input_gives_sixteen_bit_output(tmp_path, tiny4):
    w, h = 10, 6
    ramp = (np.arange(w * h * 3, dtype=np.uint32).reshape(h, w, 3) * 331 % 65536).astype(np.uint16)
    from imgperc.io import Image as IOImage, write_image

    pixels = torch.from_numpy(ramp.astype(np.float32) / 65535).permute(2, 0, 1)
    write_image(tmp_path / "deep.png", IOImage(pixels=pixels, alpha=None, bit_depth=16))
    for model in (tiny4, "bicubic"):
        result = _upscale("--model", model, "-x", "4", "-o", tmp_path / f"deep-{model == 'bicubic'}.png", tmp_path / "deep.png")
        assert result.exit_code == 0, result.output
        out = read_image(tmp_path / f"deep-{model == 'bicubic'}.png")
        assert out.bit_depth == 16 and out.size == (40, 24)
        levels = np.rint(out.pixels.numpy() * 65535).astype(np.int64)
        assert (levels % 257 != 0).any()  # more than 8 bits of information survived


def test_grayscale_input_gives_grayscale_output(tmp_path, tiny4):
    src = _photo(tmp_path / "g.png", (8, 8), mode="L")
    for model in (tiny4, "bicubic"):
        assert _upscale("--model", model, "-x", "4", "--force", src).exit_code == 0
    assert Image.open(tmp_path / "g.x4-tiny4.png").mode == "L"
    assert Image.open(tmp_path / "g.x4-bicubic.png").mode == "L"


def test_bicubic_is_pillows_bicubic(tmp_path):
    src = _photo(tmp_path / "p.png", (11, 9))
    assert _upscale("--model", "bicubic", "-x", "4", src).exit_code == 0
    ours = np.asarray(Image.open(tmp_path / "p.x4-bicubic.png")).astype(int)
    pillow = np.asarray(Image.open(src).resize((44, 36), Image.Resampling.BICUBIC)).astype(int)
    assert np.abs(ours - pillow).max() <= 1  # Pillow rounds to 8 bits between its two passes


def test_bicubic_resize_shrinks_with_antialiasing_like_pillow():
    x = torch.rand(1, 1, 16, 16)
    small = bicubic_resize(x, (4, 4))[0, 0].numpy()
    pillow = np.asarray(Image.fromarray(x[0, 0].numpy(), "F").resize((4, 4), Image.Resampling.BICUBIC))
    assert np.allclose(small, pillow, atol=1e-6)


def test_histogram_matching_gives_the_reference_distribution_and_keeps_order():
    torch.manual_seed(0)
    reference = torch.rand(1, 3, 8, 8) ** 2
    output = torch.rand(1, 3, 32, 32)
    matched = match_histograms(output, reference)
    for c in range(3):
        flat_out, flat_matched = output[0, c].flatten(), matched[0, c].flatten()
        order = flat_out.argsort()
        assert (flat_matched[order].diff() >= 0).all()  # monotone in the output's values
        assert matched[0, c].min() == pytest.approx(reference[0, c].min().item())
        assert matched[0, c].max() == pytest.approx(reference[0, c].max().item())
        expected = torch.quantile(reference[0, c].flatten(), torch.tensor([0.25, 0.5, 0.75]))
        assert torch.allclose(torch.quantile(flat_matched, torch.tensor([0.25, 0.5, 0.75])), expected, atol=0.02)
    assert torch.allclose(match_histograms(reference, reference), reference)


def test_histogram_matching_is_off_by_default_and_can_be_switched_on(tmp_path, tiny4):
    src = _photo(tmp_path / "h.png", (12, 10))
    assert _upscale("--model", tiny4, "--histogram-match", "-o", tmp_path / "on.png", src).exit_code == 0
    assert _upscale("--model", tiny4, "-o", tmp_path / "off.png", src).exit_code == 0
    on, off = (np.asarray(Image.open(tmp_path / n), dtype=np.float32) for n in ("on.png", "off.png"))
    lr = np.asarray(Image.open(src), dtype=np.float32)
    assert abs(on.mean() - lr.mean()) < abs(off.mean() - lr.mean())
    assert abs(on.mean() - lr.mean()) < 2


def test_refuses_to_overwrite_before_any_work(tmp_path):
    a, b = _photo(tmp_path / "a.png"), _photo(tmp_path / "b.png")
    (tmp_path / "b.x4-bicubic.png").write_bytes(b"keep me")
    result = _upscale("-x", "4", "--model", "bicubic", a, b)
    assert isinstance(result.exception, InputError) and "already exists" in str(result.exception)
    assert not (tmp_path / "a.x4-bicubic.png").exists()
    assert (tmp_path / "b.x4-bicubic.png").read_bytes() == b"keep me"
    forced = _upscale("-x", "4", "--model", "bicubic", "--force", a, b)
    assert forced.exit_code == 0 and Image.open(tmp_path / "b.x4-bicubic.png").size == (84, 60)


def test_folders_skip_earlier_outputs(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    _photo(folder / "a.png")
    assert _upscale("-x", "4", "--model", "bicubic", folder).exit_code == 0
    again = _upscale("-x", "4", "--model", "bicubic", "--force", folder)
    assert again.exit_code == 0 and again.output.splitlines() == [str(folder / "a.x4-bicubic.png")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "bicubic"], "needs the upscaling factor"),
        ([], "choose the upscaling factor"),
        (["--model", "nope"], "unknown super-resolution model 'nope'"),
        (["--model", "missing.safetensors"], "does not exist"),
        (["-x", "8", "--model", "TINY"], "upscales x4, not x8"),
    ],
)
def test_bad_model_choices_are_one_line_errors(tmp_path, tiny4, args, message):
    args = [str(tiny4) if a == "TINY" else a for a in args]
    result = _upscale(*args, _photo(tmp_path / "a.png"))
    assert isinstance(result.exception, InputError), result.output
    assert message in str(result.exception) and "\n" not in str(result.exception)


def test_a_style_model_file_is_refused(tmp_path):
    path = tmp_path / "style.safetensors"
    save_model_file(path, {"w": torch.zeros(1)}, {"architecture": "johnson", "config": {}, "task": "style"})
    result = _upscale("--model", path, _photo(tmp_path / "a.png"))
    assert isinstance(result.exception, InputError) and "'style' model" in str(result.exception)


def test_the_sr_image_task_upscales_batches(tiny4):
    task = plugins.registry("image_tasks").get("sr")
    assert task.selector == "scale" and task.tag({"scale": "4", "model": "bicubic"}) == "x4-bicubic"
    transform = task.prepare(scale="4", model=str(tiny4), histogram_match=True)
    batch = torch.rand(2, 3, 6, 5)
    out = transform(batch)
    assert transform.scale == 4 and out.shape == (2, 3, 24, 20)
    assert 0 <= out.min() and out.max() <= 1


def test_tiled_upscale_matches_untiled(tmp_path):
    """`--tile 72` cuts a 200x150 input into 3x3 overlapping tiles; the seams must not show."""
    model = save_sr_model(tmp_path / "m.safetensors", 4, seed=5)
    src = _photo(tmp_path / "big.png", (200, 150))
    for tile in ("off", "72"):
        result = _upscale("--model", model, "--tile", tile, "--no-histogram-match", "-o", tmp_path / f"{tile}.png", src)
        assert result.exit_code == 0, result.output
    whole = np.asarray(Image.open(tmp_path / "off.png")).astype(int)
    tiled = np.asarray(Image.open(tmp_path / "72.png")).astype(int)
    assert whole.shape == tiled.shape == (600, 800, 3)
    assert np.abs(whole - tiled).max() <= 1
    engine = load_upscaler(models.choose(str(model), None), tile="72").net
    assert engine.tile_for((1, 3, 150 + 2 * PAD, 200 + 2 * PAD)) == 72  # it really was tiled


def test_bad_tile_and_precision_values_are_one_line_errors(tmp_path, tiny4):
    src = _photo(tmp_path / "a.png")
    small = _upscale("--model", tiny4, "--tile", "8", src)
    assert small.exit_code != 0 and "--tile must be at least" in str(small.exception or small.output)
    bad = _upscale("--model", tiny4, "--precision", "fp64", src)
    assert bad.exit_code == 2 and "fp64" in bad.output


def test_sr_net_adds_detail_to_bicubic_and_keeps_the_papers_output_as_an_option():
    x = torch.rand(2, 3, 9, 11)
    untrained = sr_johnson(4, channels=8, residual_blocks=1).eval()
    bicubic = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.equal(untrained(x), bicubic)  # the last conv starts at zero
    paper = sr_johnson(8, channels=8, residual_blocks=1, skip="none").eval()
    y = paper(x)
    assert y.shape == (2, 3, 72, 88) and 0.5 - 150 / 255 <= y.min() and y.max() <= 0.5 + 150 / 255
    with pytest.raises(ValueError, match="skip must be one of"):
        sr_johnson(4, skip="bilinear")
