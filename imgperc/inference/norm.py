"""Instance-norm statistics of the whole image while a net runs on tiles.

`NormStats` intercepts every ``F.instance_norm`` that normalises by its input's statistics (the
ml5 and johnson nets). Its calls are counted in order, and depending on the mode:

- ``record``: normalises as usual and records each call's per-channel mean and variance;
- ``apply``: normalises the k-th call with the k-th given statistics instead of its input's;
  instance norm then is a fixed per-channel affine map, so a tile gets exactly what the whole
  image would;
- ``accumulate``: normalises the calls whose statistics are known (the first ``len(stats)``),
  sums the input of the next call over the tile's core (the part of the image that this tile is
  responsible for) and stops the forward pass there (`StopForward`): after every tile, the sums
  are those of the whole image, and `NormStats.accumulated` turns them into that call's
  statistics. One such pass per instance norm gives them all, exactly.

Statistics are [N, C] float64 (mean, variance) pairs, one per call.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

Stats = list[tuple[torch.Tensor, torch.Tensor]]


class StopForward(Exception):
    """Raised by ``accumulate`` once the call it measures has been summed."""


@dataclass(frozen=True)
class Core:
    """The tile's own region in tile-input pixels: rows [top, bottom), columns [left, right) of
    a ``height`` x ``width`` tile."""

    top: int
    bottom: int
    left: int
    right: int
    height: int
    width: int

    def scaled(self, h: int, w: int) -> tuple[slice, slice]:
        """The core in an activation of size h x w (a whole multiple or fraction of the tile)."""
        fy, fx = h / self.height, w / self.width
        return slice(round(self.top * fy), round(self.bottom * fy)), slice(round(self.left * fx), round(self.right * fx))


def _normalise(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, weight, bias, eps: float) -> torch.Tensor:
    shape = (x.shape[0], x.shape[1]) + (1,) * (x.ndim - 2)
    scale = torch.rsqrt(var.to(torch.float32) + eps)
    if weight is not None:
        scale = scale * weight.to(torch.float32)
    shift = -mean.to(torch.float32) * scale
    if bias is not None:
        shift = shift + bias.to(torch.float32)
    return x * scale.reshape(shape).to(x.dtype) + shift.reshape(shape).to(x.dtype)


def _arguments(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True, momentum=0.1, eps=1e-5):
    return input, weight, bias, use_input_stats, eps


class NormStats(TorchFunctionMode):
    """See the module docstring. ``stats`` are needed for ``apply`` and ``accumulate``."""

    def __init__(self, mode: str, stats: Stats | None = None) -> None:
        super().__init__()
        if mode not in ("record", "apply", "accumulate"):
            raise ValueError(f"unknown NormStats mode {mode!r}")
        if mode != "record" and stats is None:
            raise ValueError(f"NormStats mode {mode!r} needs statistics")
        self.mode = mode
        self.stats = stats
        self.recorded: Stats = []
        self.core: Core | None = None
        self.calls = 0
        self._sums: list[torch.Tensor] | None = None

    def next_tile(self, core: Core | None = None) -> None:
        """A new tile starts (with its core, for ``accumulate``): call counting restarts."""
        self.core = core
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not F.instance_norm:
            return func(*args, **kwargs)
        x, weight, bias, use_input_stats, eps = _arguments(*args, **kwargs)
        if not use_input_stats:
            return func(*args, **kwargs)
        index = self.calls
        self.calls += 1
        dims = tuple(range(2, x.ndim))
        if self.mode == "record":
            var, mean = torch.var_mean(x.to(torch.float32), dim=dims, correction=0)
            self.recorded.append((mean.double(), var.double()))
        elif index < len(self.stats):
            mean, var = self.stats[index]
        elif self.mode == "accumulate":
            self._accumulate(x, dims)
            raise StopForward
        else:
            raise RuntimeError("the net normalised more often than the statistics pass measured")
        return _normalise(x, mean, var, weight, bias, eps)

    def _accumulate(self, x: torch.Tensor, dims: tuple[int, ...]) -> None:
        rows, cols = self.core.scaled(x.shape[-2], x.shape[-1])
        part = x[..., rows, cols].to(torch.float64)
        sums = [part.sum(dim=dims), part.square().sum(dim=dims), torch.tensor(float(part[0, 0].numel()), dtype=torch.float64)]
        self._sums = sums if self._sums is None else [a + b for a, b in zip(self._sums, sums)]

    def accumulated(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The measured call's whole-image (mean, variance) from the sums over all cores."""
        if self._sums is None:
            raise RuntimeError("no tile reached the instance norm being measured")
        total, squares, count = self._sums
        mean = total / count
        return mean, (squares / count - mean.square()).clamp_min(0.0)
