"""`imgperc.load` (a model loaded once, called on any kind of image), `imgperc.upscale`, the
models `stylize`/`upscale` keep loaded, and the default style the CLI and the library share."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image as PILImage

import imgperc
from imgperc import api, model, plugins
from imgperc.cli.main import cli
from imgperc.errors import ImgpercError, InputError, PluginError
from imgperc.hub.resolve import ResolvedModel
from imgperc.io import read_image
from imgperc.modelfile import save_model_file
from imgperc_style.nets import JohnsonNet

STYLE = "muse-fast"  # built in: no download
SR = "x4-fidelity"


def _array(h=20, w=24, channels=3, dtype=np.uint8):
    rng = np.random.default_rng(0)
    values = rng.random((h, w, channels) if channels else (h, w))
    if dtype == np.uint8:
        return (values * 255).round().astype(np.uint8)
    if dtype == np.uint16:
        return (values * 65535).round().astype(np.uint16)
    return values.astype(dtype)


@pytest.fixture(autouse=True)
def offline_and_no_cached_models(monkeypatch):
    """Built-in models only (nothing may be downloaded), and no model kept from another test."""
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    api.clear_model_cache()
    yield
    api.clear_model_cache()


@pytest.fixture
def loads(monkeypatch):
    """The names of the models built from their files, in order (the one costly step of a load)."""
    names: list[str] = []
    real = ResolvedModel.load

    def counting(self):
        names.append(self.name)
        return real(self)

    monkeypatch.setattr(ResolvedModel, "load", counting)
    return names


@pytest.fixture
def tiny_style(tmp_path):
    path = tmp_path / "tiny.safetensors"
    meta = {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}, "task": "style"}
    save_model_file(path, JohnsonNet(channels=4, residual_blocks=1).state_dict(), meta)
    return path


def test_load_infers_the_task_and_has_a_useful_repr():
    styler, upscaler = imgperc.load(STYLE, device="cpu"), imgperc.load(SR, device="cpu", precision="fp32")
    assert (styler.id, styler.task, styler.architecture, styler.device) == (STYLE, "style", "light", "cpu")
    assert (upscaler.id, upscaler.task, upscaler.precision) == (SR, "sr", "fp32")
    assert repr(upscaler) == "imgperc.Model(id='x4-fidelity', task='sr', architecture='sr-shuffle', device='cpu', precision='fp32')"
    assert isinstance(styler, imgperc.Model)


def test_a_model_returns_the_kind_it_is_given(tmp_path):
    styler = imgperc.load(STYLE)
    pil = PILImage.fromarray(_array())
    out = styler(pil)
    assert isinstance(out, PILImage.Image) and out.size == (24, 20) and out.mode == "RGB"
    path = tmp_path / "photo.png"
    PILImage.fromarray(_array(channels=4), "RGBA").save(path)
    assert styler(path).mode == "RGBA" and styler(str(path)).size == (24, 20)
    assert isinstance(styler(read_image(path)), PILImage.Image)
    for array in (_array(), _array(dtype=np.uint16), _array(dtype=np.float32), _array(channels=4)):
        styled = styler(array)
        assert styled.dtype == array.dtype and styled.shape == array.shape
    assert styler(_array(channels=0)).shape == (20, 24, 3)  # gray in, colour out: a style colours
    batch = torch.rand(2, 3, 20, 24)
    assert styler(batch).shape == batch.shape and styler(batch[0]).shape == batch[0].shape
    assert styler(batch.double()).dtype == torch.float64
    assert np.array_equal(np.asarray(styler(pil)), np.asarray(imgperc.stylize(pil)))  # the default style


def test_an_upscaler_keeps_gray_and_bit_depth():
    upscaler = imgperc.load(SR)
    assert upscaler(_array(channels=0)).shape == (80, 96)
    deep = upscaler(_array(channels=2, dtype=np.uint16))
    assert deep.shape == (80, 96, 2) and deep.dtype == np.uint16
    assert upscaler(torch.rand(1, 3, 10, 12), scale=4).shape == (1, 3, 40, 48)


def test_options_size_tile_and_task_options():
    styler = imgperc.load(STYLE)
    array = _array(40, 60)
    assert styler(array, size=30).shape == (20, 30, 3)
    assert styler(torch.rand(1, 3, 40, 60), size=30).shape == (1, 3, 20, 30)
    assert np.array_equal(styler(array, strength=0.0), array)
    assert styler(array, preserve_color=True, tile="off").shape == array.shape


def test_calls_reuse_the_engine_per_tile_and_the_transform_per_option_set(monkeypatch, loads):
    engines = []

    class Counted(model.Engine):
        def __init__(self, *args, **kwargs):
            engines.append(kwargs.get("tile"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(model, "Engine", Counted)
    styler = imgperc.load(STYLE)
    array = _array()
    for strength in (1.0, 0.5, 1.0, 0.5):
        styler(array, strength=strength)
    assert loads == [STYLE] and engines == ["auto"]
    styler(array, tile=96)
    styler(array, tile="96")
    assert engines == ["auto", 96]


def test_to_moves_the_model_and_can_change_the_precision(loads):
    styler = imgperc.load(STYLE)
    assert styler.to("cpu", precision="fp32") is styler
    assert (styler.device, styler.precision) == ("cpu", "fp32")
    assert styler.to(torch.device("cpu")).device == "cpu"
    assert styler(_array()).shape == (20, 24, 3)
    assert loads == [STYLE]  # moving is not loading
    with pytest.raises(InputError, match="unknown precision 'fp8'"):
        styler.to("cpu", precision="fp8")
    assert styler.precision == "fp32"
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            styler.to("cuda")


def test_stylize_and_upscale_load_each_model_once(loads, tiny_style):
    array = _array(8, 8)
    for _ in range(3):
        imgperc.stylize(array)
        imgperc.upscale(array)
    assert loads == [STYLE, "x4-perceptual"]
    imgperc.upscale(array, scale=8)
    imgperc.upscale(array, model=SR)
    imgperc.stylize(array, model=tiny_style)  # the fifth model: the least recently used goes
    assert loads[2:] == ["x8-perceptual", SR, "tiny"]
    imgperc.stylize(array)
    assert loads[-1] == STYLE and len(loads) == 6


def test_a_cached_model_file_that_changes_is_loaded_again(loads, tiny_style):
    first = imgperc.stylize(_array(), model=tiny_style)
    torch.manual_seed(1)
    save_model_file(tiny_style, JohnsonNet(channels=4, residual_blocks=1).state_dict(),
                    {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}, "task": "style"})
    second = imgperc.stylize(_array(), model=tiny_style)
    assert loads == ["tiny", "tiny"] and not np.array_equal(first, second)


def test_upscale_returns_the_scale_it_was_asked_for():
    pil = PILImage.fromarray(_array(8, 10))
    assert imgperc.upscale(pil).size == (40, 32)
    assert imgperc.upscale(pil, 8).size == (80, 64)
    assert imgperc.upscale(pil, model="x8-fidelity").size == (80, 64)
    assert imgperc.upscale(pil, 4, model=SR, histogram_match=True, tile="off").size == (40, 32)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: imgperc.load("nope"), InputError, "unknown model 'nope' \\(known: .*muse-fast"),
        (lambda: imgperc.load("vgg16"), PluginError, "'vgg16' is a 'loss-network' model, and no enabled plugin provides"),
        (lambda: imgperc.load(STYLE)(_array(), scale=4), InputError,
         "unknown option 'scale' for a style model \\(options: size, tile, preserve_color, strength\\)"),
        (lambda: imgperc.load(STYLE)(_array(), strength=2.0), InputError, "strength must be between 0 and 1"),
        (lambda: imgperc.load(STYLE)(_array(), tile="big"), InputError, "--tile must be a number of pixels"),
        (lambda: imgperc.load(STYLE)(42), InputError, "expected a PIL image, a path, a numpy array or a torch tensor, not int"),
        (lambda: imgperc.load(STYLE)(_array().astype(np.int32)), InputError, "expected a uint8, uint16 or float array, not int32"),
        (lambda: imgperc.load(STYLE)(np.zeros((4, 4, 5), np.uint8)), InputError, "1 to 4 channels, got shape \\(4, 4, 5\\)"),
        (lambda: imgperc.load(STYLE)(np.full((4, 4, 3), 2.0)), InputError, "a float array must hold values in \\[0, 1\\]"),
        (lambda: imgperc.load(STYLE)(torch.zeros(1, 4, 8, 8)), InputError, "expected a float tensor \\[N,3,H,W\\]"),
        (lambda: imgperc.load(STYLE)("missing.png"), InputError, "missing.png: no such file"),
        (lambda: imgperc.load(STYLE, device="tpu"), InputError, "unknown device 'tpu'"),
        (lambda: imgperc.load(STYLE, precision="fp8"), InputError, "unknown precision 'fp8'"),
        (lambda: imgperc.stylize(_array(), "nope"), InputError, "unknown style 'nope'"),
        (lambda: imgperc.stylize(_array(), model=SR), InputError, "'x4-fidelity' is a 'sr' model, not a style"),
        (lambda: imgperc.upscale(_array(), 8, model=SR), InputError, "upscales x4, not x8"),
        (lambda: imgperc.upscale(_array(), 3), ImgpercError, "no built-in x3 super-resolution model"),
    ],
)
def test_errors_are_the_typed_errors_the_cli_shows(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_model_file_is_loaded_by_path_and_its_task_read_from_it(tmp_path, tiny_style):
    styler = imgperc.load(tiny_style)
    assert (styler.id, styler.task, styler.architecture) == ("tiny", "style", "johnson")
    untagged = tmp_path / "untagged.safetensors"
    save_model_file(untagged, JohnsonNet(channels=4, residual_blocks=1).state_dict(),
                    {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}})
    with pytest.raises(InputError, match="does not record its task$"):
        imgperc.load(untagged)


def test_a_task_without_bind_cannot_be_loaded(tiny_style):
    from imgperc.hub import resolve_model
    from imgperc.tasks import ImageTask

    task = ImageTask(name="style", help="", selector="style", options=(), prepare=lambda **values: None, tag=lambda values: "")
    with pytest.raises(PluginError, match="the 'style' image task cannot be loaded as a model \\(its plugin gives no ImageTask.bind\\)"):
        model.Model(task, resolve_model(tiny_style, "style"))


def test_without_the_plugin_load_says_which_task_is_missing(monkeypatch, tiny_style):
    monkeypatch.setenv("IMGPERC_PLUGINS", "")
    plugins.reset()
    with pytest.raises(PluginError, match="no enabled plugin provides a 'style' image task \\(image tasks: none;"):
        imgperc.load(tiny_style)
    with pytest.raises(PluginError, match="the 'sr' image task is not available"):
        imgperc.upscale(_array())


def test_the_cli_and_the_library_default_to_the_same_built_in_style(tmp_path):
    src = tmp_path / "photo.png"
    PILImage.fromarray(_array()).save(src)
    result = CliRunner().invoke(cli, ["stylize", str(src)])
    assert result.exit_code == 0, result.output
    assert "No --style given: using the built-in fast style 'muse-fast' (styles: `imgperc stylize --help`)" in result.stderr
    written = np.asarray(PILImage.open(tmp_path / "photo.muse-fast.png"))
    assert np.array_equal(written, np.asarray(imgperc.stylize(src)))
    quiet = CliRunner().invoke(cli, ["stylize", "-q", "-o", str(tmp_path / "q.png"), str(src)])
    assert quiet.exit_code == 0 and quiet.output == ""
    named = CliRunner().invoke(cli, ["stylize", "--style", "wave-fast", "-q", str(src)])
    assert named.exit_code == 0 and "No --style" not in named.output
