"""A first hour without the paper's loss network: the defaults fall back to one that can be had,
a run that never reached a checkpoint blocks nothing, and a failed download is one line that
says what to do (issue 25, items 1 and 7)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from imgperc import hub
from imgperc.cli.main import main
from imgperc.errors import ModelNotAvailable
from imgperc.losses import resolve_recipe, with_available_network
from imgperc.modelfile import read_metadata

from conftest import DATA_DIR, random_images

TINY_SR = ["--scale", "4", "--patch-size", "32", "--channels", "4", "--residual-blocks", "1", "--batch-size", "2",
           "--iterations", "1", "--workers", "0", "--preview-every", "0", "--log-every", "1", "--precision", "fp32"]
NOTE = "Note: could not download model 'vgg16': vgg16-397923af.pth: HTTP 404"


@pytest.fixture
def photos(tmp_path):
    return random_images(tmp_path / "photos", [(36, 40)] * 2, seed=0)


def _run(capsys, *args):
    """``imgperc ARGS`` in this process: (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _notes(err):
    return [line for line in err.splitlines() if line.startswith("Note:")]


# ---------------------------------------------------------------- the default loss network falls back


def test_train_sr_default_falls_back_to_vgg19_and_records_it(use_mirror, tmp_path, photos, capsys):
    out = tmp_path / "run"
    code, _, err = _run(capsys, "train", "sr", "--data", photos, "--out", out, *TINY_SR)
    assert code == 0, err
    (note,) = _notes(err)
    assert note.startswith(NOTE) and note.endswith("; using loss network vgg19 (preset sr-feat-vgg19) instead (--loss-network chooses one)")
    meta = read_metadata(out / "model.safetensors")
    assert meta["loss_network"] == "vgg19" and meta["recipe"]["name"] == "sr-feat-vgg19"
    assert json.loads((out / "run.json").read_text())["job"]["recipe"]["network"] == "vgg19"


def test_train_style_default_falls_back_to_vgg19(use_mirror, tmp_path, photos, capsys):
    out = tmp_path / "run"
    code, _, err = _run(capsys, "train", "style", "--style-image", DATA_DIR / "styles" / "mosaic.jpg", "--data", photos,
                        "--out", out, "--image-size", "16", "--channels", "4", "--residual-blocks", "1", *TINY_SR[6:])
    assert code == 0, err
    (note,) = _notes(err)
    assert note.startswith(NOTE) and "using loss network vgg19 (preset vgg19-relu3) instead" in note
    assert read_metadata(out / "model.safetensors")["recipe"]["name"] == "vgg19-relu3"


def test_gatys_default_falls_back_to_vgg19(use_mirror, tmp_path, capsys):
    content = DATA_DIR / "content" / "chicago.jpg"
    target = tmp_path / "out.png"
    code, out, err = _run(capsys, "gatys", content, "--style", DATA_DIR / "styles" / "mosaic.jpg", "-o", target,
                          "--size", 16, "--iterations", 1)
    assert code == 0, err
    assert out.splitlines() == [str(target)] and len(_notes(err)) == 1 and "preset vgg19-relu3" in err
    assert json.loads((tmp_path / "out.png.json").read_text())["recipe"]["network"] == "vgg19"


def test_a_named_loss_network_never_falls_back(use_mirror, tmp_path, photos, capsys):
    out = tmp_path / "run"
    code, _, err = _run(capsys, "train", "sr", "--data", photos, "--out", out, "--loss-network", "vgg16", *TINY_SR)
    assert code == 1 and err.count("\n") == 1 and not _notes(err)
    assert err.startswith("Error: could not download model 'vgg16': vgg16-397923af.pth: HTTP 404 from ")
    assert f"check that IMGPERC_MIRROR={use_mirror.url} holds its files" in err and "IMGPERC_OFFLINE=1" in err
    assert err.rstrip().endswith("or choose another --loss-network (vgg19)")
    assert not out.exists()  # refused before any work


def test_offline_with_nothing_installed_says_what_was_tried(monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    with pytest.raises(ModelNotAvailable) as info:
        with_available_network(lambda network: resolve_recipe(network=network), fallback=True)
    message = str(info.value)
    assert "\n" not in message and message.startswith("model 'vgg16' is not installed and IMGPERC_OFFLINE=1 forbids downloading it; ")
    assert message.endswith("; vgg19, which would stand in for it, cannot be had either")


def test_offline_falls_back_to_the_installed_vgg19(use_mirror, monkeypatch, capsys):
    with_available_network(lambda network: resolve_recipe(network=network or "vgg19"), fallback=False)  # installs relu1..3
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    use_mirror.requests.clear()
    recipe = with_available_network(lambda network: resolve_recipe(network=network), fallback=True)
    assert recipe.name == "vgg19-relu3" and use_mirror.requests == []
    (note,) = _notes(capsys.readouterr().err)
    assert note.startswith("Note: model 'vgg16' is not installed and IMGPERC_OFFLINE=1 forbids downloading it; using loss network vgg19")


# ---------------------------------------------------------------- run folders


def test_a_run_that_never_reached_a_checkpoint_restarts_with_new_options(tmp_path, photos, capsys, monkeypatch):
    from imgperc_sr.train import SRJob

    out = tmp_path / "run"

    def sr(loss, *more):
        return ["train", "sr", "--data", photos, "--out", out, "--loss", loss, *TINY_SR, *more]

    pixel = sr("pixel")
    original = SRJob.setup

    def fails(self, device):
        raise ModelNotAvailable("the loss network is not here")

    monkeypatch.setattr(SRJob, "setup", fails)
    code, _, err = _run(capsys, *pixel)
    assert code == 1 and (out / "run.json").is_file() and not (out / "checkpoints").exists()
    monkeypatch.setattr(SRJob, "setup", original)
    code, _, err = _run(capsys, *pixel, "--batch-size", "3")
    assert code == 0, err
    assert f"run folder {out} never reached its first checkpoint: starting it over with these options" in err.splitlines()
    assert json.loads((out / "run.json").read_text())["batch_size"] == 3
    # a run with a checkpoint is kept: other options are refused, named as the user sets them
    code, _, err = _run(capsys, *pixel, "--batch-size", "2", "--seed", "5")
    assert code == 1 and err.count("\n") == 1
    assert f"run folder {out} holds a run with different --batch-size (3 there, 2 now), --seed (0 there, 5 now); " in err
    assert "job" not in err
    code, _, err = _run(capsys, *sr("l1", "--batch-size", "3"))
    assert code == 1 and "different --loss/--preset (sr-pixel there, sr-l1 now);" in err


# ---------------------------------------------------------------- download errors


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_failed_download_is_one_line_with_the_built_in_alike():
    env = {"IMGPERC_MIRROR": _closed_port(), "IMGPERC_DOWNLOAD_TIMEOUT": "2"}
    result = subprocess.run([sys.executable, "-m", "imgperc", "models", "pull", "muse"], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: could not download model 'muse': manifest.json: download failed after 3 tries "
                           "(cannot reach 127.0.0.1:")
    assert "(Connection refused)" in line and "Pool" not in line and "Max retries" not in line
    assert line.endswith(f"; the built-in 'muse-fast' works offline; or check that IMGPERC_MIRROR={env['IMGPERC_MIRROR']} "
                         "holds its files; IMGPERC_OFFLINE=1 uses installed and built-in models only (`imgperc models list`)")


def test_offline_errors_name_the_built_in_alike(monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    with pytest.raises(ModelNotAvailable) as info:
        hub.ensure("muse")
    assert str(info.value) == ("model 'muse' is not installed and IMGPERC_OFFLINE=1 forbids downloading it; the built-in "
                               "'muse-fast' works offline; or run `imgperc models pull muse` with network access (or IMGPERC_MIRROR set)")


def test_vgg16_is_pinned_by_its_full_sha256():
    remote = hub.find_spec("vgg16").files[0]
    assert remote.name == "vgg16-397923af.pth"
    assert remote.sha256 == "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0"
