"""The core trainer: task plugins supply a :class:`TrainJob`; :func:`train` does the rest.

See :mod:`.loop` for the run folder, :mod:`.data` for the data stream, :mod:`.checkpoint` for
checkpoints and resuming, :mod:`.runtime` for devices, precision and torch.distributed. The
names below load with their module when first used, so a trainer's command imports its options
(:mod:`.options`) without torch.
"""

from ..lazy import exports

__getattr__, __dir__, __all__ = exports(
    __name__,
    {
        ".data": ("Sample", "SampleFn", "list_images"),
        ".job": ("TrainJob",),
        ".loop": ("TrainingInterrupted", "train"),
        ".options": ("TrainSettings", "common_options", "split_settings"),
    },
)
