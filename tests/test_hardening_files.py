"""Files on disk: a bad IMGPERC_HOME, temp files of killed runs, worker errors, pickled state."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from imgperc.atomic import atomic_path, check_writable, remove_stale, scratch_file
from imgperc.errors import InputError
from imgperc.train import checkpoint
from imgperc.train.data import BatchStream, batch_loader, list_images

from hardening_cli import one_error_line, run_cli

# --- IMGPERC_HOME ------------------------------------------------------------------------------


def test_a_home_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("IMGPERC_HOME", str(home))
    code, _, err = run_cli(capsys, "models", "pull", "muse")
    assert code == 1 and one_error_line(err) == f"Error: IMGPERC_HOME={home} is not a folder"


@pytest.fixture
def unwritable(tmp_path):
    """A folder this process cannot create anything in (root ignores mode bits: use sysfs)."""
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    if os.access(folder, os.W_OK):
        folder = Path("/sys/imgperc-test-home")
    yield folder
    (tmp_path / "ro").chmod(0o755)


def test_an_unwritable_home_is_one_line(unwritable, monkeypatch, capsys):
    monkeypatch.setenv("IMGPERC_HOME", str(unwritable / "home"))
    code, _, err = run_cli(capsys, "models", "pull", "muse")
    line = one_error_line(err)
    assert code == 1 and line.startswith(f"Error: IMGPERC_HOME={unwritable / 'home'}: cannot create")


def test_an_unwritable_output_folder_is_refused_before_any_work(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    if os.access(folder, os.W_OK):  # root ignores mode bits; sysfs still refuses new files
        folder = Path("/sys")
    try:
        with pytest.raises(InputError, match=f"cannot write in output folder {folder}: "):
            check_writable(folder / "out.png", overwrite=False)
    finally:
        (tmp_path / "ro").chmod(0o755)
    check_writable(tmp_path / "out.png", overwrite=False)
    assert list(tmp_path.iterdir()) == [tmp_path / "ro"]  # the probe leaves nothing behind


# --- temp files of killed runs -----------------------------------------------------------------

_WRITER = """
import sys, time
from imgperc.atomic import atomic_path, scratch_file
target = sys.argv[1]
scratch_file(target, "video")
with atomic_path(target) as tmp:
    tmp.write_bytes(b"partial")
    print("ready", flush=True)
    time.sleep(60)
"""


def test_temp_files_of_a_killed_run_are_removed_by_the_next_run(tmp_path):
    target = tmp_path / "out.mp4"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and all(name.startswith(f".out.{writer.pid}-") for name in left)
    assert any(n.endswith(".tmp.mp4") for n in left) and any(n.endswith(".video.mp4") for n in left)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    mine = scratch_file(tmp_path / "other.mp4", "video")  # another output's files are not touched
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.mp4", mine.name])
    assert target.read_bytes() == b"done"


def test_scratch_files_of_running_processes_are_kept(tmp_path):
    target = tmp_path / "loss_curve.png"
    live = scratch_file(target, "tmp")
    assert remove_stale(tmp_path) == [] and live.exists()
    user_file = tmp_path / ".loss_curve.notes.png"
    user_file.write_text("mine")
    with atomic_path(target, overwrite=True) as tmp:
        tmp.write_bytes(b"png")
    assert live.exists() and user_file.exists()


# --- training -----------------------------------------------------------------------------------


def _sample(pixels, rng):
    return (pixels[:, :4, :4],)


def test_worker_errors_are_the_same_one_line_error_as_in_process(tmp_path):
    (tmp_path / "a.png").write_bytes(b"junk")
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8junk")
    stream = BatchStream(list_images(tmp_path), _sample, batch_size=1, seed=0)
    messages = []
    for workers in (0, 1):
        with pytest.raises(InputError) as info:
            next(iter(batch_loader(stream, workers)))
        messages.append(str(info.value))
    assert messages[0] == messages[1] == "none of the 2 training images could be read"


def test_a_pickled_state_file_is_not_a_valid_checkpoint(tmp_path, recwarn):
    saved = checkpoint.save(tmp_path, 3, {"w": torch.ones(2)}, {"architecture": "x"}, {"rng": checkpoint.rng_state()})
    saved.state.write_bytes(pickle.dumps(print))  # a pickle that would call a global
    with pytest.raises(InputError) as info:
        checkpoint.load(saved)
    assert str(info.value) == f"{saved.state} is not a valid imgperc checkpoint"
    assert [str(w.message) for w in recwarn] == []
