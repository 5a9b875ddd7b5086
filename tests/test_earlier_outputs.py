"""Folders skip imgperc's own earlier outputs, whatever model or task tagged them (docs/scaling.md),
and keep the user's photos whose names merely hold a dot."""

from __future__ import annotations

from fnmatch import fnmatch

import click
import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image

from imgperc import plugins
from imgperc.cli.image_files import ImageFilesCommand
from imgperc.cli.main import cli
from imgperc.hub.user import install_user_model
from imgperc.modelfile import save_model_file
from imgperc.pipeline.files import output_tags
from imgperc.tasks import ImageTask


def _photo(path):
    Image.fromarray((np.arange(8 * 8 * 3).reshape(8, 8, 3) * 5 % 256).astype(np.uint8)).save(path)
    return path


def _album(folder, *names):
    folder.mkdir()
    for name in names:
        _photo(folder / name)
    return folder


def _user_model(tmp_path, name, task):
    source = tmp_path / f"{name}.safetensors"
    save_model_file(source, {"w": torch.zeros(1)}, {"architecture": "johnson", "task": task})
    install_user_model(source, name)


EARLIER = ("chicago.muse-fast.png", "chicago.x4.png", "chicago.x8-perceptual.png", "chicago.x4-bicubic.png", "chicago.udnie.png")
PHOTOS = ("chicago.png", "holiday.2019.png", "img.1.png")


def test_stylize_skips_earlier_outputs_of_other_styles_and_upscalers(tmp_path):
    photos = _album(tmp_path / "photos", *PHOTOS, *EARLIER)
    result = CliRunner().invoke(cli, ["stylize", "--style", "wave-fast", str(photos), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["chicago.wave-fast.png", "holiday.2019.wave-fast.png", "img.1.wave-fast.png"]


def test_upscale_skips_earlier_styles_and_user_models_outputs(tmp_path):
    _user_model(tmp_path, "my-style", "style")
    _user_model(tmp_path, "my-x4", "sr")
    photos = _album(tmp_path / "photos", *PHOTOS, *EARLIER, "chicago.my-style.png", "chicago.x4-my-x4.png", "chicago.wave-fast.png")
    result = CliRunner().invoke(cli, ["upscale", "-x", "4", "--model", "bicubic", "-q", str(photos), "-o", str(tmp_path / "big")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "big").iterdir()) == ["chicago.x4-bicubic.png", "holiday.2019.x4-bicubic.png", "img.1.x4-bicubic.png"]


class Invert:
    scale = 1

    def __call__(self, batch):
        return 1.0 - batch


def test_a_plugin_tasks_tag_patterns_are_skipped_by_every_command(tmp_path):
    option = click.Option(["--invert"], is_flag=True, help="Invert.")
    task = ImageTask("invert", "Invert.", "invert", (option,), lambda invert: Invert(), lambda values: "inv-1", tag_patterns=("inv-*",))
    plugins.registry("image_tasks").add("invert", task, "tests")
    tags = output_tags()
    assert "inv-*" in tags and "muse-fast" in tags
    assert all(any(fnmatch(tag, p) for p in tags) for tag in ("x4", "x4-fidelity", "x1.5", "x4-real-dn0.5"))
    photos = _album(tmp_path / "photos", "a.png", "a.inv-7.png", "a.x8.png")
    command = ImageFilesCommand(task, "invert", help="Invert images.")
    result = CliRunner().invoke(command, ["--invert", "-q", str(photos)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in photos.iterdir()) == ["a.inv-1.png", "a.inv-7.png", "a.png", "a.x8.png"]
    styled = CliRunner().invoke(cli, ["stylize", "--style", "muse-fast", "-q", str(photos)])
    assert styled.exit_code == 0, styled.output
    assert sorted(p.name for p in photos.glob("*.muse-fast.png")) == ["a.muse-fast.png"]


def test_a_folder_of_only_earlier_outputs_says_so_and_named_files_are_kept(tmp_path):
    photos = _album(tmp_path / "photos", "a.muse-fast.png", "a.x4.png")
    empty = CliRunner().invoke(cli, ["stylize", "--style", "wave-fast", str(photos)])
    assert empty.exit_code != 0 and "the folders hold only earlier imgperc outputs" in str(empty.exception)
    named = CliRunner().invoke(cli, ["stylize", "--style", "wave-fast", "-q", str(photos / "a.muse-fast.png")])
    assert named.exit_code == 0 and (photos / "a.muse-fast.wave-fast.png").is_file()
