"""Helpers shared by the video tests (no tests here): clips made with the bundled ffmpeg, and checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from imgperc_video.io import ffmpeg_exe


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def make_clip(
    path: Path,
    *,
    size: str = "64x48",
    rate: str = "25",
    seconds: float = 2.0,
    audio: str | None = "aac",
    rotation: int = 0,
) -> Path:
    """A moving test pattern (plus a 440 Hz tone encoded with ``audio``, unless None)."""
    odd = any(int(side) % 2 for side in size.split("x"))
    pattern = f"testsrc2=size={size}:rate={rate}:duration={seconds}" + (",format=rgb24" if odd else "")
    args = ["-f", "lavfi", "-i", pattern]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}", "-c:a", audio]
    args += ["-c:v", "ffv1"] if odd else ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    if not rotation:
        ffmpeg(*args, str(path))
        return path
    plain = path.with_name(f"plain-{path.name}")
    ffmpeg(*args, str(plain))
    ffmpeg("-display_rotation", str(rotation), "-i", str(plain), "-c", "copy", str(path))
    plain.unlink()
    return path


def audio_seconds(path: Path) -> float:
    """Duration of the decoded audio (mono 8 kHz samples counted)."""
    pcm = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", "8000", "-f", "s16le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return len(pcm) / 2 / 8000


def read_all(path: Path) -> np.ndarray:
    """Every frame, ``[N,H,W,3]`` uint8, as displayed before rotation."""
    from imgperc_video.io import FrameReader, probe

    with FrameReader(probe(path)) as reader:
        return np.stack(list(reader))


def corrupt_halfway(clip: Path, out: Path, *, truncate: bool) -> Path:
    """A copy of ``clip`` (moov atom first) cut off, or overwritten with garbage, half-way."""
    faststart = out.with_name(f"fs-{out.name}")
    ffmpeg("-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(faststart))
    data = bytearray(faststart.read_bytes())
    faststart.unlink()
    half = len(data) // 2
    if truncate:
        data = data[:half]
    else:
        data[half : half + 2000] = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    out.write_bytes(bytes(data))
    return out


# Saturated and mid colours, each a block wide enough that chroma subsampling and compression
# leave its centre alone.
COLOURS = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255], [235, 235, 235], [20, 20, 20],
     [128, 128, 128], [200, 80, 40], [30, 160, 220], [90, 40, 120]],
    np.uint8,
)


def colour_blocks(width: int, height: int) -> np.ndarray:
    """A ``[height, width, 3]`` frame of vertical `COLOURS` blocks."""
    frame = np.zeros((height, width, 3), np.uint8)
    block = width // len(COLOURS)
    for i, colour in enumerate(COLOURS):
        frame[:, i * block : (i + 1) * block] = colour
    return frame


def block_colours(frame: np.ndarray) -> np.ndarray:
    """The colour at the centre of each block of a `colour_blocks` frame, as ints."""
    height, width = frame.shape[:2]
    block = width // len(COLOURS)
    return np.stack([frame[height // 2, i * block + block // 2] for i in range(len(COLOURS))]).astype(int)


def colour_clip(path: Path, width: int, height: int, *, matrix: str, full_range: bool, tag: bool) -> Path:
    """Three `colour_blocks` frames encoded by ffmpeg itself with ``matrix`` (``bt709``,
    ``bt601``) in limited or full range, tagged so or not at all (as many real files are)."""
    colour_range = "pc" if full_range else "tv"
    chain = f"scale=out_color_matrix={matrix}:out_range={colour_range}:flags=accurate_rnd+full_chroma_int,format=yuv420p"
    if tag:
        chain += f",setparams=colorspace={'bt709' if matrix == 'bt709' else 'smpte170m'}:range={colour_range}"
    else:
        chain += ",setparams=colorspace=unknown:range=unknown"
    raw = np.stack([colour_blocks(width, height)] * 3).tobytes()
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-s", f"{width}x{height}", "-framerate", "25", "-i", "-", "-vf", chain, "-c:v", "libx264", "-crf", "10", str(path)],
        input=raw,
        check=True,
    )
    return path
