"""Helpers shared by the video tests (no tests here): clips made with the bundled ffmpeg, and checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from imgperc.io.video import ffmpeg_exe


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
    from imgperc.io.video import FrameReader, probe

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
