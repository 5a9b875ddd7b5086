"""Video files through imageio-ffmpeg's bundled ffmpeg: probe, frame reader, frame writer, audio.

Frames cross the process boundary as raw RGB24 (``[H,W,3]`` uint8 arrays). Every ffmpeg runs in
its own session (Ctrl-C reaches only us, and we stop it) with its stderr captured; a failure
becomes one line: what went wrong, plus ffmpeg's most telling message.

Colours: a stream is decoded with the colour matrix and range it is tagged with; an untagged one
as players show it (BT.709 from 1280 wide or 577 high up, else BT.601; limited range unless its
pixel format is a full-range ``yuvj`` one). Output is BT.709, limited range, and tagged so.
Chroma is interpolated in full and rounded accurately both ways (`SWS_FLAGS`).
"""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import imageio_ffmpeg
import numpy as np

from imgperc.errors import ImgpercError, InputError

CONTAINERS = (".mp4", ".m4v", ".mov", ".mkv")
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DEFAULT_PRESET = "veryfast"  # a quarter of medium's CPU time at 640x360: cores left for the network
_FASTSTART = (".mp4", ".m4v", ".mov")

_STREAM = re.compile(r"^\s*Stream #0:(\d+)\S*: (\w+): (.*)$")
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_SIZE = re.compile(r", (\d+)x(\d+)(?=[ ,]|$)")
_SAR = re.compile(r"\bSAR (\d+):(\d+)")
_PIXELS = re.compile(r", ([0-9a-z_]+)(?:\(([^)]*)\))?, \d+x\d+")  # yuv420p(tv, bt709/unknown/unknown, progressive), 64x48
_MATRICES = {"bt709": "bt709", "bt470bg": "bt470bg", "smpte170m": "smpte170m", "fcc": "fcc", "smpte240m": "smpte240m",
             "bt2020nc": "bt2020nc", "bt2020c": "bt2020"}  # stream tag -> ffmpeg scale's colour matrix
SWS_FLAGS = "lanczos+accurate_rnd+full_chroma_int"
ENCODE_COLOURS = (  # RGB -> BT.709 limited-range yuv420p, and the stream tagged so
    f"scale=flags={SWS_FLAGS}:out_color_matrix=bt709:out_range=tv,format=yuv420p,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
)
_RATE = re.compile(r", ([\d.]+)(k?) (fps|tbr)")
_DISPLAY_MATRIX = re.compile(r"display ?matrix: rotation of (-?[\d.]+) degrees", re.IGNORECASE)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?[\d.]+)\s*$")
_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")
_STILL_IMAGE = re.compile(r"^Input #0, (image2|\w+_pipe),")  # ffmpeg's demuxers of single image files
_NOISE = (
    "Conversion failed",
    "Terminating thread",
    "Task finished with error code",
    "Error opening input file",
    "Error opening output file",
    "Exiting normally",
    "At least one output file",
    "Last message repeated",
    "misdetection possible",
)


def ffmpeg_exe() -> str:
    """The ffmpeg binary bundled with imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def summarize(stderr: str) -> str:
    """ffmpeg's first meaningful message (without ``[h264 @ 0x...]`` prefixes), for one-line errors."""
    for raw in stderr.splitlines():
        line = _PREFIX.sub("", raw.strip()).strip()
        if line and not any(noise in line for noise in _NOISE):
            return line[:200]
    return "ffmpeg failed without a message"


def format_rate(fps: Fraction) -> str:
    """A frame rate as ffmpeg takes it: ``25`` or ``30000/1001``."""
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def parse_rate(text: str) -> Fraction:
    """ffmpeg's printed rate (``25``, ``29.97``, ``23.98``, ``12.50``) as an exact fraction."""
    value = float(text)
    ntsc = round(value * 1.001)
    if abs(ntsc / 1.001 - value) < 0.006 and abs(value - round(value)) > 0.01:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(text).limit_denominator(1000)


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` learns about a file's first video stream (and whether the file has audio)."""

    path: Path
    stream: int
    codec: str
    width: int
    height: int
    fps: Fraction
    duration: float | None
    rotation: float
    sar: Fraction
    has_audio: bool
    pix_fmt: str = ""
    color_range: str | None = None  # as tagged: "tv" or "pc"
    color_matrix: str | None = None  # as tagged: "bt709", "smpte170m", ...

    @property
    def frames(self) -> int | None:
        """Frame count estimated from the container's duration (exact: `count_frames`)."""
        return None if self.duration is None else round(self.duration * self.fps)


def probe(path: Path) -> VideoInfo:
    """Read a video's stream layout from ``ffmpeg -i``; an InputError for anything unusable."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a video file")
    result = _run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)])
    lines = result.splitlines()
    if not any(line.startswith("Input #0") for line in lines):
        raise InputError(f"{path} is not a video ffmpeg can read ({summarize(result)})")
    if any(_STILL_IMAGE.match(line) for line in lines):
        raise InputError(f"{path} is a still image, not a video (use `imgperc stylize` or `imgperc upscale`)")
    duration = _duration(result)
    has_audio = False
    video: tuple[int, str, list[str]] | None = None
    for i, line in enumerate(lines):
        match = _STREAM.match(line)
        if not match:
            continue
        index, kind, desc = int(match[1]), match[2], match[3]
        has_audio = has_audio or kind == "Audio"
        if kind == "Video" and video is None and "(attached pic)" not in desc:
            video = (index, desc, _stream_block(lines, i + 1))
    if video is None:
        raise InputError(f"{path} has no video stream")
    index, desc, block = video
    size = _SIZE.search(desc)
    if size is None:
        raise InputError(f"{path}: cannot tell the size of its video stream")
    sar = _SAR.search(desc)
    pixels = _PIXELS.search(desc)
    tags = [tag.strip() for tag in (pixels[2] or "").split(",")] if pixels else []
    return VideoInfo(
        path=path,
        stream=index,
        codec=desc.split(maxsplit=1)[0].rstrip(","),
        width=int(size[1]),
        height=int(size[2]),
        fps=_frame_rate(path, desc),
        duration=duration,
        rotation=_rotation(block),
        sar=Fraction(int(sar[1]), int(sar[2])) if sar and int(sar[2]) else Fraction(1),
        pix_fmt=pixels[1] if pixels else "",
        color_range=next((tag for tag in tags if tag in ("tv", "pc")), None),
        color_matrix=next((tag.split("/")[0] for tag in tags if tag.split("/")[0] in _MATRICES), None),
        has_audio=has_audio,
    )


def check_range(info: VideoInfo, start: float, duration: float | None) -> None:
    """Refuse a negative start, a start past the end, or a duration that is not positive."""
    if start < 0 or (duration is not None and duration <= 0):
        raise InputError("--start must be 0 or more and --duration more than 0")
    if info.duration is not None and start >= info.duration:
        raise InputError(f"--start {start:g}s is past the end of {info.path.name} ({info.duration:g}s)")


def expected_frames(info: VideoInfo, start: float, duration: float | None) -> int | None:
    """Frames the range should give, from the container duration (for progress, not exact)."""
    if info.duration is None:
        return None
    length = info.duration - start if duration is None else min(duration, info.duration - start)
    return max(1, round(length * info.fps))


def decode_colours(info: VideoInfo) -> str:
    """The ``scale`` filter options that turn ``info``'s stream into RGB as it is meant to look
    (see the module docstring); none for a stream that is not YCbCr."""
    if not info.pix_fmt.startswith(("yuv", "nv")):
        return ""
    hd = info.width >= 1280 or info.height > 576
    matrix = _MATRICES.get(info.color_matrix or "", "bt709" if hd else "bt601")
    full = info.color_range == "pc" or (info.color_range is None and info.pix_fmt.startswith("yuvj"))
    return f":in_color_matrix={matrix}:in_range={'pc' if full else 'tv'}"


def count_frames(path: Path) -> int:
    """The exact number of frames (decodes the whole video stream)."""
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def _duration(text: str) -> float | None:
    match = _DURATION.search(text)
    if match is None:
        return None
    return int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])


def _frame_rate(path: Path, desc: str) -> Fraction:
    rates = {kind: (text, k) for text, k, kind in _RATE.findall(desc)}
    for kind in ("fps", "tbr"):
        if kind in rates:
            text, k = rates[kind]
            fps = parse_rate(text) * (1000 if k else 1)
            if fps > 0:
                return fps
    raise InputError(f"{path}: cannot tell the frame rate of its video stream")


def _stream_block(lines: list[str], start: int) -> list[str]:
    """The metadata / side-data lines that follow a stream's line, up to the next stream."""
    block = []
    for line in lines[start:]:
        if _STREAM.match(line) or not line.startswith("    "):
            break
        block.append(line)
    return block


def _rotation(block: list[str]) -> float:
    """Display rotation in degrees counter-clockwise (ffmpeg's display-matrix convention)."""
    for line in block:
        match = _DISPLAY_MATRIX.search(line)
        if match:
            return float(match[1])
    for line in block:
        match = _ROTATE_TAG.match(line)
        if match:  # the old tag counts clockwise
            return -float(match[1])
    return 0.0


def _run(args: list[str]) -> str:
    """Run ffmpeg to completion and return its stderr (``ffmpeg -i`` alone always "fails")."""
    done = subprocess.run(args, capture_output=True, start_new_session=True)
    return done.stderr.decode("utf-8", "replace")


class _Process:
    """One ffmpeg process in its own session; stderr drained by a thread so no pipe fills up."""

    def __init__(self, args: list[str], *, stdin: bool = False, stdout: bool = False) -> None:
        self.proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._lines: list[str] = []
        self._drain = threading.Thread(target=self._collect, daemon=True)
        self._drain.start()

    def _collect(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            if len(self._lines) < 200:
                self._lines.append(raw.decode("utf-8", "replace"))

    def wait(self) -> int:
        code = self.proc.wait()
        self._drain.join(timeout=5)
        return code

    def summary(self) -> str:
        return summarize("".join(self._lines))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:  # a broken pipe we no longer need
                    pass


class FrameReader:
    """Decoded frames of a video's stream as ``[H,W,3]`` uint8 RGB arrays, at a constant rate.

    Frames come in stored orientation (rotation stays metadata, see `FrameWriter`), optionally
    scaled to ``size`` (width, height) and limited to ``start`` .. ``start + duration`` seconds.
    A stream that turns out corrupt or truncated part-way raises InputError once it is reached.
    Use as a context manager; iterate once.
    """

    def __init__(
        self,
        info: VideoInfo,
        *,
        start: float = 0.0,
        duration: float | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.info = info
        self.width, self.height = size or (info.width, info.height)
        args = ["-nostdin", "-xerror", "-noautorotate"]
        if start:
            args += ["-ss", f"{start:.6f}"]
        args += ["-i", str(info.path), "-map", f"0:{info.stream}"]
        if duration is not None:
            args += ["-t", f"{duration:.6f}"]
        args += ["-vf", f"scale={self.width}:{self.height}:flags={SWS_FLAGS}{decode_colours(info)},format=rgb24"]
        args += ["-fps_mode", "cfr", "-r", format_rate(info.fps), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        self._args = args
        self._process: _Process | None = None
        self.frames_read = 0

    def __enter__(self) -> FrameReader:
        self._process = _Process(self._args, stdout=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.kill()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._process is None:
            raise RuntimeError("FrameReader must be used as a context manager")
        process = self._process
        assert process.proc.stdout is not None
        frame_bytes = self.width * self.height * 3
        while True:
            data = process.proc.stdout.read(frame_bytes)
            if len(data) < frame_bytes:
                break
            self.frames_read += 1
            yield np.frombuffer(data, np.uint8).reshape(self.height, self.width, 3)
        if process.wait() != 0:
            where = f"after frame {self.frames_read}" if self.frames_read else "from the start"
            raise InputError(
                f"{self.info.path}: the video stream is corrupt or truncated {where} ({process.summary()})"
            )
        if self.frames_read == 0:
            raise InputError(f"{self.info.path}: no frames to read (is --start past the end?)")


class FrameWriter:
    """Encodes ``[H,W,3]`` uint8 RGB frames to H.264 (yuv420p, BT.709, tagged) in an MP4/MOV/MKV file.

    Odd sizes (yuv420p needs even ones) get one more row/column repeating the last, so the
    picture is never resampled. ``rotation`` (degrees counter-clockwise) and ``sar`` are
    written as metadata, as the source had them. ``preset`` is x264's speed/size trade-off (one of
    `X264_PRESETS`; ``crf`` sets the quality). `close` finishes the file; leaving the context
    without `close` (an error) stops ffmpeg and keeps nothing.
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: Fraction,
        *,
        crf: int = 18,
        rotation: float = 0.0,
        sar: Fraction = Fraction(1),
        preset: str = DEFAULT_PRESET,
    ) -> None:
        if preset not in X264_PRESETS:
            raise ValueError(f"unknown x264 preset '{preset}' (choose from {', '.join(X264_PRESETS)})")
        self.path = Path(path)
        self.width, self.height = width, height
        self._pad = ((0, height % 2), (0, width % 2), (0, 0))
        coded = f"{width + width % 2}x{height + height % 2}"
        args = ["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", coded]
        args += ["-framerate", format_rate(fps)]
        if rotation:
            args += ["-noautorotate", "-display_rotation", f"{rotation:g}"]
        args += ["-i", "-", "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p"]
        args += ["-vf", ENCODE_COLOURS + (f",setsar={sar.numerator}/{sar.denominator}" if sar != 1 else "")]
        if self.path.suffix.lower() in _FASTSTART:
            args += ["-movflags", "+faststart"]
        self._args = [*args, str(self.path)]
        self._process: _Process | None = None
        self.frames_written = 0

    def __enter__(self) -> FrameWriter:
        self._process = _Process(self._args, stdin=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.kill()

    def write(self, frame: np.ndarray) -> None:
        """Append one frame (``[height, width, 3]`` uint8)."""
        if self._process is None:
            raise RuntimeError("FrameWriter must be used as a context manager")
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected a {self.height}x{self.width}x3 uint8 frame, got {frame.shape} {frame.dtype}")
        if any(after for _, after in self._pad):
            frame = np.pad(frame, self._pad, mode="edge")
        assert self._process.proc.stdin is not None
        try:
            self._process.proc.stdin.write(np.ascontiguousarray(frame).data)
        except (BrokenPipeError, OSError):
            self._process.wait()
            raise ImgpercError(f"could not encode {self.path.name} ({self._process.summary()})") from None
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file; an ImgpercError if ffmpeg failed."""
        if self._process is None:
            raise RuntimeError("FrameWriter must be used as a context manager")
        assert self._process.proc.stdin is not None
        try:
            self._process.proc.stdin.close()
        except (BrokenPipeError, OSError):  # ffmpeg already gone: its exit status tells why
            pass
        if self._process.wait() != 0:
            raise ImgpercError(f"could not encode {self.path.name} ({self._process.summary()})")


def add_audio(video: Path, source: Path, out: Path, *, start: float = 0.0, duration: float | None = None) -> str:
    """Write ``out``: ``video``'s picture plus ``source``'s audio (same ``start``/``duration``).

    The audio is copied; only if ``out``'s container cannot hold its codec is it re-encoded
    to AAC. Returns ``"copied"`` or ``"re-encoded (aac)"``.
    """
    args = ["-nostdin", "-y", "-xerror", "-i", str(video)]
    if start:
        args += ["-ss", f"{start:.6f}"]
    args += ["-i", str(source), "-map", "0:v", "-map", "1:a", "-c:v", "copy"]
    if duration is not None:
        args += ["-t", f"{duration:.6f}"]
    if Path(out).suffix.lower() in _FASTSTART:
        args += ["-movflags", "+faststart"]
    message = ""
    for codec, outcome in ((["-c:a", "copy"], "copied"), (["-c:a", "aac", "-b:a", "192k"], "re-encoded (aac)")):
        process = _Process([*args, *codec, str(out)])
        if process.wait() == 0:
            return outcome
        message = message or process.summary()
    raise ImgpercError(f"could not add the audio of {Path(source).name} ({message})")
