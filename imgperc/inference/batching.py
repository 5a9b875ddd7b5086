"""Batches of same-size inputs, so a folder of photos runs through a net several at a time."""

from __future__ import annotations

from typing import Callable, Hashable, Iterable, Iterator, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

PIXELS_PER_BATCH = 2_000_000
MAX_BATCH = 8


def auto_batch(width: int, height: int, scale: int = 1) -> int:
    """Images per batch: as many as keep one batch's output near ``PIXELS_PER_BATCH`` pixels."""
    return max(1, min(MAX_BATCH, PIXELS_PER_BATCH // (width * height * scale * scale)))


def same_size_batches(items: Iterable[T], size: Callable[[T], K], limit: int | Callable[[K], int]) -> Iterator[list[T]]:
    """Consecutive items grouped while their ``size`` is the same, at most ``limit`` (or
    ``limit(size)``) per group; order is kept and items are read lazily (one group in memory)."""
    group: list[T] = []
    most = 0
    for item in items:
        if group and (len(group) >= most or size(item) != size(group[0])):
            yield group
            group = []
        if not group:
            most = limit(size(item)) if callable(limit) else limit
        group.append(item)
    if group:
        yield group
