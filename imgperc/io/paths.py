"""Batches of image files: which inputs a command line names, and where their outputs go."""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import InputError
from .image import IMAGE_EXTENSIONS

_DEFAULT_EXTENSION = ".png"  # for inputs whose own extension cannot be written (.gif, none, ...)


def collect_inputs(paths: Sequence[str | os.PathLike], *, recursive: bool = False) -> list[Path]:
    """The image files named by ``paths``: files as given, folders expanded to the images in them
    (by extension, sorted; sub-folders too with ``recursive``), duplicates removed.

    Hidden names (starting with '.', e.g. our own temporary files) inside folders are skipped.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            images = _images_in(path, recursive)
            if not images:
                hint = "" if recursive else "; add --recursive to look in sub-folders"
                raise InputError(f"{path}: no images found (looked for {_extension_list()}{hint})")
        elif path.exists():
            images = [path]
        else:
            raise InputError(f"{path}: no such file or folder")
        for image in images:
            key = image.resolve()
            if key not in seen:
                seen.add(key)
                found.append(image)
    return found


def collect_sources(
    paths: Sequence[str | os.PathLike],
    *,
    tag: str,
    recursive: bool = False,
    verb: str = "process",
    other_tags: Iterable[str] = (),
) -> list[Path]:
    """`collect_inputs`, less our own earlier outputs found in folders, so a command can be run
    on the same folder again: ``NAME.T.EXT`` where ``T`` is ``tag`` or matches one of the fnmatch
    patterns ``other_tags`` (what other models and tasks name their outputs). Files named
    directly are always kept, and so are names with a dot that do not end in a tag (``holiday.2019.jpg``).
    """
    patterns = [glob.escape(tag), *other_tags]
    earlier = re.compile("|".join(fnmatch.translate(f"*.{pattern}") for pattern in patterns))
    named = {Path(path) for path in paths if not Path(path).is_dir()}
    sources = [path for path in collect_inputs(paths, recursive=recursive) if path in named or not earlier.match(path.stem)]
    if not sources:
        raise InputError(
            f"no images to {verb}: the folders hold only earlier imgperc outputs (NAME.TAG.EXT; name such files directly to {verb} them)"
        )
    return sources


def output_paths(
    inputs: Sequence[Path],
    *,
    tag: str,
    output: str | os.PathLike | None = None,
    ext: str | None = None,
) -> list[Path]:
    """Where to write the result for each input, named ``<stem>.<tag><ext>``.

    ``ext`` (".jpg" or "jpg") defaults to each input's own extension (``.png`` if that is not
    writable). Without ``output`` results go beside their inputs. With one input, ``output``
    is the file to write, unless it is an existing folder, ends with a path separator or has
    no extension: then it is a folder. With several inputs ``output`` is a folder (created if
    missing) in which inputs keep their folder layout below the deepest folder holding them
    all (flat for inputs from one folder; the sub-folders of a recursive search are kept).
    Output folders are created. Two inputs with the same output, an output that is its own
    input, or an unsupported extension raise :class:`InputError`.
    """
    extension = _check_extension(ext if ext.startswith(".") else f".{ext}", ext) if ext else None

    def name(source: Path) -> str:
        suffix = extension or (source.suffix if source.suffix.lower() in IMAGE_EXTENSIONS else _DEFAULT_EXTENSION)
        return f"{source.stem}.{tag}{suffix}" if tag else f"{source.stem}{suffix}"

    inputs = [Path(p) for p in inputs]
    if output is None:
        results = [source.with_name(name(source)) for source in inputs]
    else:
        target = Path(output)
        as_folder = target.is_dir() or str(output).endswith(("/", os.sep)) or not target.suffix
        if len(inputs) == 1 and not as_folder:
            _check_extension(target.suffix, str(target))
            results = [target]
        else:
            if target.exists() and not target.is_dir():
                raise InputError(f"{target} is a file: several inputs need an output folder")
            if len(inputs) > 1 and not as_folder and target.suffix.lower() in IMAGE_EXTENSIONS:
                raise InputError(f"{target}: several inputs need an output folder, not a file name")
            parents = [source.resolve().parent for source in inputs]
            common = Path(os.path.commonpath(parents)) if parents else target
            results = [target / parent.relative_to(common) / name(source) for source, parent in zip(inputs, parents)]
    _check_distinct(inputs, results)
    for folder in sorted({result.parent for result in results}):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    return results


def _images_in(folder: Path, recursive: bool) -> list[Path]:
    try:
        candidates = folder.rglob("*") if recursive else folder.iterdir()
        return sorted(
            path
            for path in candidates
            if path.suffix.lower() in IMAGE_EXTENSIONS
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)
            and path.is_file()
        )
    except OSError as exc:
        raise InputError(f"cannot list {folder}: {exc.strerror or exc}") from None


def _check_extension(extension: str, what: str) -> str:
    if extension.lower() not in IMAGE_EXTENSIONS:
        raise InputError(f"{what}: unsupported output format {extension or '(no extension)'!r} (use {_extension_list()})")
    return extension


def _check_distinct(inputs: list[Path], results: list[Path]) -> None:
    sources = {source.resolve() for source in inputs}
    claimed: dict[Path, Path] = {}
    for source, result in zip(inputs, results):
        key = result.resolve()
        if key in sources:
            raise InputError(f"{result} would overwrite an input image (choose another --output or tag)")
        if key in claimed:
            raise InputError(f"{claimed[key]} and {source} would both be written to {result}")
        claimed[key] = source


def _extension_list() -> str:
    return ", ".join(sorted(IMAGE_EXTENSIONS))
