"""`Engine`: a transform net prepared to run as fast as the device allows, with bounded memory."""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Protocol

import torch
from torch import nn

from .. import settings
from ..choices import COMPILE_MODES
from ..errors import InputError
from ..precision import DTYPES, NAMES, resolve
from . import graph, tiling
from .device import select_device
from .padding import net_pad, run_padded
from .precision import ReducedPrecision, suspicious
from .threads import configure_threads

DEFAULT_BATCH_SIZE = 4
CPU_BATCH_SIZE = 1  # on CPUs, batches of 4 ran 20% slower than single images (cache)
CL = torch.channels_last


class _Retry(Exception):
    """A reduced-precision tile went wrong: the image starts again in fp32."""


class Observer(Protocol):
    """Told what takes engines long, to show it (`observed`): a compile, the tiles of an image."""

    def notice(self, text: str) -> None: ...

    def tiles(self, done: int, total: int) -> None: ...


_observer: ContextVar[Observer | None] = ContextVar("imgperc_engine_observer", default=None)


@contextmanager
def observed(observer: Observer) -> Iterator[None]:
    """While the block runs, every engine (in this thread) tells ``observer`` of its compiles
    and of each tile it runs."""
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


def compile_mode(value: str | None) -> str:
    """``auto``, ``always`` or ``never``; None reads ``IMGPERC_COMPILE`` (default ``auto``)."""
    if not value:
        return settings.compile_mode()
    mode = value.strip().lower()
    if mode not in COMPILE_MODES:
        raise InputError(f"unknown compile mode '{mode}' (choose from {', '.join(COMPILE_MODES)})")
    return mode


class Engine(nn.Module):
    """``net`` on its fastest correct configuration for ``device``.

    - precision: ``auto`` as `imgperc.precision.resolve` says for inference; reduced
      precision covers the inner convolutions only, and a NaN, infinite or black output makes
      the engine fall back to fp32 by itself (``events`` says so);
    - channels-last layout, threads matched to the free physical cores;
    - compiled graphs (`graph`): ``compile="always"`` compiles each new input shape at once,
      ``auto`` loads a cached package, or compiles once eager running of that shape has cost
      as long as a compile does (so short jobs never wait for the compiler), ``never`` stays eager;
    - tiles (`tiling`) for images that do not fit the memory budget (``tile="auto"``), or of a
      given size; ``None`` never tiles.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        device: str | torch.device = "auto",
        precision: str = "auto",
        tile: str | int | None = "auto",
        compile: str | None = None,
        threads: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        super().__init__()
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.dtype = DTYPES[resolve(precision, self.device, "inference")]
        self.tile = tiling.parse_tile(tile)
        self.compile_mode = compile_mode(compile)
        self.threads = configure_threads(threads) if self.device.type == "cpu" else None
        self.batch_size = batch_size or (CPU_BATCH_SIZE if self.device.type == "cpu" else DEFAULT_BATCH_SIZE)
        self.net = net.eval().to(self.device, memory_format=CL)
        self.multiple = getattr(net, "size_multiple", 1)
        self.reflection_pad = net_pad(net)  # so the engine asks for what its net does
        self.scale = int(getattr(net, "scale", 1))
        self.events: list[str] = []
        self._compiled: dict[tuple, graph.CompiledNet | None] = {}
        self._eager_seconds: dict[tuple, float] = defaultdict(float)
        self._probe: tuple[float, int] | None = None

    @property
    def precision(self) -> str:
        """The precision in use now (after any fallback): ``fp32``, ``bf16`` or ``fp16``."""
        return NAMES[self.dtype]

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.run(batch)

    def run(self, batch: torch.Tensor, *, pad: int | None = None, batch_size: int | None = None) -> torch.Tensor:
        """[N,3,H,W] in [0,1] -> [N,3,H·s,W·s] in [0,1] on batch's device (see `run_net`)."""
        pad = self.reflection_pad if pad is None else pad
        return run_padded(self._canvas, batch, pad=pad, batch_size=batch_size or self.batch_size, multiple=self.multiple, device=self.device, scale=self.scale)

    # --- whole canvases and tiles ----------------------------------------------------------

    def _canvas(self, x: torch.Tensor) -> torch.Tensor:
        tile = self.tile_for(x.shape)
        if tile is None:
            return self._guarded(x)
        outputs = []
        observer = _observer.get()
        on_tile = observer.tiles if observer is not None else None
        for image in x.split(1):
            while True:
                try:
                    outputs.append(tiling.run_tiled(self._tile_forward, image, tile=tile, multiple=self.multiple, on_tile=on_tile))
                    break
                except _Retry:
                    continue
        return torch.cat(outputs)

    def tile_for(self, shape: torch.Size | tuple[int, ...]) -> int | None:
        """The core tile side for a padded batch of this shape, or None to run it whole."""
        n, c, h, w = shape
        if self.tile is None:
            return None
        if isinstance(self.tile, int):
            return self.tile if max(h, w) > self.tile else None
        if self._probe is None:
            self._probe = tiling.probe(self.net, self.multiple, channels=c)
        per_pixel, scale = self._probe
        budget = tiling.memory_budget(self.device)
        buffers = 4 * c * h * w * (1 + scale * scale)  # the canvas and the blended output
        if tiling.PEAK_FACTOR * per_pixel * n * h * w + buffers <= budget:
            return None
        minimum = 4 * tiling.DEFAULT_FEATHER
        return tiling.auto_tile(per_pixel, budget - buffers, tiling.DEFAULT_MARGIN, self.multiple, minimum)

    def _tile_forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=CL)
        y = self._eager(x)
        if self.dtype != torch.float32 and (reason := suspicious(y, x)):
            self._fall_back(reason)
            raise _Retry
        return y

    # --- one forward pass: compiled or eager, guarded --------------------------------------

    def _guarded(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=CL)
        y = self._call(x)
        if self.dtype == torch.float32 or not (reason := suspicious(y, x)):
            return y
        low = self.dtype
        self.dtype = torch.float32
        y = self._call(x)
        if reason == "a black image" and suspicious(y, x):
            self.dtype = low  # black in fp32 too: the net means it
            return y
        self.dtype = low
        self._fall_back(reason)
        return y

    def _fall_back(self, reason: str) -> None:
        message = f"{self.precision} gave {reason}: switched to fp32"
        self.events.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)
        self.dtype = torch.float32

    def _call(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), self.dtype)
        runner = self._runner(key, x)
        if runner is not None:
            return runner(self.net, x)
        start = time.perf_counter()
        y = self._eager(x)
        self._eager_seconds[key] += time.perf_counter() - start
        return y

    def _eager(self, x: torch.Tensor) -> torch.Tensor:
        if self.dtype == torch.float32:
            return self.net(x)
        with ReducedPrecision(self.dtype):
            return self.net(x)

    def _runner(self, key: tuple, x: torch.Tensor) -> graph.CompiledNet | None:
        if self.compile_mode == "never":
            return None
        if key not in self._compiled:
            self._compiled[key] = graph.load_compiled(self.net, x, self.dtype)
            if self._compiled[key] is not None:
                self.events.append(f"loaded the compiled net for {list(key[0])} {self.precision}")
        if self._compiled[key] is not None:
            return self._compiled[key]
        expected = graph.compile_seconds(self.device)  # read once: a file on disk
        if self.compile_mode == "always" or self._eager_seconds[key] >= expected:
            if (observer := _observer.get()) is not None:
                *_, h, w = x.shape
                observer.notice(f"compiling the net for a new size ({w}x{h}): about {expected:.0f} s, once (later runs of this size load it)")
            self._compiled[key] = self._compile(x)
        return self._compiled[key]

    def _compile(self, x: torch.Tensor) -> graph.CompiledNet | None:
        start = time.perf_counter()
        try:
            compiled = graph.compile_net(self.net, x, self.dtype)
        except Exception as exc:  # no C++ compiler, an op the exporter cannot take, ...
            message = f"compiling failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}): running eagerly"
            self.events.append(message)
            warnings.warn(message, RuntimeWarning, stacklevel=5)
            self.compile_mode = "never"
            return None
        self.events.append(f"compiled the net for {list(x.shape)} {self.precision} in {time.perf_counter() - start:.0f} s")
        return compiled
