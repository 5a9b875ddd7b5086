"""Batches of same-size inputs, so a folder of photos runs through a net several at a time."""

from __future__ import annotations

from typing import Callable, Hashable, Iterable, Iterator, TypeVar

T = TypeVar("T")


def same_size_batches(items: Iterable[T], size: Callable[[T], Hashable], limit: int) -> Iterator[list[T]]:
    """Consecutive items grouped while their ``size`` is the same, at most ``limit`` per group;
    order is kept and items are read lazily (one group in memory at a time)."""
    group: list[T] = []
    for item in items:
        if group and (len(group) >= limit or size(item) != size(group[0])):
            yield group
            group = []
        group.append(item)
    if group:
        yield group
