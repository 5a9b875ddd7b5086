"""imgperc_video.io: probing, reading, writing and audio muxing through the bundled ffmpeg."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from imgperc.errors import InputError
from imgperc_video.io import FrameReader, FrameWriter, add_audio, count_frames, parse_rate, probe, summarize

from test_video_support import audio_seconds, block_colours, colour_blocks, colour_clip, corrupt_halfway, ffmpeg, make_clip, read_all


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    return {
        "audio": make_clip(root / "audio.mp4"),
        "silent": make_clip(root / "silent.mp4", audio=None, rate="30000/1001", seconds=1.0),
        "rotated": make_clip(root / "rotated.mp4", audio=None, rotation=90, seconds=0.4),
        "odd": make_clip(root / "odd.mkv", size="33x25", audio=None, seconds=0.4),
    }


def test_probe_reads_size_rate_duration_audio(clips):
    info = probe(clips["audio"])
    assert (info.width, info.height, info.fps, info.codec) == (64, 48, Fraction(25), "h264")
    assert info.has_audio and info.rotation == 0 and info.sar == 1
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.frames == 50 == count_frames(clips["audio"])
    silent = probe(clips["silent"])
    assert silent.fps == Fraction(30000, 1001) and not silent.has_audio


def test_probe_reads_rotation_and_odd_sizes(clips):
    assert probe(clips["rotated"]).rotation == 90
    odd = probe(clips["odd"])
    assert (odd.width, odd.height, odd.codec) == (33, 25, "ffv1")


@pytest.mark.parametrize("text, rate", [("25", Fraction(25)), ("29.97", Fraction(30000, 1001)), ("23.98", Fraction(24000, 1001)), ("59.94", Fraction(60000, 1001)), ("12.50", Fraction(25, 2))])
def test_printed_frame_rates_become_exact_fractions(text, rate):
    assert parse_rate(text) == rate


def test_probe_rejects_missing_non_video_and_audio_only_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 50)
    with pytest.raises(InputError, match="not a video ffmpeg can read"):
        probe(text)
    from test_video_support import ffmpeg

    song = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", str(song))
    with pytest.raises(InputError, match="has no video stream"):
        probe(song)


@pytest.mark.parametrize("name", ["photo.png", "photo.jpg", "photo.webp", "photo.bmp", "photo.tif", "png-bytes.mp4"])
def test_probe_refuses_a_still_image_but_takes_an_animated_gif(name, tmp_path):
    from PIL import Image

    picture = Image.new("RGB", (8, 6), "red")
    picture.save(tmp_path / name, format="PNG" if name.endswith(".mp4") else None)
    with pytest.raises(InputError, match="is a still image, not a video"):
        probe(tmp_path / name)
    picture.save(tmp_path / "anim.gif", save_all=True, append_images=[Image.new("RGB", (8, 6), "blue")], duration=100)
    assert probe(tmp_path / "anim.gif").width == 8


def test_reader_gives_every_frame_or_a_range_or_a_resized_picture(clips):
    info = probe(clips["audio"])
    frames = read_all(clips["audio"])
    assert frames.shape == (50, 48, 64, 3) and frames.dtype == np.uint8
    with FrameReader(info, start=0.5, duration=1.0) as reader:
        part = np.stack(list(reader))
    assert part.shape[0] == 25
    assert np.abs(part[0].astype(int) - frames[12].astype(int)).mean() < np.abs(part[0].astype(int) - frames[0].astype(int)).mean()
    with FrameReader(info, duration=0.2, size=(32, 24)) as reader:
        assert [f.shape for f in reader] == [(24, 32, 3)] * 5


@pytest.mark.parametrize("truncate", [True, False])
def test_reader_reports_a_stream_corrupt_half_way(clips, tmp_path, truncate):
    broken = corrupt_halfway(make_clip(tmp_path / "long.mp4", audio=None, size="160x120", seconds=4.0), tmp_path / "broken.mp4", truncate=truncate)
    info = probe(broken)
    with FrameReader(info) as reader, pytest.raises(InputError, match=r"corrupt or truncated after frame \d+") as caught:
        for _ in reader:
            pass
    assert 0 < reader.frames_read < 100
    assert "\n" not in str(caught.value)


def test_writer_pads_odd_sizes_and_keeps_rate_rotation(clips, tmp_path):
    out = tmp_path / "out.mp4"
    frame = np.zeros((25, 33, 3), np.uint8)
    frame[:, -1] = 200  # last column, repeated into the padding
    with FrameWriter(out, 33, 25, Fraction(30000, 1001), rotation=-90) as writer:
        for _ in range(3):
            writer.write(frame)
        writer.close()
    info = probe(out)
    assert (info.width, info.height, info.fps, info.rotation) == (34, 26, Fraction(30000, 1001), -90)
    decoded = read_all(out)
    assert decoded.shape == (3, 26, 34, 3)
    assert decoded[0, :, -1].mean() > 180 and decoded[0, :, :30].mean() < 20


@pytest.mark.parametrize("preset, subme", [("ultrafast", 0), ("veryfast", 2), ("medium", 7)])
def test_writer_encodes_with_the_x264_preset_it_is_given(tmp_path, preset, subme):
    out = tmp_path / "out.mkv"
    with FrameWriter(out, 32, 16, Fraction(25), preset=preset) as writer:
        writer.write(np.full((16, 32, 3), 90, np.uint8))
        writer.close()
    settings = re.search(rb"options: ([^\x00]*)", out.read_bytes())  # x264's SEI settings string
    assert settings is not None and f" subme={subme} ".encode() in settings[1]


def test_writer_refuses_an_unknown_preset(tmp_path):
    with pytest.raises(ValueError, match="unknown x264 preset 'quick'"):
        FrameWriter(tmp_path / "out.mp4", 16, 16, Fraction(25), preset="quick")
    assert not (tmp_path / "out.mp4").exists()


def test_writer_failure_is_one_line(tmp_path):
    out = tmp_path / "missing-dir" / "out.mp4"
    with FrameWriter(out, 16, 16, Fraction(25)) as writer, pytest.raises(Exception, match="could not encode out.mp4") as caught:
        writer.write(np.zeros((16, 16, 3), np.uint8))
        writer.close()
    assert "\n" not in str(caught.value)


def test_add_audio_copies_or_reencodes_when_the_container_needs_it(clips, tmp_path):
    picture = tmp_path / "picture.mp4"
    with FrameWriter(picture, 64, 48, Fraction(25)) as writer:
        for frame in read_all(clips["audio"]):
            writer.write(frame)
        writer.close()
    out = tmp_path / "with-audio.mp4"
    assert add_audio(picture, clips["audio"], out) == "copied"
    assert probe(out).has_audio
    assert audio_seconds(out) == pytest.approx(audio_seconds(clips["audio"]), abs=1 / 25)
    mulaw = make_clip(tmp_path / "mulaw.mkv", audio="pcm_mulaw", seconds=2.0)
    assert add_audio(picture, mulaw, tmp_path / "reencoded.mp4") == "re-encoded (aac)"
    assert audio_seconds(tmp_path / "reencoded.mp4") == pytest.approx(2.0, abs=1 / 25)


def test_summarize_keeps_the_telling_line():
    stderr = (
        "[in#0 @ 0x55c0] moov atom not found\n"
        "[in#0 @ 0x55c0] Error opening input: Invalid data found when processing input\n"
        "Error opening input file x.mp4.\n"
    )
    assert summarize(stderr) == "moov atom not found"
    assert summarize("Conversion failed!\n") == "ffmpeg failed without a message"


@pytest.mark.parametrize(
    "size, matrix, full_range, tag",
    [
        ((1280, 720), "bt709", False, False),  # untagged HD: BT.709, as players show it (bigbuckbunny.mp4)
        ((320, 240), "bt601", False, False),  # untagged SD: BT.601
        ((320, 240), "bt709", False, True),  # tagged: the tag wins over the size
        ((320, 240), "bt601", True, True),  # full range (phones), tagged
    ],
)
def test_reader_decodes_each_colour_matrix_and_range_to_the_colours_encoded(tmp_path, size, matrix, full_range, tag):
    clip = colour_clip(tmp_path / "colours.mp4", *size, matrix=matrix, full_range=full_range, tag=tag)
    error = np.abs(block_colours(read_all(clip)[0]) - block_colours(colour_blocks(*size))).max()
    assert error <= 3, f"{matrix} {'full' if full_range else 'limited'} range {'tagged' if tag else 'untagged'}: off by {error}"


@pytest.mark.parametrize("size", [(1280, 720), (320, 240)])
def test_writer_encodes_bt709_tagged_so_colours_round_trip(tmp_path, size):
    out = tmp_path / "out.mp4"
    with FrameWriter(out, *size, Fraction(25)) as writer:
        for _ in range(3):
            writer.write(colour_blocks(*size))
        writer.close()
    info = probe(out)
    assert (info.pix_fmt, info.color_range, info.color_matrix) == ("yuv420p", "tv", "bt709")
    expected = block_colours(colour_blocks(*size))
    assert np.abs(block_colours(read_all(out)[0]) - expected).max() <= 4
    ffmpeg("-i", str(out), "-frames:v", "1", str(tmp_path / "frame.png"))  # ffmpeg's own reading of the tags
    decoded = np.asarray(Image.open(tmp_path / "frame.png").convert("RGB"))
    assert np.abs(block_colours(decoded) - expected).max() <= 4
