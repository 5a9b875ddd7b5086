"""imgperc_video.runner: the threaded decode -> net -> encode runner (its temporal consistency:
test_video_consistency.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from imgperc.errors import PluginError
from imgperc_video.runner import run_pipeline, to_batch, to_frames


class Invert:
    scale = 1

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return 1.0 - batch


class Nearest2x:
    scale = 2

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return batch.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def frames(n: int, h: int = 6, w: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(n)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_batches_round_trip_exactly():
    source = frames(3)
    assert np.array_equal(to_frames(to_batch(source)), np.stack(source))


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_frames_are_clamped_and_rounded_from_either_layout(layout):
    batch = torch.tensor([-0.2, 0.0, 0.5 / 255, 0.49 / 255, 100 / 255, 1.0, 1.3, 0.7]).reshape(1, 1, 2, 4).repeat(2, 3, 1, 1)
    batch[1] = 1.0 - batch[1]
    expected = np.clip(batch.numpy(), 0.0, 1.0) * 255.0 + 0.5
    got = to_frames(batch.contiguous(memory_format=layout))
    assert got.shape == (2, 2, 4, 3) and got.dtype == np.uint8 and got.flags.c_contiguous
    assert np.array_equal(got, expected.astype(np.uint8).transpose(0, 2, 3, 1))


@pytest.mark.parametrize("batch_size", [1, 3, 4, 16])
def test_every_frame_in_order_through_any_batch_size(batch_size):
    source, written, progress = frames(10), [], []
    stats = run_pipeline(iter(source), Invert(), written.append, batch_size=batch_size, on_frames=progress.append)
    assert len(written) == 10 == stats.frames == sum(progress)
    assert max(progress) == min(batch_size, 10)
    for got, original in zip(written, source):
        assert np.array_equal(got, 255 - original)
    assert stats.net_seconds <= stats.seconds
    assert not [t for t in threading.enumerate() if t.name in ("decode", "encode")]


def test_scale_two_task_doubles_the_frames():
    written = []
    run_pipeline(iter(frames(3)), Nearest2x(), written.append, batch_size=2)
    assert [f.shape for f in written] == [(12, 16, 3)] * 3


def test_errors_in_any_stage_reach_the_caller_and_stop_the_threads():
    def bad_source():
        yield from frames(4)
        raise ValueError("decoder broke")

    with pytest.raises(ValueError, match="decoder broke"):
        run_pipeline(bad_source(), Invert(), lambda f: None, batch_size=2)

    def bad_sink(frame):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_pipeline(iter(frames(40)), Invert(), bad_sink, batch_size=2)

    class Interrupted:
        scale = 1
        calls = 0

        def __call__(self, batch):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            return batch

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(iter(frames(40)), Interrupted(), lambda f: None)
    assert not [t for t in threading.enumerate() if t.name in ("decode", "encode") and t.is_alive()]


def test_a_task_returning_the_wrong_shape_is_named():
    with pytest.raises(PluginError, match=r"expected \(2, 3, 12, 16\)"):
        run_pipeline(iter(frames(2)), type("Lying", (Invert,), {"scale": 2})(), lambda f: None, batch_size=2)
