"""What a task plugin supplies to the core trainer: its net, data pipeline and loss.

A plugin subclasses :class:`TrainJob` for its task and registers a click command (through the
``register_trainers`` hook) that builds the job from its options and calls
:func:`imgperc.train.train`. The core does the rest: devices, precision, data loading,
checkpoints, logs, previews, the result's model file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

from ..losses import LossReport
from .data import Sample, SampleFn


class TrainJob(ABC):
    """One training task with its options fixed.

    ``task`` names the kind of model (``style``, ``sr``: stored in the model file), and
    ``architecture``/``config`` the registered transform net it trains.
    """

    task: str
    architecture: str
    config: dict[str, Any]
    files: list[Path]
    # signature fields named otherwise than their option, ``--field-name`` (None: no option)
    option_names: ClassVar[Mapping[str, str | None]] = {}

    @abstractmethod
    def build_net(self) -> nn.Module:
        """A freshly initialised net (the core seeds torch first, so every process agrees)."""

    @abstractmethod
    def sampler(self) -> SampleFn:
        """The picklable function turning one image into one training sample (see :mod:`.data`)."""

    @abstractmethod
    def setup(self, device: torch.device) -> None:
        """Load the loss network and fixed targets onto ``device`` (once per process)."""

    @abstractmethod
    def loss(self, net: nn.Module, batch: Sample) -> LossReport:
        """The weighted loss terms for one batch (run under the run's autocast)."""

    @abstractmethod
    def previews(self, net: nn.Module) -> list[list[torch.Tensor]]:
        """Rows of ``[3,H,W]`` images showing the net on fixed validation inputs."""

    @abstractmethod
    def signature(self) -> dict[str, Any]:
        """The options a resumed run must share with the original (JSON values)."""

    @abstractmethod
    def metadata(self) -> dict[str, Any]:
        """What the result's model file records beyond the core's fields (recipe, loss network, data, ...)."""

    def finish(self, net: nn.Module) -> dict[str, Any]:
        """Refine the trained ``net`` in place before its model file is written (a closed-form
        step, say; on the main process only); returns fields for the model file's metadata."""
        return {}

    def describe(self) -> str:
        """One line for the start of the run."""
        return f"{self.task}: {self.architecture} {self.config}, {len(self.files)} training images"
