"""The generic frame pipeline any image task runs in (video today): threads, batches, temporal filters."""

from .runner import RunStats, run_pipeline, to_batch, to_frames
from .temporal import ChangeMeter, Deflicker

__all__ = ["ChangeMeter", "Deflicker", "RunStats", "run_pipeline", "to_batch", "to_frames"]
