"""`imgperc video` end to end with tasks from a test plugin (not the style task): the command
builds its options from whatever tasks are registered, keeps rate / audio / rotation, and never
leaves a partial output behind."""

from __future__ import annotations

import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from imgperc.cli.main import main
from imgperc.modelfile import load_model_file, save_model_file
from imgperc_video.io import count_frames, probe

from plugin_factory import activate, make_plugin
from test_video_support import audio_seconds, corrupt_halfway, make_clip, read_all

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"

TASKS = '''
import click
import torch
from imgperc import hookimpl
from imgperc.tasks import ImageTask


class Invert:
    scale = 1

    def __call__(self, batch):
        return 1.0 - batch


class Nearest2x:
    scale = 2

    def __call__(self, batch):
        return batch.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


class Jitter:
    """Flickers on purpose: fresh noise on every frame."""
    scale = 1

    def __init__(self):
        self.g = torch.Generator().manual_seed(0)

    def __call__(self, batch):
        return (batch + 0.25 * torch.rand(batch.shape, generator=self.g)).clamp(0, 1)


class Interrupted:
    scale = 1
    calls = 0

    def __call__(self, batch):
        Interrupted.calls += 1
        if Interrupted.calls == 3:
            raise KeyboardInterrupt
        return batch


def model_option():
    return click.Option(["--model"], help="Shared by several tasks.")


def tag(name):
    return lambda values: name + (f"-{values['model']}" if values.get("model") else "")


@hookimpl
def register_image_tasks(register):
    register("invert", ImageTask("invert", "Invert colours.", "invert",
        (click.Option(["--invert"], is_flag=True), model_option()), lambda invert, model: Invert(), tag("inv")))
    register("double", ImageTask("double", "Nearest-neighbour 2x.", "double",
        (click.Option(["-d", "--double"], is_flag=True), model_option()), lambda double, model: Nearest2x(), tag("x2")))
    register("jitter", ImageTask("jitter", "Noise on every frame.", "jitter",
        (click.Option(["--jitter"], is_flag=True),), lambda jitter: Jitter(), tag("jit")))
    register("stop", ImageTask("stop", "Ctrl-C after two batches.", "stop",
        (click.Option(["--stop"], is_flag=True),), lambda stop: Interrupted(), tag("stop")))
'''


@pytest.fixture(autouse=True)
def test_tasks(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("IMGPERC_PLUGINS", "video,videotasks")  # no style task: these tasks only
    activate(make_plugin(tmp_path_factory.mktemp("plugin"), "videotasks", TASKS), monkeypatch)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("source") / "clip.mp4")


def video(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(["video", *map(str, args)])
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def only(folder, *names):
    return sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_a_non_style_task_keeps_frames_rate_and_audio(clip, tmp_path, capsys):
    source = tmp_path / "clip.mp4"
    source.write_bytes(clip.read_bytes())
    code, out, err = video(capsys, "--invert", source)
    assert code == 0, err
    target = tmp_path / "clip.inv.mp4"
    assert out.strip() == f"{target}: 50 frames, 64x48, 25 fps, audio copied"
    info = probe(target)
    assert (info.width, info.height, info.fps, info.has_audio) == (64, 48, Fraction(25), True)
    assert count_frames(target) == 50
    assert abs(audio_seconds(target) - audio_seconds(source)) <= 1 / 25
    assert abs(audio_seconds(target) - count_frames(target) / 25) <= 1 / 25
    inverted = read_all(target).astype(float)
    assert np.abs(inverted - (255 - read_all(source).astype(float))).mean() < 6
    assert only(tmp_path, "clip.mp4", "clip.inv.mp4")


def test_scale_two_task_gives_twice_the_size_and_shared_options_reach_it(clip, tmp_path, capsys):
    code, out, err = video(capsys, "-d", "--model", "m1", clip, "-o", tmp_path / "big.mkv", "--duration", "0.4")
    assert code == 0, err
    info = probe(tmp_path / "big.mkv")
    assert (info.width, info.height) == (128, 96)
    assert count_frames(tmp_path / "big.mkv") == 10
    code, out, err = video(capsys, "--double", "--model", "m2", clip, "--start", "1.5", "--force")
    assert out.startswith(f"{clip.parent / 'clip.x2-m2.mp4'}: 13 frames, 128x96")
    (clip.parent / "clip.x2-m2.mp4").unlink()


def test_options_come_from_every_registered_task_once(capsys):
    code, out, _ = video(capsys, "--help")
    assert code == 0
    assert out.count("--model") == 1
    for flag in ("--invert", "-d, --double", "--jitter", "--consistency", "--crf", "--preset"):
        assert flag in out
    assert "-d/--double  Nearest-neighbour 2x." in out


def test_the_preset_reaches_the_encoder_and_an_unknown_one_is_refused(clip, tmp_path, capsys):
    code, _, err = video(capsys, "--invert", clip, "-o", tmp_path / "fast.mkv", "--duration", "0.2", "--preset", "ultrafast")
    assert code == 0, err
    assert b" subme=0 " in (tmp_path / "fast.mkv").read_bytes()  # x264's settings string: ultrafast
    code, _, err = video(capsys, "--invert", clip, "-o", tmp_path / "x.mkv", "--preset", "quick")
    assert code == 2 and "Invalid value for '--preset': 'quick' is not one of 'ultrafast'," in err
    assert only(tmp_path, "fast.mkv")


def test_exactly_one_task_must_be_chosen(clip, tmp_path, capsys):
    code, _, err = video(capsys, clip, "-o", tmp_path / "x.mp4")
    assert code == 1
    assert err.startswith("Error: say what to do with the video: --invert (invert), -d/--double (double)")
    code, _, err = video(capsys, "--invert", "--double", clip, "-o", tmp_path / "x.mp4")
    assert (code, err.strip()) == (1, "Error: give only one task, not --invert and -d/--double")
    assert only(tmp_path)


def test_never_overwrites_without_force(clip, tmp_path, capsys):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"precious")
    code, _, err = video(capsys, "--invert", clip, "-o", target)
    assert code == 1 and "already exists (use --force to overwrite)" in err
    assert target.read_bytes() == b"precious"
    code, _, err = video(capsys, "--invert", clip, "-o", target, "--duration", "0.2", "--force")
    assert code == 0, err
    assert count_frames(target) == 5
    code, _, err = video(capsys, "--invert", clip, "-o", tmp_path / "out.avi")
    assert code == 1 and "cannot write '.avi' videos" in err
    (tmp_path / "notes").write_text("precious")  # a file without extension is neither a video name nor a folder
    code, _, err = video(capsys, "--invert", clip, "-o", tmp_path / "notes")
    assert code == 1 and err == f"Error: {tmp_path / 'notes'} has no video extension (.mp4, .m4v, .mov, .mkv) and is not a folder\n"
    assert (tmp_path / "notes").read_text() == "precious"


@pytest.mark.parametrize("output", ["existing", "new", "new/deeper/out.mp4"])
def test_one_clip_goes_into_an_output_folder_or_a_new_one(output, clip, tmp_path, capsys):
    (tmp_path / "existing").mkdir()
    code, out, err = video(capsys, "--invert", clip, "-o", tmp_path / output, "--duration", "0.2")
    assert code == 0, err
    target = tmp_path / output if output.endswith(".mp4") else tmp_path / output / "clip.inv.mp4"
    assert out.startswith(f"{target}: 5 frames")


@pytest.mark.parametrize("kind", ["text", "audio-only", "truncated", "garbage", "late-start", "bad-time"])
def test_bad_inputs_fail_in_one_line_and_leave_nothing(kind, clip, tmp_path, capsys):
    from test_video_support import ffmpeg

    source, extra = tmp_path / "in.mp4", []
    if kind == "text":
        source.write_text("hello\n" * 100)
    elif kind == "audio-only":
        source = tmp_path / "in.m4a"
        ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", str(source))
    elif kind in ("truncated", "garbage"):
        long = make_clip(tmp_path / "long.mp4", size="160x120", seconds=4.0, audio=None)
        corrupt_halfway(long, source, truncate=kind == "truncated")
        long.unlink()
    else:
        source.write_bytes(clip.read_bytes())
        extra = ["--start", "9"] if kind == "late-start" else ["--duration", "1:xx"]
    code, out, err = video(capsys, "--invert", source, "-o", tmp_path / "out.mp4", *extra)
    assert code == 1
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert only(tmp_path, source.name)


def test_ctrl_c_mid_way_leaves_nothing(clip, tmp_path, capsys):
    code, _, err = video(capsys, "--stop", clip, "-o", tmp_path / "out.mp4", "--batch", "2")
    assert code == 130 and err.strip() in ("Aborted.", "Interrupted.")
    assert only(tmp_path)


def test_rotation_odd_sizes_and_container_audio_needs(tmp_path, capsys):
    rotated = make_clip(tmp_path / "rot.mp4", audio=None, rotation=90, seconds=0.4)
    assert video(capsys, "--invert", rotated)[0] == 0
    assert probe(tmp_path / "rot.inv.mp4").rotation == 90
    odd = make_clip(tmp_path / "odd.mkv", size="33x25", audio="pcm_mulaw", seconds=0.4)
    code, out, err = video(capsys, "--invert", odd)
    assert code == 0, err
    assert "34x26" in out
    info = probe(tmp_path / "odd.inv.mp4")
    assert (info.width, info.height, info.has_audio) == (34, 26, True)
    assert "audio re-encoded (aac)" in out
    assert video(capsys, "-d", odd, "-o", tmp_path / "odd2.mp4")[0] == 0
    assert (probe(tmp_path / "odd2.mp4").width, probe(tmp_path / "odd2.mp4").height) == (66, 50)


@pytest.fixture
def real_tasks(monkeypatch):
    """The built-in style and super-resolution tasks instead of the test ones."""
    from imgperc import plugins

    monkeypatch.setenv("IMGPERC_PLUGINS", "video,style,sr")
    plugins.reset()


@pytest.mark.parametrize("weights, size, tag", [("imgperc_style/weights/muse-fast", (64, 48), "mine"),
                                                ("imgperc_sr/weights/x4-fidelity", (256, 192), "x4-mine")])
def test_a_model_file_alone_does_its_own_task(weights, size, tag, real_tasks, clip, tmp_path, capsys):
    model = tmp_path / "mine.safetensors"
    model.write_bytes((PLUGINS / f"{weights}.safetensors").read_bytes())
    code, out, err = video(capsys, "--model", model, clip, "-o", tmp_path, "--duration", "0.2")
    assert code == 0, err
    assert out.startswith(f"{tmp_path / f'clip.{tag}.mp4'}: 5 frames, {size[0]}x{size[1]}")


def test_a_style_uses_the_consistency_its_metadata_records_unless_one_is_given(real_tasks, clip, tmp_path, capsys):
    tensors, meta = load_model_file(PLUGINS / "imgperc_style/weights/muse-fast.safetensors")
    plain, measured = tmp_path / "plain.safetensors", tmp_path / "measured.safetensors"
    save_model_file(plain, tensors, {k: v for k, v in meta.items() if k != "video_consistency"})
    save_model_file(measured, tensors, {**meta, "video_consistency": 0.6})
    for model, given, expected in ((plain, (), "0.9"), (measured, (), "0.6"), (measured, ("--consistency", "0.3"), "0.3")):
        code, out, err = video(capsys, "--model", model, *given, clip, "-o", tmp_path / f"{model.stem}{len(given)}.mp4",
                               "--duration", "0.2", "--stats")
        assert code == 0, err
        assert f"(--consistency {expected};" in out
    bad = tmp_path / "bad.safetensors"
    save_model_file(bad, tensors, {**meta, "video_consistency": 1.5})
    code, out, err = video(capsys, "--model", bad, clip, "-o", tmp_path / "bad.mp4")
    assert code == 1 and err == "Error: model 'bad' records video_consistency 1.5; it must be a number from 0 to 1\n"
    assert not (tmp_path / "bad.mp4").exists()


@pytest.mark.parametrize("style", ["wave-fast", "muse-fast"])
def test_a_built_in_style_runs_at_the_consistency_its_shipped_file_records(style, real_tasks, clip, tmp_path, capsys):
    _, meta = load_model_file(PLUGINS / f"imgperc_style/weights/{style}.safetensors")
    code, out, err = video(capsys, "--style", style, clip, "-o", tmp_path / "out.mp4", "--duration", "0.2", "--stats")
    assert code == 0, err
    assert f"(--consistency {meta['video_consistency']:g};" in out


def test_model_help_says_any_task_and_a_model_of_no_task_is_one_line(real_tasks, clip, tmp_path, capsys):
    code, out, _ = video(capsys, "--help")
    assert out.count("--model NAME|FILE") == 1 and "Alone it does its own task, read from the model" in " ".join(out.split())
    code, _, err = video(capsys, "--model", "vgg19", clip, "-o", tmp_path / "x.mp4")
    assert (code, err) == (1, "Error: vgg19 is a 'loss-network' model, and no installed image task runs those (see `imgperc plugins`)\n")
    assert only(tmp_path)


def test_quiet_prints_nothing_and_device_is_checked(clip, tmp_path, capsys, monkeypatch):
    import torch

    code, out, err = video(capsys, "--invert", clip, "-o", tmp_path / "q.mp4", "--duration", "0.2", "-q")
    assert (code, out, err) == (0, "", "") and count_frames(tmp_path / "q.mp4") == 5
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = video(capsys, "--invert", clip, "-o", tmp_path / "c.mp4", "--device", "cuda")
    assert (code, err) == (1, "Error: device 'cuda' requested but no CUDA GPU is available (use --device cpu or auto)\n")
    assert only(tmp_path, "q.mp4")


def test_a_long_clip_says_how_long_once(clip, tmp_path, capsys, monkeypatch):
    import imgperc_video.command

    monkeypatch.setattr(imgperc_video.command, "LONG_S", 0.0)  # every clip counts as long
    code, out, err = video(capsys, "--invert", clip, "-o", tmp_path / "l.mp4", "--batch", "2")
    assert code == 0, err
    assert err.count("\n") == 1 and re.fullmatch(r"clip\.mp4: about \d+ s to go at [\d.]+ frames/s\n", err)


def test_the_hint_names_the_fast_model_of_the_same_task_and_a_smaller_size(real_tasks):
    from imgperc import plugins
    from imgperc_video.command import _faster

    style = plugins.registry("image_tasks").get("style")
    assert _faster(style, {"style": "wave", "model": None}, (1280, 720)) == "--style wave-fast (built in) or --size 640"
    assert _faster(style, {"style": None, "model": "udnie"}, (640, 360)) == "--model udnie-fast (built in)"
    assert _faster(style, {"style": "wave-fast", "model": None}, (640, 360)) == ""


def test_help_is_light(real_tasks):
    code = "import sys; from imgperc.cli.main import main\ntry: main(['video', '--help'])\nexcept SystemExit: pass\nprint('torch' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.stdout.endswith("False\n") and "Tasks (give exactly one, or just a model)" in shown.stdout, shown.stderr


def test_a_model_for_a_task_that_takes_none_is_refused(clip, tmp_path, capsys):
    code, _, err = video(capsys, "--jitter", "--model", "m1", clip, "-o", tmp_path / "x.mp4")
    assert (code, err) == (1, "Error: --jitter takes no --model\n")
