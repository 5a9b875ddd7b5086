"""The core trainer: task plugins supply a :class:`TrainJob`; :func:`train` does the rest.

See :mod:`.loop` for the run folder, :mod:`.data` for the data stream, :mod:`.checkpoint` for
checkpoints and resuming, :mod:`.runtime` for devices, precision and torch.distributed.
"""

from .data import Sample, SampleFn, list_images
from .job import TrainJob
from .loop import TrainingInterrupted, train
from .options import TrainSettings, common_options, split_settings

__all__ = ["Sample", "SampleFn", "TrainJob", "TrainSettings", "TrainingInterrupted", "common_options", "list_images", "split_settings", "train"]
