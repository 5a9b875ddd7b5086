"""An image task over image files: the body of `imgperc stylize`, `imgperc upscale` and of every
command `imgperc.cli.image_files` makes for a plugin's task.

Inputs are collected (files, folders, ``-r``) less our earlier outputs (`output_tags`: of any
model or task, not only this command's); every output is named
and checked before any work; under torchrun the inputs are shared out (`imgperc.scaleout`);
images are read, resized (``--size``), run through the task in batches of same-size images and
written atomically, the reading and writing in threads beside the net; a progress bar shows on
folders. Of several inputs, an unreadable one is reported (one line) and skipped; the command
still fails at the end.
"""

from __future__ import annotations

import glob
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import torch

from ..api import resize_longest
from ..atomic import check_writable
from ..cli.progress import count_progress
from ..errors import InputError, echo_error
from ..inference.batching import auto_batch, same_size_batches
from ..io import Image, collect_sources, output_paths, read_image, write_image
from ..scaleout import Listing, main_first, processes, share
from ..tasks import ImageTask, Transform, check_output, colour_output

Finish = Callable[[Image, torch.Tensor], Image]


@dataclass(frozen=True)
class FileOptions:
    """The values of the options every image-files command has."""

    inputs: tuple[Path, ...]
    output: Path | None = None
    recursive: bool = False
    size: int | None = None
    device: str = "auto"
    force: bool = False
    quiet: bool = False


def run_image_task(task: ImageTask, values: dict[str, Any], files: FileOptions, *, verb: str) -> None:
    """Apply ``task`` (configured by its option ``values``) to the files, as `verb` says."""
    tag = task.tag(values)
    sources = collect_sources(files.inputs, tag=tag, recursive=files.recursive, verb=verb, other_tags=output_tags())
    targets = output_paths(sources, tag=tag, output=files.output)
    for target in targets:
        check_writable(target, overwrite=files.force)
    with processes(files.device) as runtime:
        with main_first(runtime):
            transform = task.transform(values, files.device)
        mine = share(list(zip(sources, targets)), runtime)
        listing = Listing(runtime, quiet=files.quiet)
        label = verb if not runtime.distributed else f"{verb} (process {runtime.rank + 1} of {runtime.world})"
        unreadable: list[InputError] = []

        def skip(error: InputError) -> None:  # one of several inputs: report it, go on, fail at the end
            unreadable.append(error)
            echo_error(error)

        finish = task.finish or colour_output
        with count_progress(
            "images", "images/s", enabled=len(sources) > 1 and runtime.main and not files.quiet, feedback=runtime.main and not files.quiet
        ) as progress:
            bar = progress.add_task(label, total=len(mine))
            on_unreadable = skip if len(sources) > 1 else None
            for index, target in transform_files(mine, transform, finish, size=files.size, force=files.force, on_unreadable=on_unreadable):
                listing.add(index, str(target))
                progress.advance(bar)
        listing.close("images")
        if unreadable:
            raise InputError(f"{len(unreadable)} of {len(mine)} images could not be read (see above)")


def output_tags() -> list[str]:
    """fnmatch patterns of every tag imgperc's outputs may carry (``NAME.TAG.EXT``): the name and
    aliases of every model (hub and user-trained, any task), and each image task's ``tag_patterns``."""
    from .. import hub, plugins
    from ..hub.user import user_models

    names = {name for spec in hub.specs().values() for name in (spec.id, *spec.aliases)} | set(user_models())
    patterns = {pattern for task in plugins.registry("image_tasks").items.values() for pattern in task.tag_patterns}
    return sorted({glob.escape(name) for name in names} | patterns)


def transform_files(
    items: Iterable[tuple[int, tuple[Path, Path]]],
    transform: Transform,
    finish: Finish = colour_output,
    *,
    size: int | None = None,
    force: bool = False,
    on_unreadable: Callable[[InputError], None] | None = None,
) -> Iterator[tuple[int, Path]]:
    """Read each ``(index, (source, target))``, transform it, write it; yield ``(index, target)``
    in order, once the file is written. A source that cannot be read raises its
    :class:`InputError`, or, with ``on_unreadable``, is handed to it and skipped.

    Consecutive images of one size share a batch (output near `auto_batch`'s pixel budget);
    outputs are exactly ``transform.scale`` times the (resized) input. While the net runs on one
    batch, a reader thread decodes the next and a writer thread encodes the previous one (at most
    one batch ahead and one behind), so a folder costs the net's time plus the slower of the two.
    """
    scale = int(getattr(transform, "scale", 1))

    def images() -> Iterator[tuple[int, Path, Image]]:
        for index, (source, target) in items:
            try:
                image = read_image(source)
            except InputError as error:
                if on_unreadable is None:
                    raise
                on_unreadable(error)
                continue
            yield index, target, resize_longest(image, size) if size is not None else image

    def write(target: Path, image: Image, pixels: torch.Tensor) -> None:
        write_image(target, finish(image, pixels), overwrite=force)

    groups = same_size_batches(images(), lambda item: item[2].size, lambda wh: auto_batch(*wh, scale))
    behind: list[tuple[int, Path, Future[None]]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="imgperc-read") as reader, ThreadPoolExecutor(1, thread_name_prefix="imgperc-write") as writer:
        ahead = reader.submit(next, groups, None)
        try:
            while (group := ahead.result()) is not None:
                ahead = reader.submit(next, groups, None)
                batch = torch.stack([image.pixels for _, _, image in group])
                with torch.inference_mode():
                    result = transform(batch)
                check_output(batch, result, scale)
                yield from _written(behind)
                behind = [(index, target, writer.submit(write, target, image, pixels))
                          for (index, target, image), pixels in zip(group, result.to("cpu", torch.float32))]
        except Exception:
            yield from _written(behind)  # what was written before the error is still reported
            raise
        yield from _written(behind)


def _written(pending: list[tuple[int, Path, Future[None]]]) -> Iterator[tuple[int, Path]]:
    """``(index, target)`` of each pending write, in order, once it is done; each is taken off
    ``pending`` as it is yielded, and a failed write raises its error here and stays on it."""
    while pending:
        index, target, done = pending[0]
        done.result()
        pending.pop(0)
        yield index, target

