"""Decode -> batched network -> encode, concurrently, joined by bounded queues.

A decoder thread pulls frames from any iterator of ``[H,W,3]`` uint8 arrays and turns them into
float batches ``[N,3,H,W]`` in [0,1], estimating the optical flow between them when consistency
or measurement is on (`.temporal.MotionTracker`); the calling thread runs the transform (so
Ctrl-C lands there); an encoder thread blends and measures the results
(`.temporal.Stabilizer`), quantises them and hands each frame to a ``write`` callable. Queues
hold a few batches, so the network always has the next batch ready and never waits for the
encoder. The first error in any stage stops all
three and is raised in the caller.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch

from imgperc.tasks import Transform, check_output

from .temporal import Motion, MotionTracker, Stabilizer

_END = object()
_POLL_S = 0.1


class _Stopped(Exception):
    """Raised inside a stage when another stage failed."""


@dataclass(frozen=True)
class RunStats:
    """What one run did: frames, wall time, time inside the network, in the flow (decoder
    thread) and in blending and measuring (encoder thread), the warping errors (`--stats`)."""

    frames: int
    seconds: float
    net_seconds: float
    flow_seconds: float = 0.0
    blend_seconds: float = 0.0
    source_error: float | None = None
    output_error: float | None = None
    warp_ratio: float | None = None
    cuts: int = 0

    @property
    def fps(self) -> float:
        """End-to-end frames per second."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def net_fps(self) -> float:
        """Frames per second of the network alone."""
        return self.frames / self.net_seconds if self.net_seconds > 0 else 0.0

    @property
    def net_busy(self) -> float:
        """Share of the wall time the network was working (1.0: decoding/encoding cost nothing)."""
        return self.net_seconds / self.seconds if self.seconds > 0 else 0.0


def to_batch(frames: list[np.ndarray]) -> torch.Tensor:
    """``[H,W,3]`` uint8 RGB frames -> contiguous float ``[N,3,H,W]`` in [0,1]."""
    stacked = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
    return stacked.to(torch.float32, memory_format=torch.contiguous_format).div_(255.0)


def to_pixels(batch: torch.Tensor) -> torch.Tensor:
    """float ``[N,3,H,W]`` -> contiguous float32 ``[N,H,W,3]`` on the CPU."""
    return batch.detach().to("cpu", torch.float32).permute(0, 2, 3, 1).contiguous()


def quantize(pixels: torch.Tensor) -> np.ndarray:
    """float ``[N,H,W,3]`` -> uint8 (clamped to [0,1], rounded; ``pixels`` is overwritten)."""
    return pixels.clamp_(0.0, 1.0).mul_(255.0).add_(0.5).to(torch.uint8).numpy()


def to_frames(batch: torch.Tensor) -> np.ndarray:
    """float ``[N,3,H,W]`` -> ``[N,H,W,3]`` uint8 (clamped to [0,1], rounded).

    The one transpose is done first, in float, so that the rest runs over contiguous memory
    (about half the time of transposing the uint8 result at 640x360).
    """
    return quantize(to_pixels(batch))


class _Stage(threading.Thread):
    """A daemon thread that records its first error and tells the others to stop."""

    def __init__(self, name: str, body: Callable[[], None], stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self._body = body
        self._stop_event = stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._body()
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
            self._stop_event.set()


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise _Stopped
        try:
            q.put(item, timeout=_POLL_S)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue, stop: threading.Event) -> Any:
    while True:
        try:
            return q.get(timeout=_POLL_S)
        except queue.Empty:
            if stop.is_set():
                raise _Stopped from None


def run_pipeline(
    frames: Iterable[np.ndarray],
    transform: Transform,
    write: Callable[[np.ndarray], None],
    *,
    batch_size: int = 1,
    consistency: float = 0.0,
    measure: bool = False,
    on_frames: Callable[[int], None] | None = None,
    queued_batches: int = 3,
) -> RunStats:
    """Run ``transform`` over ``frames`` and ``write`` every result frame, in order.

    ``consistency`` in (0, 1] blends each output with the previous one warped along the flow
    (`.temporal`); ``measure`` fills in the warping errors of the returned `RunStats`;
    ``on_frames(n)`` reports progress.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    stop = threading.Event()
    decoded: queue.Queue = queue.Queue(maxsize=queued_batches)
    processed: queue.Queue = queue.Queue(maxsize=queued_batches)

    tracker = MotionTracker(consistency) if consistency > 0 or measure else None
    stabilizer = Stabilizer(measure=measure) if tracker is not None else None

    def decode() -> None:
        pending: list[np.ndarray] = []
        motions: list[Motion] = []
        for frame in frames:
            pending.append(frame)
            if tracker is not None:
                motions.append(tracker(frame))
            if len(pending) == batch_size:
                _put(decoded, (to_batch(pending), pending, motions), stop)
                pending, motions = [], []
        if pending:
            _put(decoded, (to_batch(pending), pending, motions), stop)
        _put(decoded, _END, stop)

    @torch.inference_mode()
    def encode() -> None:
        while (item := _get(processed, stop)) is not _END:
            result, sources, motions = item
            pixels = to_pixels(result)
            if stabilizer is not None:
                array = pixels.numpy()
                for i, (source, motion) in enumerate(zip(sources, motions)):
                    array[i] = stabilizer(source, array[i], motion)
            for frame in quantize(pixels):
                write(frame)

    stages = [_Stage("decode", decode, stop), _Stage("encode", encode, stop)]
    scale = int(getattr(transform, "scale", 1))
    count, net_seconds = 0, 0.0
    started = time.perf_counter()
    for stage in stages:
        stage.start()
    try:
        while (item := _get(decoded, stop)) is not _END:
            batch, sources, motions = item
            tick = time.perf_counter()
            with torch.inference_mode():
                result = transform(batch)
            net_seconds += time.perf_counter() - tick
            check_output(batch, result, scale)
            _put(processed, (result, sources, motions), stop)
            count += batch.shape[0]
            if on_frames is not None:
                on_frames(batch.shape[0])
        _put(processed, _END, stop)
        while stages[1].is_alive():
            stages[1].join(_POLL_S)
            if stop.is_set():
                raise _Stopped
    except _Stopped:
        _raise_stage_error(stages)
        raise RuntimeError("pipeline stopped without an error") from None
    finally:
        stop.set()
        for stage in stages:
            stage.join(timeout=2.0)
    _raise_stage_error(stages)
    return RunStats(
        frames=count,
        seconds=time.perf_counter() - started,
        net_seconds=net_seconds,
        flow_seconds=tracker.seconds if tracker else 0.0,
        blend_seconds=stabilizer.seconds if stabilizer else 0.0,
        source_error=stabilizer.source_error if stabilizer else None,
        output_error=stabilizer.output_error if stabilizer else None,
        warp_ratio=stabilizer.ratio if stabilizer else None,
        cuts=tracker.cuts if tracker else 0,
    )


def _raise_stage_error(stages: list[_Stage]) -> None:
    for stage in stages:
        if stage.error is not None:
            raise stage.error

