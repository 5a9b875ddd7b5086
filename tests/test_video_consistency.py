"""Temporal consistency: `imgperc eval video` (the warping error) on synthetic clips of known
motion, `imgperc video --consistency` (flow-guided blending, reset at cuts), and their bad inputs."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from imgperc.cli.main import main
from imgperc_video.evaluate import SOURCE, evaluate_video
from imgperc_video.flow import FlowEstimator, grey
from imgperc_video.io import count_frames, ffmpeg_exe, probe
from imgperc_video.runner import run_pipeline

from hardening_cli import one_error_line
from plugin_factory import activate, make_plugin
from test_video_cli import TASKS
from test_video_support import audio_seconds, ffmpeg, make_clip, read_all

SHIFT = (3, 2)  # pixels per frame, x and y


def texture(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth random RGB picture (blobs a few pixels wide) using the full range."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 6 + 2, width // 6 + 2, 3), dtype=np.uint8)
    big = torch.nn.functional.interpolate(torch.from_numpy(small).permute(2, 0, 1)[None].float(), scale_factor=6, mode="bicubic")
    return big[0].permute(1, 2, 0).clamp(0, 255).round().byte().numpy()[:height, :width].copy()


def panning(frames: int, width: int = 96, height: int = 64, seed: int = 0) -> list[np.ndarray]:
    """A window moving over a larger texture by `SHIFT` a frame."""
    dx, dy = SHIFT
    canvas = texture(width + dx * frames, height + dy * frames, seed)
    return [canvas[dy * t : dy * t + height, dx * t : dx * t + width].copy() for t in range(frames)]


def write_clip(path: Path, frames: list[np.ndarray], *, audio: bool = False) -> Path:
    """Lossless RGB (FFV1 in Matroska) at 25 fps, optionally with a tone."""
    height, width = frames[0].shape[:2]
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}", "-framerate", "25", "-i", "-"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={len(frames) / 25}", "-c:a", "flac"]
    args += ["-c:v", "ffv1", "-pix_fmt", "bgr0", str(path)]
    subprocess.run(args, input=np.stack(frames).tobytes(), check=True)
    return path


def noisy(frames: list[np.ndarray], amount: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [np.clip(f.astype(int) + rng.integers(-amount, amount + 1, f.shape), 0, 255).astype(np.uint8) for f in frames]


class Jitter:
    """Flickers on purpose: fresh noise on every frame."""

    scale = 1

    def __init__(self) -> None:
        self.g = torch.Generator().manual_seed(0)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch + 0.2 * torch.rand(batch.shape, generator=self.g) - 0.1).clamp(0, 1)


class Identity:
    scale = 1

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return batch


def cli(capsys, *args: object) -> tuple[int, str, str]:
    try:
        main([*map(str, args)])
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def test_tasks(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("IMGPERC_PLUGINS", "video,videotasks")
    activate(make_plugin(tmp_path_factory.mktemp("plugin"), "videotasks", TASKS), monkeypatch)


@pytest.fixture(scope="module")
def pan(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("pan") / "pan.mkv", panning(12), audio=True)


# --- the flow and the measure -----------------------------------------------------------------


def test_the_flow_finds_a_known_shift():
    first, second = panning(2, 128, 96)
    pair = FlowEstimator().pair(grey(first), grey(second), 128)
    inside = pair.forward[16:-16, 16:-16]
    assert np.allclose(inside.reshape(-1, 2).mean(0), (-SHIFT[0], -SHIFT[1]), atol=0.25)  # the picture moves left, up
    assert pair.reliable(True)[16:-16, 16:-16].mean() > 0.95
    assert pair.reliable(True)[:, :2].mean() < 0.5  # flows out of the frame: not reliable


def test_scoring_several_clips_against_one_pair_resizes_mask_and_flow_once(monkeypatch):
    import imgperc_video.flow as flow

    first, second = panning(2, 128, 96)
    pair = FlowEstimator().pair(grey(first), grey(second), 128)
    calls, resize = [], flow.resize_flow
    monkeypatch.setattr(flow, "resize_flow", lambda *args: calls.append(args) or resize(*args))
    a, b = (frame.astype(np.float32) / 255.0 for frame in (first, second))
    errors = [pair.warping_error(a, b), pair.warping_error(b, a), pair.warping_error(a, b)]
    assert errors[0] == errors[2] and errors[0] != errors[1]
    assert len(calls) == 1


def test_a_known_shift_scores_about_zero_and_per_frame_noise_high(pan, tmp_path):
    same = write_clip(tmp_path / "same.mkv", panning(12))
    shaky = write_clip(tmp_path / "noise.mkv", noisy(panning(12)))
    result = evaluate_video(pan, [same, shaky], gap=4)
    assert result.frames == 12 and len(result.short.frames) == 11 and len(result.long.frames) == 8
    assert result.short.mean(SOURCE) < 2e-4  # about 0: the flow explains the whole change
    assert result.long.mean(SOURCE) < 0.15 * result.long.mean(str(shaky))  # chained flows drift a little
    assert result.short.ratio(str(same)) == pytest.approx(1.0)
    assert result.short.mean(str(shaky)) > 30 * result.short.mean(SOURCE)
    assert min(result.short.reliable) > 0.8


def test_eval_video_prints_a_table_and_writes_csv_json_and_a_plot(pan, tmp_path, capsys):
    shaky = write_clip(tmp_path / "noise.mkv", noisy(panning(12)))
    code, out, err = cli(capsys, "eval", "video", pan, shaky, "-o", tmp_path / "report", "--long-term", "3")
    assert code == 0, err
    assert "t vs t+1" in out and "t vs t+3" in out and "noise.mkv" in out
    stem = tmp_path / "report" / "eval-video-pan"
    assert out.rstrip().endswith(f"{stem}.csv\n{stem}.json\n{stem}.png")
    doc = json.loads(Path(f"{stem}.json").read_text())
    assert doc["frames"] == 12 and doc["long"]["gap"] == 3
    assert doc["short"]["ratio"][str(shaky)] > 30
    rows = Path(f"{stem}.csv").read_text().splitlines()
    assert rows[0] == f"kind,frame,to,reliable,source,{shaky}" and rows[1].startswith("short,0,1,")
    assert any(row.startswith("ratio long,,,,1,") for row in rows)
    from PIL import Image

    assert Image.open(f"{stem}.png").size == (900, 380)
    code, _, err = cli(capsys, "eval", "video", pan, shaky, "-o", tmp_path / "report")
    assert code == 1 and "already exists (use --force to overwrite)" in err


# --- blending ---------------------------------------------------------------------------------


def test_consistency_lowers_the_warping_error_of_a_flickering_net():
    frames = panning(16)
    plain = run_pipeline(iter(frames), Jitter(), lambda f: None, batch_size=3, measure=True)
    steady = run_pipeline(iter(frames), Jitter(), lambda f: None, batch_size=3, measure=True, consistency=0.8)
    assert plain.source_error == steady.source_error < 2e-4
    assert plain.warp_ratio > 20
    assert steady.warp_ratio < 0.3 * plain.warp_ratio
    assert steady.cuts == 0 and steady.flow_seconds > 0
    assert run_pipeline(iter(frames), Jitter(), lambda f: None).warp_ratio is None


class Boil:
    """Paints a fresh pixel-scale noise texture of fixed std (0.1) on every frame, whatever the input."""

    scale = 1

    def __init__(self) -> None:
        self.g = torch.Generator().manual_seed(0)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return (0.5 + 0.1 * torch.randn(batch.shape, generator=self.g)).clamp(0, 1)


def test_consistency_steadies_a_boiling_texture_without_washing_it_out():
    frames = [texture(96, 64, 0)] * 12  # a static scene
    per_frame: list[np.ndarray] = []
    steady: list[np.ndarray] = []
    plain = run_pipeline(iter(frames), Boil(), per_frame.append, measure=True)
    blended = run_pipeline(iter(frames), Boil(), steady.append, measure=True, consistency=0.8)
    assert blended.output_error < 0.1 * plain.output_error
    # a linear blend at 0.8 keeps sqrt(0.2 / 1.8) = 1/3 of the std of independent textures
    contrast = np.mean([f.std() for f in steady[4:]]) / np.mean([f.std() for f in per_frame[4:]])
    assert contrast > 0.8


@pytest.mark.parametrize("scale", [1, 2])
def test_a_cut_resets_the_blending(scale):
    before, after = panning(6, seed=0), panning(6, seed=7)
    after = [255 - frame for frame in after]  # another scene altogether
    written: list[np.ndarray] = []

    class Upscale(Identity):
        def __call__(self, batch):
            return batch.repeat_interleave(scale, 2).repeat_interleave(scale, 3)

    Upscale.scale = scale
    stats = run_pipeline(iter(before + after), Upscale(), written.append, batch_size=4, consistency=1.0, measure=True)
    assert stats.cuts == 1
    first_after = written[6][::scale, ::scale].astype(int)
    assert np.abs(first_after - after[0].astype(int)).max() <= 1  # no ghost of the scene before
    ghost = np.abs(before[-1].astype(int) - after[2].astype(int)).mean()
    assert np.abs(written[8][::scale, ::scale].astype(int) - after[2].astype(int)).mean() < min(8, ghost / 8)


def test_blending_follows_motion_instead_of_smearing_it():
    frames = panning(10)
    written: list[np.ndarray] = []
    run_pipeline(iter(frames), Identity(), written.append, consistency=0.9)
    inside = (slice(8, -8), slice(8, -8))
    lag = max(np.abs(w[inside].astype(int) - f[inside].astype(int)).mean() for w, f in zip(written, frames))
    smear = np.abs(frames[1].astype(int) - frames[0].astype(int)).mean()  # what blending without the flow would leave
    assert lag < min(6, smear / 4)


# --- the command --------------------------------------------------------------------------------


def test_video_keeps_frames_rate_and_audio_and_stats_report_the_ratio(test_tasks, tmp_path, capsys):
    clip = make_clip(tmp_path / "clip.mp4", seconds=1.0)
    ratios = {}
    for strength in ("0", "0.8"):
        target = tmp_path / f"{strength}.mp4"
        code, out, err = cli(capsys, "video", "--jitter", clip, "-o", target, "--stats", "--consistency", strength, "--batch", "3")
        assert code == 0, err
        line = next(line for line in out.splitlines() if line.startswith("warping error: "))
        ratios[strength] = float(line.split()[2].rstrip("x"))
        assert f"(--consistency {strength};" in line
        assert "flow " in out and "ms (decoder thread)" in out
        info = probe(target)
        assert (info.fps, info.has_audio, count_frames(target)) == (Fraction(25), True, 25)
        assert abs(audio_seconds(target) - audio_seconds(clip)) <= 1 / 25
    assert ratios["0.8"] < 0.6 * ratios["0"]
    code, out, err = cli(capsys, "eval", "video", clip, tmp_path / "0.mp4", tmp_path / "0.8.mp4", "-o", tmp_path)
    assert code == 0, err
    doc = json.loads((tmp_path / "eval-video-clip.json").read_text())
    assert doc["short"]["ratio"][str(tmp_path / "0.8.mp4")] < doc["short"]["ratio"][str(tmp_path / "0.mp4")]


def test_upscaler_size_and_odd_sizes_with_consistency(test_tasks, tmp_path, capsys):
    odd = make_clip(tmp_path / "odd.mkv", size="33x25", audio=None, seconds=0.4)
    code, out, err = cli(capsys, "video", "-d", odd, "-o", tmp_path / "big.mp4", "--consistency", "0.9")
    assert code == 0, err
    assert (probe(tmp_path / "big.mp4").width, probe(tmp_path / "big.mp4").height) == (66, 50)
    code, out, err = cli(capsys, "video", "--invert", odd, "-o", tmp_path / "same.mp4")
    assert code == 0 and "34x26" in out, err
    clip = make_clip(tmp_path / "clip.mp4", size="160x120", audio=None, seconds=0.4)
    code, out, err = cli(capsys, "video", "-d", clip, "-o", tmp_path / "sized.mp4", "--size", "80", "--batch", "4")
    assert code == 0 and "160x120" in out, err
    for source, output in ((odd, "big.mp4"), (odd, "same.mp4"), (clip, "sized.mp4")):  # any scale, odd padding cropped
        code, out, err = cli(capsys, "eval", "video", source, tmp_path / output, "-o", tmp_path / output.replace(".", "-"))
        assert code == 0, err


def test_rotated_clips_work(test_tasks, tmp_path, capsys):
    rotated = make_clip(tmp_path / "rot.mp4", audio=None, rotation=90, seconds=0.4)
    code, _, err = cli(capsys, "video", "--invert", rotated, "--stats")
    assert code == 0, err
    assert probe(tmp_path / "rot.inv.mp4").rotation == 90
    code, out, err = cli(capsys, "eval", "video", rotated, tmp_path / "rot.inv.mp4", "-o", tmp_path)
    assert code == 0, err


def test_a_variable_frame_rate_clip_is_read_at_a_constant_rate_by_both(test_tasks, tmp_path, capsys):
    vfr = tmp_path / "vfr.mkv"  # a 0.1 s gap after frame 10
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1", "-vf", "setpts='N/25/TB+if(gt(N,10),0.1/TB,0)'",
           "-fps_mode", "passthrough", "-c:v", "ffv1", str(vfr))
    code, out, err = cli(capsys, "video", "--invert", vfr, "-o", tmp_path / "out.mp4")
    assert code == 0, err
    frames = count_frames(tmp_path / "out.mp4")
    assert frames > 25
    code, out, err = cli(capsys, "eval", "video", vfr, tmp_path / "out.mp4", "-o", tmp_path)
    assert code == 0, err
    assert json.loads((tmp_path / "eval-video-vfr.json").read_text())["frames"] == frames


def test_a_one_frame_clip_works_and_has_no_warping_error(test_tasks, tmp_path, capsys):
    one = write_clip(tmp_path / "one.mkv", panning(1))
    code, out, err = cli(capsys, "video", "--jitter", one, "-o", tmp_path / "one.mp4", "--stats")
    assert code == 0, err
    assert "one.mp4: 1 frames" in out and "warping error: n/a (needs two frames" in out


def test_deflicker_is_an_old_name_of_consistency(test_tasks, tmp_path, capsys):
    clip = make_clip(tmp_path / "clip.mp4", audio=None, seconds=0.2)
    code, out, err = cli(capsys, "video", "--invert", clip, "-o", tmp_path / "a.mp4", "--deflicker", "0.5", "--stats")
    assert code == 0
    assert err == "Note: --deflicker is deprecated; it now means --consistency 0.5 (flow-guided, see docs/video.md)\n"
    assert "(--consistency 0.5;" in out
    code, _, err = cli(capsys, "video", "--invert", clip, "-o", tmp_path / "b.mp4", "--deflicker", "0.5", "--consistency", "0.2")
    assert (code, err) == (1, "Error: --deflicker is the old name of --consistency: give only --consistency\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "clip.mp4"]


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan"])
def test_consistency_out_of_range_is_refused(test_tasks, tmp_path, capsys, value):
    code, _, err = cli(capsys, "video", "--invert", tmp_path / "in.mp4", "--consistency", value)
    assert code == 2 and "--consistency" in one_error_line(err)


@pytest.mark.parametrize("kind", ["one-frame", "no-video", "lengths", "sizes", "same-clip", "missing", "rotations"])
def test_eval_video_bad_inputs_fail_in_one_line_and_leave_nothing(kind, pan, tmp_path, capsys):
    frames = panning(12)
    source, output = pan, tmp_path / "out.mkv"
    expected = {
        "one-frame": "has only one frame: the warping error needs two",
        "no-video": "has no video stream",
        "lengths": "eval video compares clips of the same length, frame by frame",
        "sizes": "not the same picture (eval video compares a clip with its source at any scale)",
        "same-clip": "give each clip once",
        "missing": "no such file",
        "rotations": "compare clips stored the same way",
    }[kind]
    if kind == "one-frame":
        source = write_clip(tmp_path / "one.mkv", frames[:1])
        write_clip(output, frames[:1])
    elif kind == "no-video":
        output = tmp_path / "tone.m4a"
        ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", str(output))
    elif kind == "lengths":
        write_clip(output, frames[:7])
    elif kind == "sizes":
        write_clip(output, [f[:, :48] for f in frames])
    elif kind == "same-clip":
        output = pan
    elif kind == "rotations":
        source = make_clip(tmp_path / "rot.mp4", audio=None, rotation=90, seconds=0.4)
        output = make_clip(tmp_path / "plain.mp4", audio=None, seconds=0.4)
    report = tmp_path / "report"
    code, _, err = cli(capsys, "eval", "video", source, output, "-o", report)
    assert code == 1, err
    assert expected in one_error_line(err) and err.count("\n") == 1
    assert not report.exists() or not any(report.iterdir())


def test_a_short_clip_of_different_length_is_caught_while_reading(pan, tmp_path):
    """Containers may not tell the length: the frame-by-frame read catches it too."""
    write_clip(tmp_path / "short.mkv", panning(11))
    from imgperc.errors import InputError

    with pytest.raises(InputError, match=r"short.mkv has 11 frames and .*pan.mkv more"):
        evaluate_video(pan, [tmp_path / "short.mkv"], gap=0)
    assert read_all(pan).shape[0] == 12
