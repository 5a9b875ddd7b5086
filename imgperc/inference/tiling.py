"""Tiled inference with bounded memory: overlapping tiles, feathered seams, whole-image statistics.

The padded image (the canvas) is cut into cores that partition it; each tile is its core plus a
margin of context on every side (clipped at the canvas border). Tile outputs are blended with
weights that ramp linearly across each seam (``feather`` pixels either side of it); the ramps
of neighbouring tiles add up to one, so no seam shows and no weight map is kept.

Nets with instance norm need the statistics of the whole image, which no tile has, and they are
sensitive to them: statistics from a downscaled copy of the image (a few per cent off) change
the look visibly. So they are measured exactly, at full resolution (`NormStats`): one pass over
the tiles per instance norm, each normalising the layers before it with the statistics already
measured and stopping at the one it measures; then the final pass normalises every tile with
the whole image's statistics, as the untiled net does. Measuring costs about half a forward
pass per instance norm (the passes stop early), so tiling a style net is several times slower
than running it whole: it is what makes images that do not fit in memory possible.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

from .. import settings
from ..errors import InputError
from .norm import Core, NormStats, Stats, StopForward

DEFAULT_MARGIN = 96
DEFAULT_FEATHER = 32
MEMORY_CAP = 2 << 30
PEAK_FACTOR = 4.0  # peak memory over the widest layer output: 3.6 measured for ml5 (eager, fp32)

Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Span:
    """One axis of a tile: the context [start, stop) and the core [core_start, core_stop)."""

    start: int
    stop: int
    core_start: int
    core_stop: int


def spans(length: int, tile: int, margin: int, multiple: int) -> list[Span]:
    """Cores of about ``tile`` pixels (whole multiples of ``multiple``) covering ``length``, each
    with ``margin`` pixels of context on both sides, clipped to [0, length)."""
    units = length // multiple
    count = max(1, math.ceil(length / tile))
    cuts = [round(i * units / count) * multiple for i in range(count + 1)]
    return [Span(max(0, a - margin), min(length, b + margin), a, b) for a, b in zip(cuts, cuts[1:])]


def ramp(span: Span, length: int, feather: int, scale: int, device: torch.device) -> torch.Tensor:
    """Blend weights over the span's output pixels: 1 inside, linear across each inner seam."""
    position = (torch.arange(span.start * scale, span.stop * scale, device=device, dtype=torch.float32) + 0.5) / scale
    weight = torch.ones_like(position)
    if span.core_start > 0:
        weight = weight * ((position - (span.core_start - feather)) / (2 * feather)).clamp(0.0, 1.0)
    if span.core_stop < length:
        weight = weight * (((span.core_stop + feather) - position) / (2 * feather)).clamp(0.0, 1.0)
    return weight


def tiles(h: int, w: int, tile: int, margin: int, multiple: int) -> Iterator[tuple[Span, Span]]:
    """(rows, columns) of every tile of an h x w canvas."""
    for rows in spans(h, tile, margin, multiple):
        for cols in spans(w, tile, margin, multiple):
            yield rows, cols


def tile_core(rows: Span, cols: Span) -> Core:
    """The core of the tile (``rows``, ``cols``) in that tile's own pixels."""
    return Core(
        rows.core_start - rows.start,
        rows.core_stop - rows.start,
        cols.core_start - cols.start,
        cols.core_stop - cols.start,
        rows.stop - rows.start,
        cols.stop - cols.start,
    )


def _norm_count(forward: Forward, canvas: torch.Tensor, multiple: int) -> int:
    """How many instance norms with input statistics the net runs (from a small crop)."""
    side = 8 * multiple
    recorder = NormStats("record")
    with recorder:
        forward(canvas[..., :side, :side])
    return len(recorder.recorded)


def whole_image_stats(
    forward: Forward,
    canvas: torch.Tensor,
    tile: int,
    margin: int,
    multiple: int,
    *,
    norms: int | None = None,
    on_tile: Callable[[], None] | None = None,
) -> Stats:
    """Every instance norm's statistics over the whole canvas, measured tile by tile (``norms``
    of them: counted if None); ``on_tile()`` after each tile."""
    h, w = canvas.shape[-2:]
    stats: Stats = []
    for _ in range(_norm_count(forward, canvas, multiple) if norms is None else norms):
        meter = NormStats("accumulate", stats)
        with meter:
            for rows, cols in tiles(h, w, tile, margin, multiple):
                meter.next_tile(tile_core(rows, cols))
                try:
                    forward(canvas[..., rows.start : rows.stop, cols.start : cols.stop])
                except StopForward:
                    pass
                if on_tile is not None:
                    on_tile()
        stats.append(meter.accumulated())
    return stats


def run_tiled(
    forward: Forward,
    canvas: torch.Tensor,
    *,
    tile: int,
    multiple: int,
    margin: int = DEFAULT_MARGIN,
    feather: int = DEFAULT_FEATHER,
    on_tile: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """``forward`` over the tiles of ``canvas`` ([1,C,H,W], H and W multiples of ``multiple``);
    ``on_tile(done, total)`` after each tile of each pass (one per instance norm, then the last)."""
    h, w = canvas.shape[-2:]
    margin = -(-margin // multiple) * multiple
    rows_spans, cols_spans = spans(h, tile, margin, multiple), spans(w, tile, margin, multiple)
    cores = [s.core_stop - s.core_start for s in rows_spans + cols_spans]
    feather = max(1, min(feather, margin, min(cores) // 2))
    norms = _norm_count(forward, canvas, multiple)
    total, done = len(rows_spans) * len(cols_spans) * (norms + 1), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_tile is not None:
            on_tile(done, total)

    stats = whole_image_stats(forward, canvas, tile, margin, multiple, norms=norms, on_tile=tick)
    output = None
    applier = NormStats("apply", stats)
    with applier:
        for rows, cols in tiles(h, w, tile, margin, multiple):
            applier.next_tile()
            y = forward(canvas[..., rows.start : rows.stop, cols.start : cols.stop])
            if output is None:
                scale = y.shape[-2] // (rows.stop - rows.start)
                output = y.new_zeros(y.shape[0], y.shape[1], h * scale, w * scale)
            weight = ramp(rows, h, feather, scale, y.device)[:, None] * ramp(cols, w, feather, scale, y.device)[None, :]
            output[..., rows.start * scale : rows.stop * scale, cols.start * scale : cols.stop * scale] += y * weight
            tick()
    return output


# --- memory ----------------------------------------------------------------------------------


def probe(net: nn.Module, multiple: int, channels: int = 3, side: int = 32) -> tuple[float, int]:
    """(bytes of the widest layer output per input pixel in fp32, the net's scale factor), from
    one small forward pass with hooks on the leaf modules."""
    widest = 0
    device = next(net.parameters(), torch.empty(0)).device
    side = -(-side // multiple) * multiple

    def hook(module, inputs, output) -> None:
        nonlocal widest
        if isinstance(output, torch.Tensor):
            widest = max(widest, output.numel() * 4)

    leaves = [m for m in net.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.inference_mode():
            y = net(torch.rand(1, channels, side, side, device=device).contiguous(memory_format=torch.channels_last))
    finally:
        for handle in handles:
            handle.remove()
    return widest / side**2, max(1, y.shape[-2] // side)


def available_memory(device: torch.device) -> int:
    """Bytes this process may still use on ``device`` (the OS's MemAvailable on CPUs)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def memory_budget(device: torch.device) -> int:
    """Bytes the net may use: ``IMGPERC_MEMORY`` if set, else half of what is available, at
    most ``MEMORY_CAP``."""
    override = settings.memory()
    if override is not None:
        return override
    return min(MEMORY_CAP, available_memory(device) // 2)


def auto_tile(pixels_bytes: float, budget: int, margin: int, multiple: int, minimum: int) -> int:
    """The largest core side whose tile (core plus margins) stays within ``budget`` bytes."""
    side = int(math.sqrt(max(budget, 1) / (PEAK_FACTOR * pixels_bytes))) - 2 * margin
    return max(minimum, side // multiple * multiple)


def parse_tile(value: str | int | None) -> int | str | None:
    """``--tile``: a number of pixels, ``auto`` (tile only when the image does not fit in the
    memory budget), or ``off``/None (never tile)."""
    if value is None or value == "off":
        return None
    if value == "auto":
        return "auto"
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise InputError(f"--tile must be a number of pixels, 'auto' or 'off', got {value!r}") from None
    if size < 2 * DEFAULT_FEATHER + 8:
        raise InputError(f"--tile must be at least {2 * DEFAULT_FEATHER + 8} pixels, got {size}")
    return size
