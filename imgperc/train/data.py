"""Training data: an endless, deterministic stream of batches from a folder of images.

The order of samples depends only on the seed: global sample ``k`` is position ``k mod N`` of
the ``k // N``-th shuffle of the file list, and its random crop is drawn from a generator seeded
by ``(seed, k)``. A run resumed at iteration ``i`` therefore sees exactly the batches it would
have seen without the interruption, whatever the number of worker processes. Under
torch.distributed, rank ``r`` of ``W`` takes global batch ``i * W + r`` at iteration ``i``.

Decoded images are kept in memory (as 8-bit, up to ``CACHE_BYTES`` per process), so small
training sets, such as the 91-image and 200-image super-resolution sets, are decoded once.

Unreadable images are skipped (the next file of the same shuffle takes their place) and
reported with each batch, so the trainer can count them; only a folder without a single
readable image is fatal.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ..errors import ImgpercError, InputError
from ..io.image import read_image
from ..io.paths import collect_inputs
from .runtime import ignore_interrupts

Sample = tuple[torch.Tensor, ...]
CACHE_BYTES = 2 << 30
SampleFn = Callable[[torch.Tensor, random.Random], Sample]
"""``sample(pixels [3,H,W] in [0,1], rng) -> tensors`` (picklable: it runs in worker processes)."""


def list_images(folder: str | Path) -> list[Path]:
    """Every image under ``folder`` (recursive, sorted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"training data folder {folder} does not exist or is not a folder")
    return collect_inputs([folder], recursive=True)


def shuffled(count: int, seed: int, epoch: int) -> list[int]:
    """The file order of one epoch."""
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


class BatchStream(IterableDataset):
    """Batches ``(tensors..., skipped_paths)`` for iterations ``start, start+1, ...`` of one rank."""

    def __init__(
        self,
        files: Sequence[Path],
        sample: SampleFn,
        *,
        batch_size: int,
        seed: int,
        start: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        super().__init__()
        self.files = list(files)
        self.sample = sample
        self.batch_size = batch_size
        self.seed = seed
        self.start = start
        self.rank = rank
        self.world = world
        self._orders: dict[int, list[int]] = {}
        self._cache: dict[Path, torch.Tensor] = {}
        self._cached_bytes = 0

    def _pixels(self, path: Path) -> torch.Tensor:
        """The image at ``path`` as [3,H,W] in [0,1], decoded once while the cache has room
        (cached images come back rounded to 8 bits, the same on every read)."""
        if path not in self._cache:
            pixels = read_image(path).pixels
            if self._cached_bytes + pixels.numel() > CACHE_BYTES:
                return pixels
            self._cache[path] = (pixels * 255).round().to(torch.uint8)
            self._cached_bytes += pixels.numel()
        return self._cache[path].float() / 255

    def _file_index(self, k: int) -> tuple[int, int]:
        epoch, position = divmod(k, len(self.files))
        if epoch not in self._orders:
            self._orders = {epoch: shuffled(len(self.files), self.seed, epoch)}
        return epoch, position

    def load(self, k: int, skipped: list[str]) -> Sample:
        """Global sample ``k`` (falling forward over unreadable files of the same shuffle)."""
        epoch, position = self._file_index(k)
        order = self._orders[epoch]
        for step in range(len(order)):
            path = self.files[order[(position + step) % len(order)]]
            try:
                pixels = self._pixels(path)
            except InputError:
                skipped.append(str(path))
                continue
            return self.sample(pixels, random.Random(f"{self.seed}:{k}"))
        raise InputError(f"none of the {len(self.files)} training images could be read")

    def batch(self, iteration: int) -> tuple[Sample, list[str]]:
        """The batch of this rank at ``iteration`` and the unreadable files met on the way."""
        first = (iteration * self.world + self.rank) * self.batch_size
        skipped: list[str] = []
        samples = [self.load(k, skipped) for k in range(first, first + self.batch_size)]
        return tuple(torch.stack(parts) for parts in zip(*samples)), skipped

    def __iter__(self) -> Iterator[tuple[Sample, list[str]] | ImgpercError]:
        """Batches; an imgperc error ends the stream as an item, for `batch_loader` to raise."""
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        iteration = self.start + worker
        while True:
            try:
                batch = self.batch(iteration)
            except ImgpercError as exc:
                yield exc
                return
            yield batch
            iteration += workers


def batch_loader(stream: BatchStream, workers: int) -> Iterator[tuple[Sample, list[str]]]:
    """Iterate ``stream`` in ``workers`` processes (0: in the training process), in order.

    An imgperc error in a worker is raised here as it is: the same one-line error as without
    workers (torch would re-raise it wrapped in the worker's traceback).
    """
    loader = DataLoader(
        stream,
        batch_size=None,
        num_workers=workers,
        prefetch_factor=2 if workers else None,
        worker_init_fn=ignore_interrupts,
    )
    for item in loader:
        if isinstance(item, ImgpercError):
            raise item
        yield item
