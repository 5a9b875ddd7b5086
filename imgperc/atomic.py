"""Atomic output files: write to a temporary sibling, then move into place in one step."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import InputError


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Fail early (before any work) if ``path`` exists and may not be replaced."""
    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists (use --force to overwrite)")
    if path.exists() and path.is_dir():
        raise InputError(f"{path} is a directory, not a file")
    if not path.parent.exists():
        raise InputError(f"output folder {path.parent} does not exist")


@contextlib.contextmanager
def atomic_path(path: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it becomes ``path`` atomically.

    Without ``overwrite`` an existing file is never replaced, even if it appeared while we
    worked (a hard link is created only if the name is free). On error nothing is left behind.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise InputError(f"{path} already exists (use --force to overwrite)") from None
            except OSError:  # filesystems without hard links
                if path.exists():
                    raise InputError(f"{path} already exists (use --force to overwrite)") from None
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
