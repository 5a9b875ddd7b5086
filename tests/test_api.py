"""The Python API `imgperc.stylize` and the shared image helpers of `imgperc.api`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import imgperc
from imgperc import plugins
from imgperc.api import resize_longest, transform_image
from imgperc.errors import InputError, PluginError
from imgperc.io import Image, read_image
from imgperc.modelfile import save_model_file
from imgperc_style.nets import JohnsonNet


def _picture(w=40, h=32, mode="RGB"):
    rng = np.random.default_rng(0)
    return PILImage.fromarray(rng.integers(0, 256, (h, w, len(mode)), dtype=np.uint8), mode)


@pytest.fixture
def tiny_model(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    meta = {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}, "task": "style"}
    save_model_file(path, JohnsonNet(channels=4, residual_blocks=1).state_dict(), meta)
    return path


def test_import_is_light_and_the_core_does_not_import_a_plugin():
    code = (
        "import sys, imgperc\n"
        "assert 'torch' not in sys.modules\n"
        "imgperc.stylize, imgperc.upscale, imgperc.load, imgperc.Model, imgperc.errors.InputError\n"
        "assert not any(name.startswith('imgperc_') for name in sys.modules), 'the core imports a plugin'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_stylize_a_pil_image_with_a_pretrained_style(use_mirror):
    out = imgperc.stylize(_picture(37, 23), "wave")
    assert isinstance(out, PILImage.Image)
    assert out.mode == "RGB" and out.size == (37, 23)


def test_stylize_a_path_keeps_alpha_and_resizes(tmp_path, tiny_model):
    src = tmp_path / "a.png"
    _picture(60, 30, "RGBA").save(src)
    out = imgperc.stylize(src, model=tiny_model, size=20)
    assert out.mode == "RGBA" and out.size == (20, 10)
    assert imgperc.stylize(str(src), model=tiny_model).size == (60, 30)


def test_stylize_an_imgperc_image_and_strength_zero(tmp_path, tiny_model):
    src = tmp_path / "b.png"
    _picture().save(src)
    image = read_image(src)
    same = imgperc.stylize(image, model=tiny_model, strength=0.0)
    assert np.array_equal(np.asarray(same), np.asarray(PILImage.open(src)))
    assert not np.array_equal(np.asarray(imgperc.stylize(image, model=tiny_model)), np.asarray(same))


def test_stylize_goes_through_the_image_task_registry(monkeypatch):
    monkeypatch.setenv("IMGPERC_PLUGINS", "")
    plugins.reset()
    with pytest.raises(PluginError, match="the 'style' image task is not available: install or enable the plugin that provides it"):
        imgperc.stylize(_picture())


def test_stylize_rejects_bad_arguments(tiny_model):
    with pytest.raises(InputError, match="strength"):
        imgperc.stylize(_picture(), model=tiny_model, strength=2.0)
    with pytest.raises(InputError, match="PIL image, a path"):
        imgperc.stylize(42, model=tiny_model)
    with pytest.raises(InputError, match="unknown style 'nope'"):
        imgperc.stylize(_picture(), "nope")


def test_style_task_prepares_a_scale_1_transform(tiny_model):
    task = plugins.registry("image_tasks").get("style")
    assert task.selector == "style"
    assert {o.name for o in task.options} == {"style", "model", "preserve_color", "strength", "precision", "tile",
                                              "style_image", "style_mix", "style_size"}
    assert task.tag({"style": "la_muse"}) == "muse" and task.tag({"model": str(tiny_model)}) == "tiny"
    transform = task.prepare(model=tiny_model, preserve_color=True, strength=0.5)
    assert transform.scale == 1
    batch = torch.rand(3, 3, 21, 13)
    assert transform(batch).shape == batch.shape


def test_resize_longest_and_transform_image_keep_alpha():
    image = Image(pixels=torch.rand(3, 30, 60), alpha=torch.rand(1, 30, 60), grayscale=True)
    small = resize_longest(image, 15)
    assert small.size == (15, 8) and small.alpha.shape == (1, 8, 15)
    assert resize_longest(image, 60) is image

    class Double:
        scale = 2

        def __call__(self, batch):
            return torch.nn.functional.interpolate(batch, scale_factor=2)

    big = transform_image(Double(), small)
    assert big.size == (30, 16) and big.alpha.shape == (1, 16, 30) and not big.grayscale
