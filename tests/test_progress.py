"""Progress and feedback: the counted bar (`imgperc.cli.progress`) rendered on a fixed-width
console, the training bar, the engine's tile and compile notices, and library warnings."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import click
import torch
from rich.console import Console

from imgperc.cli.progress import TILES_AFTER_S, count_progress
from imgperc.inference import Engine, graph, tiling
from imgperc.inference.engine import observed
from imgperc.train.display import Display

from plugin_factory import activate, make_plugin
from test_inference import photo, tiny_style

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def terminal(width: int = 100) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)


def lines(console: Console) -> list[str]:
    """What a terminal would show: every line rich wrote (redraws separated), without escapes."""
    text = ANSI.sub("", console.file.getvalue())
    return [line.rstrip() for line in re.split(r"[\r\n]", text) if line.strip()]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_shows_the_mean_rate_since_it_started_and_its_eta():
    console = terminal()
    progress = count_progress("images", "images/s", console=console)
    progress.get_time = clock = Clock()
    bar = progress.add_task("stylize", total=6)
    clock.now = 4.0
    progress.advance(bar, 2)  # two images in 4 s, however fast the last step was
    console.print(progress.get_renderable())
    assert lines(console) == ["stylize ━━━━━━━━━━━━━                            2/6 images 0.50 images/s ETA 0:00:08"]


class TTY(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


def test_lines_printed_during_the_bar_go_above_it_not_onto_it(monkeypatch):
    stdout = TTY(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)
    console = terminal()
    with count_progress("images", "images/s", console=console) as progress:
        bar = progress.add_task("stylize", total=2)
        click.echo("styled2/hoovertowernight.wave.jpg")  # as `Listing` prints each file written
        progress.advance(bar)
    stdout.flush()
    assert stdout.buffer.getvalue() == b""  # not around the bar, straight onto the terminal
    shown = lines(console)
    assert "styled2/hoovertowernight.wave.jpg" in shown
    assert all(line.startswith("stylize") for line in shown if line != "styled2/hoovertowernight.wave.jpg")


def test_a_single_image_shows_its_tiles_after_two_seconds_and_then_clears():
    console = terminal()
    with count_progress("images", "images/s", enabled=False, feedback=True, console=console) as progress:
        progress.get_time = clock = Clock()
        progress.add_task("upscale", total=1)  # the bar of one image stays off
        progress.tiles(1, 8)
        assert progress.disable and console.file.getvalue() == ""  # nothing in the first seconds
        clock.now = TILES_AFTER_S + 0.5
        progress.tiles(2, 8)
        assert not progress.disable  # shown now, the tiles alone
        shown = terminal()
        shown.print(progress.get_renderable())
        assert lines(shown) == ["tiles ━━━━━━━━━━                               2/8 tiles 0.80 tiles/s ETA 0:00:08"]
        progress.tiles(8, 8)
        assert progress.disable and [task.description for task in progress.tasks] == ["upscale"]


def test_notices_show_only_with_feedback():
    for feedback in (True, False):
        console = terminal()
        with count_progress("frames", "fps", enabled=False, feedback=feedback, console=console) as progress:
            progress.notice("compiling the net for a new size (672x392): about 60 s, once")
        assert lines(console) == (["compiling the net for a new size (672x392): about 60 s, once"] if feedback else [])


def test_the_training_bar_labels_its_two_times():
    console = terminal(120)
    display = Display(True, console=console)
    display.start(10, 100)
    display.stop()
    assert lines(console)[-1].endswith("10/100 elapsed 0:00:00 ETA -:--:--")


def test_at_80_columns_the_loss_gives_way_not_the_count_or_times():
    console = terminal(80)
    display = Display(True, console=console)
    display.start(3, 200000)
    record = {"iteration": 4, "loss": {"total": 4.514e5, "content:relu2_2": 4.51e5, "tv": 28.6}, "images_per_s": 0.27}
    display.record(record, 200000)
    display.stop()
    line = lines(console)[-1]
    assert len(line) <= 80
    assert "4/200000 elapsed 0:00:00 ETA -:--:-- loss 4.514" in line and line.endswith("…")


def test_a_model_download_shows_one_bar_named_after_the_model_not_its_files(use_mirror, monkeypatch):
    from imgperc import hub
    from imgperc.hub import download

    console = terminal(100)
    monkeypatch.setattr(download, "Console", lambda **_: console)
    spec = hub.find_spec("udnie")
    assert len(spec.files) > 10  # a TF.js checkpoint: a manifest and a file per variable
    hub.pull(spec)
    shown = lines(console)
    assert shown and all(line.startswith("download udnie ") for line in shown), shown[:3]
    assert "6.7/6.7 MB" in shown[-1] and not any(remote.name in line for remote in spec.files for line in shown)


def test_the_vgg19_layers_download_under_one_bar_too(use_mirror, monkeypatch):
    from imgperc.hub import download
    from imgperc.losses.networks import vgg19

    console = terminal(100)
    monkeypatch.setattr(download, "Console", lambda **_: console)
    vgg19.fetch(("relu1_2",))  # the first group's shards and model.json: a few kB
    shown = lines(console)
    assert shown and all(line.startswith("download vgg19 ") for line in shown), shown[:3]


class Recorder:
    def __init__(self) -> None:
        self.notices: list[str] = []
        self.steps: list[tuple[int, int]] = []

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def tiles(self, done: int, total: int) -> None:
        self.steps.append((done, total))


def test_tiles_are_counted_over_every_pass():
    steps = []
    with torch.inference_mode():
        tiling.run_tiled(tiny_style(), photo(48, 48), tile=32, multiple=4, margin=16, feather=8, on_tile=lambda *step: steps.append(step))
    assert steps == [(done, 32) for done in range(1, 33)]  # 2 x 2 tiles, one pass per instance norm (7) and the last


def test_the_engine_tells_its_observer_of_each_tile():
    engine = Engine(torch.nn.Conv2d(3, 3, 1), device="cpu", precision="fp32", tile=72, compile="never")
    recorder = Recorder()
    with observed(recorder):
        engine.run(photo(80, 80))
    total = recorder.steps[-1][1]
    assert total > 1 and recorder.steps == [(done, total) for done in range(1, total + 1)]
    engine.run(photo(80, 80))  # nobody observing: nothing told
    assert len(recorder.steps) == total


def test_the_engine_says_once_when_it_compiles_for_a_new_size(monkeypatch):
    monkeypatch.setattr(graph, "compile_seconds", lambda device: 42.0)
    monkeypatch.setattr(graph, "load_compiled", lambda net, x, dtype: None)
    monkeypatch.setattr(graph, "compile_net", lambda net, x, dtype: lambda net, x: net(x))
    engine = Engine(tiny_style(), device="cpu", precision="fp32", tile=None, compile="always")
    recorder = Recorder()
    with observed(recorder):
        for _ in range(3):
            engine.run(photo(16, 16))
    assert len(recorder.notices) == 1
    assert re.fullmatch(r"compiling the net for a new size \(\d+x\d+\): about 42 s, once \(later runs of this size load it\)",
                        recorder.notices[0])


NOISY = '''
import logging
import types
import warnings

import click
from imgperc import hookimpl

library = types.ModuleType("somelibrary")  # a warning raised inside a third-party module
exec("import warnings\\ndef hello():\\n    warnings.warn('a library warning', UserWarning)", library.__dict__)


@click.command("noisy")
def noisy():
    logging.getLogger("torch.utils.cpp_extension").warning("No CUDA runtime is found, using CUDA_HOME='/usr/local'")
    library.hello()
    warnings.warn("imgperc's own warning", RuntimeWarning)
    click.echo("done")


@hookimpl
def register_commands(cli):
    cli.add_command(noisy)
'''


def test_library_warnings_show_only_with_verbose(tmp_path, monkeypatch):
    activate(make_plugin(tmp_path, "noisy", NOISY), monkeypatch)
    monkeypatch.setenv("IMGPERC_PLUGINS", "noisy")
    # torch first, as in a real run, so that its own logging handler is in place
    run = [sys.executable, "-c", "import sys, torch; from imgperc.cli.main import main; main(sys.argv[1:])"]
    quiet = subprocess.run([*run, "noisy"], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout == "done\n"
    assert "CUDA" not in quiet.stderr and "a library warning" not in quiet.stderr
    assert "imgperc's own warning" in quiet.stderr
    loud = subprocess.run([*run, "-v", "noisy"], capture_output=True, text=True)
    assert "No CUDA runtime is found" in loud.stderr and "a library warning" in loud.stderr
