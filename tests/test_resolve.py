"""The core model resolver: hub id or alias, user model, file; the task checked; one-line errors."""

from __future__ import annotations

import pytest
import torch

from imgperc import plugins
from imgperc.errors import InputError, ModelNotAvailable
from imgperc.hub.resolve import model_names, resolve_model
from imgperc.hub.user import install_user_model
from imgperc.modelfile import save_model_file

CONFIG = {"channels": 4, "residual_blocks": 1}


def save_style(path, meta=None):
    """A tiny johnson style model file (``meta`` replaces the default metadata)."""
    net = plugins.registry("transform_nets").get("johnson")(**CONFIG)
    save_model_file(path, net.state_dict(), meta or {"architecture": "johnson", "config": CONFIG, "task": "style"})
    return path


def one_line_error(ref, task, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        resolve_model(ref, task, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_hub_id_or_alias_resolves_without_downloading(monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    by_alias = resolve_model("la_muse", "style")
    assert (by_alias.name, by_alias.spec.id, by_alias.path) == ("muse", "muse", None)
    assert resolve_model("muse", "style") == by_alias
    with pytest.raises(ModelNotAvailable, match="not installed"):
        by_alias.load()  # only loading fetches, and offline it may not


def test_a_builtin_hub_model_loads_with_what_its_spec_says():
    found = resolve_model("x4-feat", "sr")
    assert found.meta["task"] == "sr" and found.meta["scale"] == 4
    loaded = found.load()
    assert loaded.name == "x4-feat" and loaded.path == found.spec.builtin
    assert loaded.meta["scale"] == 4 and loaded.net.scale == 4 and not loaded.net.training


def test_a_user_model_resolves_by_name_and_is_listed(tmp_path):
    install_user_model(save_style(tmp_path / "a.safetensors"), "mine")
    found = resolve_model("mine", "style")
    assert found.name == "mine" and found.spec is None and found.meta["task"] == "style"
    assert model_names("style")[-1] == "mine" and "muse" in model_names("style")
    assert "mine" not in model_names("sr")
    assert found.load().net(torch.ones(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_a_file_resolves_by_path_to_its_stem(tmp_path):
    path = save_style(tmp_path / "wave-mine.safetensors")
    found = resolve_model(path, "style")
    assert (found.name, found.path, found.task) == ("wave-mine", path, "style")
    assert found.load().path == path


def test_a_model_of_another_task_is_refused_and_the_right_ones_listed(tmp_path):
    message = one_line_error("x4-pixel", "style", label="style")
    assert message.startswith("'x4-pixel' is a 'sr' model, not a style (known: ") and "muse" in message
    install_user_model(save_style(tmp_path / "a.safetensors"), "mine")
    message = one_line_error("mine", "sr")
    assert message.startswith("'mine' is a 'style' model, not a 'sr' model (known: ") and "x4-feat" in message
    path = save_style(tmp_path / "s.safetensors")
    assert one_line_error(str(path), "sr", label="super-resolution model").startswith(f"{path} is a 'style' model, not a super-resolution model")


def test_a_file_without_a_task_is_refused(tmp_path):
    path = save_style(tmp_path / "old.safetensors", {"architecture": "johnson", "config": CONFIG})
    assert one_line_error(path, "style") == f"{path} does not record its task (a 'style' model records task 'style')"


def test_an_unknown_name_lists_what_exists():
    message = one_line_error("vangogh", "sr", label="super-resolution model", also=("bicubic",))
    assert message.startswith("unknown super-resolution model 'vangogh' (known: bicubic, ")
    assert message.endswith("; or give a model file)") and "x4-feat" in message and "muse" not in message


def test_missing_files_folders_and_damaged_files_are_one_line_errors(tmp_path):
    assert one_line_error(tmp_path / "missing.safetensors", "style") == f"model file {tmp_path / 'missing.safetensors'} does not exist"
    assert one_line_error("sub/model", "style") == "model file sub/model does not exist"
    assert one_line_error(tmp_path, "style") == f"{tmp_path} is a folder, not a model file"
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    assert "not a valid imgperc model file" in one_line_error(tmp_path / "bad.safetensors", "style")
