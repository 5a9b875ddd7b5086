"""Frame-to-frame behaviour of a processed sequence: flicker reduction and its measurement.

Per-frame networks (style transfer above all) flicker: tiny input changes, down to compression
noise, change the output a lot. `Deflicker` blends each output frame with the previous shown one
wherever the input has not changed since; `ChangeMeter` measures the mean absolute difference
between consecutive frames of the input and of the output, whose ratio is the flicker figure.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DEFAULT_THRESHOLD = 0.06
DEFAULT_RADIUS = 3


class Deflicker:
    """Recursive, change-guided blending of consecutive output frames.

    For each frame, the input's change is measured against the input the previous *shown* frame
    stands for (itself blended, so slow drifts add up and are not smeared away); averaged over a
    ``(2·radius+1)²`` window, a change of 0 gives blend weight ``strength``, a change of
    ``threshold`` (in [0,1] pixel units) or more gives 0: moving regions stay sharp, still ones
    stop shimmering. Works for any scale: the weight map is resized to the output.
    """

    def __init__(self, strength: float, *, threshold: float = DEFAULT_THRESHOLD, radius: int = DEFAULT_RADIUS):
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"deflicker strength must be in [0, 1], got {strength}")
        self.strength = strength
        self.threshold = threshold
        self.radius = radius
        self._shown_input: torch.Tensor | None = None
        self._shown: torch.Tensor | None = None

    def weight(self, reference: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        """Blend weights ``[1,1,H,W]`` from a reference input and the new input (both ``[1,3,H,W]``)."""
        change = (frame - reference).abs().mean(dim=1, keepdim=True)
        size = 2 * self.radius + 1
        change = F.avg_pool2d(change, size, stride=1, padding=self.radius, count_include_pad=False)
        return (1.0 - change / self.threshold).clamp_(0.0, 1.0).mul_(self.strength)

    def __call__(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """Blend a batch (inputs ``[N,3,H,W]``, outputs ``[N,3,sH,sW]``), continuing the last batch."""
        blended = []
        for i in range(inputs.shape[0]):
            x, y = inputs[i : i + 1], outputs[i : i + 1]
            if self._shown is not None and self._shown_input is not None and self._shown.shape == y.shape:
                w = self.weight(self._shown_input, x)
                x = torch.lerp(x, self._shown_input, w)
                if w.shape[-2:] != y.shape[-2:]:
                    w = F.interpolate(w, size=y.shape[-2:], mode="bilinear", align_corners=False)
                y = torch.lerp(y, self._shown, w)
            self._shown_input, self._shown = x, y
            blended.append(y)
        return torch.cat(blended)


class ChangeMeter:
    """Mean absolute difference between consecutive frames, for the input and the output sequence."""

    def __init__(self) -> None:
        self.frames = 0
        self._sums = {"input": 0.0, "output": 0.0}
        self._last: dict[str, torch.Tensor] = {}

    def update(self, inputs: torch.Tensor, outputs: torch.Tensor) -> None:
        """Add one batch of inputs and their outputs (in order, continuing the previous batch)."""
        for key, frames in (("input", inputs), ("output", outputs)):
            previous = self._last.get(key)
            sequence = frames if previous is None else torch.cat([previous, frames])
            if sequence.shape[0] > 1:
                diffs = (sequence[1:] - sequence[:-1]).abs().flatten(1).mean(dim=1)
                self._sums[key] += float(diffs.sum())
            self._last[key] = frames[-1:]
        self.frames += inputs.shape[0]

    @property
    def pairs(self) -> int:
        """How many consecutive-frame pairs were measured."""
        return max(self.frames - 1, 0)

    @property
    def input_change(self) -> float | None:
        return self._sums["input"] / self.pairs if self.pairs else None

    @property
    def output_change(self) -> float | None:
        return self._sums["output"] / self.pairs if self.pairs else None

    @property
    def ratio(self) -> float | None:
        """Output change relative to input change: the flicker figure (lower is steadier)."""
        if not self.pairs or not self._sums["input"]:
            return None
        return self._sums["output"] / self._sums["input"]
