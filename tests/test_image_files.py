"""The shared image-files command body (`imgperc.cli.image_files`, `imgperc.pipeline.files`) with a
plugin-style task, sharing inputs between processes, and `imgperc video` over several clips."""

from __future__ import annotations

import threading

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from imgperc.cli.image_files import ImageFilesCommand
from imgperc.cli.main import cli, main
from imgperc.errors import InputError, PluginError
from imgperc.inference.batching import auto_batch, same_size_batches
from imgperc.io import image as image_io
from imgperc_video.io import count_frames
from imgperc.pipeline import files as files_module
from imgperc.pipeline.files import transform_files
from imgperc.scaleout import Listing, share
from imgperc.tasks import ImageTask
from imgperc.train.runtime import Runtime

from plugin_factory import activate, make_plugin
from test_video_support import make_clip


class Double:
    """Nearest-neighbour x2 that records its batch shapes."""

    scale = 2

    def __init__(self, calls: list) -> None:
        self.calls = calls

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(batch.shape))
        return batch.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def _command(calls: list, *, takes_device: bool = False, broken: bool = False) -> click.Command:
    def prepare(double: bool, device: str = "auto") -> Double:
        calls.append(("device", device))
        transform = Double(calls)
        if broken:
            transform.scale = 3
        return transform

    def prepare_without_device(double: bool) -> Double:
        return prepare(double)

    task = ImageTask(
        name="double",
        help="Nearest-neighbour x2.",
        selector="double",
        options=(click.Option(["--double"], is_flag=True, help="Double the size."),),
        prepare=prepare if takes_device else prepare_without_device,
        tag=lambda values: "x2",
    )
    return ImageFilesCommand(task, "double", help="Double images.", catalogue=lambda: {"Kinds": [("nearest", "the only one")]})


def _photo(path, size=(6, 4)):
    w, h = size
    Image.fromarray((np.arange(w * h * 3).reshape(h, w, 3) * 7 % 256).astype(np.uint8)).save(path)
    return path


def test_a_plugin_task_gets_files_folders_batches_and_exact_sizes(tmp_path):
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    for name, size in (("a.png", (6, 4)), ("b.png", (6, 4)), ("c.png", (5, 3)), ("sub/d.png", (6, 4))):
        _photo(album / name, size)
    calls: list = []
    result = CliRunner().invoke(_command(calls, takes_device=True), ["--double", "-r", "--device", "cpu", str(album)])
    assert result.exit_code == 0, result.output
    names = ["a.x2.png", "b.x2.png", "c.x2.png", "sub/d.x2.png"]
    assert result.output.splitlines() == [str(album / name) for name in names]  # no progress bar: not a terminal
    assert [Image.open(album / name).size for name in names] == [(12, 8), (12, 8), (10, 6), (12, 8)]
    assert calls == [("device", "cpu"), (2, 3, 4, 6), (1, 3, 3, 5), (1, 3, 4, 6)]  # same-size neighbours batched


def test_device_reaches_only_tasks_that_take_it_and_bad_outputs_are_refused(tmp_path):
    src = _photo(tmp_path / "a.png")
    calls: list = []
    assert CliRunner().invoke(_command(calls), ["--double", "-q", "--device", "cpu", str(src)]).exit_code == 0
    assert calls[0] == ("device", "auto")
    result = CliRunner().invoke(_command([], broken=True), ["--double", "-o", str(tmp_path / "bad.png"), str(src)])
    assert isinstance(result.exception, PluginError) and "expected (1, 3, 12, 18)" in str(result.exception)
    assert not (tmp_path / "bad.png").exists()


def test_progress_shows_on_a_terminal_for_several_inputs_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "0")
    a, b = _photo(tmp_path / "a.png"), _photo(tmp_path / "b.png")
    several = CliRunner().invoke(_command([]), ["--double", str(a), str(b)])
    assert several.exit_code == 0, several.output
    assert "images/s" in several.output and "ETA" in several.output and "2/2" in several.output
    one = CliRunner().invoke(_command([]), ["--double", "--force", str(a)])
    assert one.output.splitlines() == [str(tmp_path / "a.x2.png")]
    quiet = CliRunner().invoke(_command([]), ["--double", "--force", "-q", str(a), str(b)])
    assert quiet.exit_code == 0 and quiet.output == ""


def test_help_lists_the_task_options_and_its_catalogue():
    text = CliRunner().invoke(_command([]), ["--help"]).output
    assert text.index("--double") < text.index("--output") < text.index("--quiet")
    assert "Kinds:" in text and "nearest" in text and "--size" not in text


def test_stylize_and_upscale_help_list_the_styles_and_models():
    stylize = CliRunner().invoke(cli, ["stylize", "--help"]).output
    assert "Styles (--style NAME):" in stylize and "  muse " in stylize and "  wave " in stylize
    upscale = CliRunner().invoke(cli, ["upscale", "--help"]).output
    assert "Models (--model NAME):" in upscale and "  bicubic " in upscale and "  x4-feat " in upscale


def test_each_process_takes_every_world_th_input():
    items = list("abcdefg")
    parts = [share(items, Runtime(torch.device("cpu"), rank, 3)) for rank in range(3)]
    assert parts[1] == [(1, "b"), (4, "e")]
    assert sorted(pair for part in parts for pair in part) == list(enumerate(items))


def test_a_lone_process_prints_each_line_at_once(capsys):
    listing = Listing(Runtime(torch.device("cpu")), quiet=False)
    listing.add(0, "first")
    assert capsys.readouterr().out == "first\n"
    listing.close("images")
    assert capsys.readouterr() == ("", "")


def test_batches_follow_a_pixel_budget_per_size():
    sizes = [(10, 10)] * 5 + [(1000, 1000)] * 3
    groups = list(same_size_batches(sizes, lambda s: s, lambda s: auto_batch(*s, scale=2)))
    assert [len(g) for g in groups] == [5, 1, 1, 1]
    assert auto_batch(10, 10) == 8 and auto_batch(1000, 1000, 1) == 2


def _files(tmp_path, sizes):
    """(index, (source, target)) items of photos of these sizes: one batch each when they differ."""
    return [(i, (_photo(tmp_path / f"in{i}.png", size), tmp_path / f"out{i}.png")) for i, size in enumerate(sizes)]


def test_the_next_batch_is_read_and_the_last_written_while_the_net_runs(tmp_path, monkeypatch):
    items = _files(tmp_path, [(6, 4), (5, 3), (7, 5)])
    second_read, threads = threading.Event(), {"read": set(), "write": set()}

    def read(path):
        threads["read"].add(threading.current_thread().name)
        if path == items[1][1][0]:
            second_read.set()
        return image_io.read_image(path)

    def write(path, image, **kwargs):
        threads["write"].add(threading.current_thread().name)
        image_io.write_image(path, image, **kwargs)

    monkeypatch.setattr(files_module, "read_image", read)
    monkeypatch.setattr(files_module, "write_image", write)
    seen_during_first_batch = []

    def net(batch):
        if not seen_during_first_batch:
            seen_during_first_batch.append(second_read.wait(timeout=30))
        return 1.0 - batch

    net.scale = 1
    done = list(transform_files(items, net))
    assert seen_during_first_batch == [True]  # the second photo was being read while the first ran
    assert done == [(i, target) for i, (_, target) in items]
    assert all(t.startswith("imgperc-read") for t in threads["read"]) and all(t.startswith("imgperc-write") for t in threads["write"])
    for _, (source, target) in items:
        assert np.array_equal(np.asarray(Image.open(target)), 255 - np.asarray(Image.open(source)))


def test_files_written_before_a_bad_read_or_write_are_reported_once(tmp_path, monkeypatch):
    items = _files(tmp_path, [(6, 4), (5, 3), (7, 5), (4, 4)])
    items[3][1][0].write_bytes(b"not an image")  # found while the batch of in1 runs (batching reads one ahead)
    invert = lambda batch: 1.0 - batch  # noqa: E731
    done = []
    with pytest.raises(InputError, match="in3.png"):
        done.extend(transform_files(items, invert, force=True))
    assert done == [(0, items[0][1][1]), (1, items[1][1][1])]  # in1's write was still pending at the error
    assert not items[2][1][1].exists()

    items = _files(tmp_path, [(6, 4), (5, 3), (7, 5)])

    def write(path, image, **kwargs):
        if path.name == "out1.png":
            raise InputError(f"cannot write {path}: disk full")
        image_io.write_image(path, image, **kwargs)

    monkeypatch.setattr(files_module, "write_image", write)
    done = []
    with pytest.raises(InputError, match="disk full"):
        done.extend(transform_files(items, invert, force=True))
    assert done == [(0, items[0][1][1])]


def test_an_unreadable_image_among_several_is_reported_and_the_others_are_written(tmp_path):
    album = tmp_path / "album"
    album.mkdir()
    _photo(album / "a.png")
    (album / "b.png").write_bytes(b"not an image")
    _photo(album / "c.png")
    result = CliRunner().invoke(_command([]), ["--double", str(album)])
    assert isinstance(result.exception, InputError) and "1 of 3 images could not be read" in str(result.exception)
    assert result.stderr.splitlines() == [f"Error: cannot read {album / 'b.png'}: not an image, or not in a format Pillow knows"]
    assert (album / "a.x2.png").exists() and (album / "c.x2.png").exists() and not (album / "b.x2.png").exists()

    alone = CliRunner().invoke(_command([]), ["--double", str(album / "b.png")])  # one input: just its error
    assert isinstance(alone.exception, InputError) and str(alone.exception).startswith("cannot read") and not alone.stderr


def test_ctrl_c_mid_folder_leaves_whole_files_only(tmp_path):
    items = _files(tmp_path, [(6, 4), (5, 3), (7, 5)])
    calls = []

    def net(batch):
        calls.append(batch.shape)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 1.0 - batch

    done = []
    with pytest.raises(KeyboardInterrupt):
        done.extend(transform_files(items, net))
    assert done == []  # in0's write was pending, not yet reported, when Ctrl-C came
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in0.png", "in1.png", "in2.png", "out0.png"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out0.png")), 255 - np.asarray(Image.open(tmp_path / "in0.png")))


INVERTER = """
import click
from imgperc import hookimpl
from imgperc.tasks import ImageTask


class Invert:
    scale = 1

    def __call__(self, batch):
        return 1.0 - batch


@hookimpl
def register_image_tasks(register):
    option = click.Option(["--invert"], is_flag=True)
    register("invert", ImageTask("invert", "Invert.", "invert", (option,), lambda invert: Invert(), lambda values: "inv"))
"""


@pytest.mark.parametrize("output", [None, "out"])
def test_video_takes_several_clips(tmp_path, tmp_path_factory, monkeypatch, capsys, output):
    monkeypatch.setenv("IMGPERC_PLUGINS", "video,inverter")
    activate(make_plugin(tmp_path_factory.mktemp("plugin"), "inverter", INVERTER), monkeypatch)
    clips = [make_clip(tmp_path / f"{name}.mp4", seconds=0.2, audio=None) for name in ("one", "two")]
    main(["video", "--invert", *map(str, clips), *(["-o", str(tmp_path / output)] if output else [])])
    folder = tmp_path / output if output else tmp_path
    targets = [folder / "one.inv.mp4", folder / "two.inv.mp4"]
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == list(map(str, targets))
    assert [count_frames(target) for target in targets] == [5, 5]
    with pytest.raises(SystemExit):
        main(["video", "--invert", *map(str, clips), "-o", str(tmp_path / "both.mp4")])
    assert "several videos need an output folder" in capsys.readouterr().err
