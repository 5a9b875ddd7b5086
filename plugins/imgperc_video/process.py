"""Run one image task over one video file: probe, decode, pipeline, encode, audio, atomic rename."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from imgperc.atomic import atomic_path, check_writable, scratch_file
from imgperc.errors import InputError
from imgperc.inference.batching import auto_batch
from imgperc.tasks import Transform

from .io import CONTAINERS, DEFAULT_PRESET, FrameReader, FrameWriter, VideoInfo, add_audio, check_range, probe
from .runner import RunStats, run_pipeline


@dataclass(frozen=True)
class VideoResult:
    """What `process_video` wrote (``width``/``height`` as encoded: odd sizes gain a pixel)."""

    path: Path
    width: int
    height: int
    info: VideoInfo
    audio: str
    stats: RunStats


def fit_longest(width: int, height: int, longest: int | None) -> tuple[int, int]:
    """The size with the longer side ``longest`` and the same aspect ratio (unchanged if None)."""
    if longest is None:
        return width, height
    factor = longest / max(width, height)
    return max(1, round(width * factor)), max(1, round(height * factor))


def check_target(source: Path, target: Path, *, force: bool) -> None:
    """Refuse unsupported containers, writing over the input, or over a file without ``force``."""
    if not target.suffix:
        raise InputError(f"{target} has no video extension ({', '.join(CONTAINERS)}) and is not a folder")
    if target.suffix.lower() not in CONTAINERS:
        raise InputError(f"cannot write '{target.suffix}' videos; use one of {', '.join(CONTAINERS)}")
    if source.exists() and target.exists() and os.path.samefile(source, target):
        raise InputError(f"{target} is the input video; choose another output")
    check_writable(target, overwrite=force)


def process_video(
    source: Path,
    target: Path,
    transform: Transform,
    *,
    size: int | None = None,
    crf: int = 18,
    preset: str = DEFAULT_PRESET,
    start: float = 0.0,
    duration: float | None = None,
    batch_size: int | None = None,
    consistency: float = 0.0,
    measure: bool = False,
    force: bool = False,
    on_frames: Callable[[int], None] | None = None,
    info: VideoInfo | None = None,
) -> VideoResult:
    """Apply ``transform`` to every frame of ``source`` and write ``target`` atomically.

    Keeps the frame rate, rotation metadata, aspect ratio and audio (copied when the target
    container allows); encodes with x264 at ``crf`` and ``preset``. Nothing is left at
    ``target`` (or beside it) unless everything worked.
    """
    source, target = Path(source), Path(target)
    info = info or probe(source)
    check_range(info, start, duration)
    check_target(source, target, force=force)
    width, height = fit_longest(info.width, info.height, size)
    scale = int(getattr(transform, "scale", 1))
    batch = batch_size or auto_batch(width, height, scale)
    audio = "none"
    with atomic_path(target, overwrite=force) as final:
        video_only = scratch_file(target, "video") if info.has_audio else final
        try:
            with (
                FrameReader(info, start=start, duration=duration, size=(width, height)) as reader,
                FrameWriter(
                    video_only, width * scale, height * scale, info.fps, crf=crf, preset=preset, rotation=info.rotation, sar=info.sar
                ) as writer,
            ):
                stats = run_pipeline(
                    reader,
                    transform,
                    writer.write,
                    batch_size=batch,
                    consistency=consistency,
                    measure=measure,
                    on_frames=on_frames,
                )
                writer.close()
            if info.has_audio:
                audio = add_audio(video_only, source, final, start=start, duration=duration)
        finally:
            if video_only != final:
                video_only.unlink(missing_ok=True)
    coded_width, coded_height = width * scale + width * scale % 2, height * scale + height * scale % 2
    return VideoResult(target, coded_width, coded_height, info, audio, stats)
