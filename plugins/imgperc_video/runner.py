"""Decode -> batched network -> encode, concurrently, joined by bounded queues.

A decoder thread pulls frames from any iterator of ``[H,W,3]`` uint8 arrays and turns them into
float batches ``[N,3,H,W]`` in [0,1]; the calling thread runs the transform (so Ctrl-C lands
there) plus optional deflicker and measurement; an encoder thread quantises the results and
hands each frame to a ``write`` callable. Queues hold a few batches, so the network always has
the next batch ready and never waits for the encoder. The first error in any stage stops all
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

from .temporal import ChangeMeter, Deflicker

_END = object()
_POLL_S = 0.1


class _Stopped(Exception):
    """Raised inside a stage when another stage failed."""


@dataclass(frozen=True)
class RunStats:
    """What one run did: frames, wall time, time inside the network, temporal change figures."""

    frames: int
    seconds: float
    net_seconds: float
    input_change: float | None = None
    output_change: float | None = None
    flicker: float | None = None

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


def to_frames(batch: torch.Tensor) -> np.ndarray:
    """float ``[N,3,H,W]`` -> ``[N,H,W,3]`` uint8 (clamped to [0,1], rounded).

    The one transpose is done first, in float, so that the rest runs over contiguous memory
    (about half the time of transposing the uint8 result at 640x360).
    """
    pixels = batch.detach().to("cpu", torch.float32).permute(0, 2, 3, 1).contiguous()
    return pixels.clamp_(0.0, 1.0).mul_(255.0).add_(0.5).to(torch.uint8).numpy()


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
    deflicker: float = 0.0,
    measure: bool = False,
    on_frames: Callable[[int], None] | None = None,
    queued_batches: int = 3,
) -> RunStats:
    """Run ``transform`` over ``frames`` and ``write`` every result frame, in order.

    ``deflicker`` in [0, 1] turns on `Deflicker` at that strength; ``measure`` fills in the
    temporal change figures of the returned `RunStats`; ``on_frames(n)`` reports progress.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    stop = threading.Event()
    decoded: queue.Queue = queue.Queue(maxsize=queued_batches)
    processed: queue.Queue = queue.Queue(maxsize=queued_batches)

    def decode() -> None:
        pending: list[np.ndarray] = []
        for frame in frames:
            pending.append(frame)
            if len(pending) == batch_size:
                _put(decoded, to_batch(pending), stop)
                pending = []
        if pending:
            _put(decoded, to_batch(pending), stop)
        _put(decoded, _END, stop)

    def encode() -> None:
        while (batch := _get(processed, stop)) is not _END:
            for frame in to_frames(batch):
                write(frame)

    stages = [_Stage("decode", decode, stop), _Stage("encode", encode, stop)]
    blender = Deflicker(deflicker) if deflicker > 0 else None
    meter = ChangeMeter() if measure else None
    scale = int(getattr(transform, "scale", 1))
    count, net_seconds = 0, 0.0
    started = time.perf_counter()
    for stage in stages:
        stage.start()
    try:
        while (batch := _get(decoded, stop)) is not _END:
            tick = time.perf_counter()
            with torch.inference_mode():
                result = transform(batch)
            net_seconds += time.perf_counter() - tick
            check_output(batch, result, scale)
            with torch.inference_mode():
                result = result.to(batch.device, torch.float32)
                if blender is not None:
                    result = blender(batch, result)
                if meter is not None:
                    meter.update(batch, result)
            _put(processed, result, stop)
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
        input_change=meter.input_change if meter else None,
        output_change=meter.output_change if meter else None,
        flicker=meter.ratio if meter else None,
    )


def _raise_stage_error(stages: list[_Stage]) -> None:
    for stage in stages:
        if stage.error is not None:
            raise stage.error

