"""Atomic output files: write to a temporary sibling, then move into place in one step.

Temporary siblings are hidden and carry the writer's process id: ``.NAME.PID-RANDOM.KIND.EXT``
(``KIND`` is ``tmp`` for the file itself, another word for scratch files such as a video's
picture-only pass). A run killed before it could clean up (SIGKILL, power loss) leaves them
behind; the next run that writes into the same folder removes those whose process is gone.
Hidden names are never taken for inputs or results (`imgperc.io` skips them).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import InputError

TMP = "tmp"
_SCRATCH = re.compile(r"^\..+\.(\d+)-[a-z0-9_]{8}\.[a-z]+(\.[^.]+)?$")  # .NAME.PID-RANDOM.KIND[.EXT]
_swept: set[str] = set()
_writable: set[str] = set()  # absolute folders that took a probe file


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Fail early (before any work) if ``path`` exists and may not be replaced, or its folder
    is missing or refuses new files (probed once per folder and process; a write that fails
    later still reports its own error)."""
    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists (use --force to overwrite)")
    if path.exists() and path.is_dir():
        raise InputError(f"{path} is a directory, not a file")
    if not path.parent.exists():
        raise InputError(f"output folder {path.parent} does not exist")
    folder = os.path.abspath(path.parent)
    if folder in _writable:
        return
    try:  # a nameless file where the OS allows it, else created and removed at once
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise InputError(f"cannot write in output folder {path.parent}: {exc.strerror or exc}") from None
    _writable.add(folder)


@contextlib.contextmanager
def atomic_path(path: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it becomes ``path`` atomically.

    Without ``overwrite`` an existing file is never replaced, even if it appeared while we
    worked (a hard link is created only if the name is free). On error nothing is left behind.
    """
    path = Path(path)
    tmp = scratch_file(path, TMP)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())
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


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """A hidden staging folder beside ``target`` that replaces it in one rename on success
    (and is removed, leaving ``target`` as it was, on failure)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def scratch_file(path: Path, kind: str) -> Path:
    """A fresh hidden file beside ``path`` (same suffix) for the caller to fill and remove.

    The first time a process writes into a folder, stale scratch files there are removed.
    """
    path = Path(path)
    folder = str(path.parent.resolve())
    if folder not in _swept:
        remove_stale(path.parent)
        _swept.add(folder)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}-", suffix=f".{kind}{path.suffix}", dir=path.parent)
    os.close(fd)
    return Path(name)


def remove_stale(folder: Path) -> list[Path]:
    """Delete the scratch files in ``folder`` whose writing process no longer runs; return them."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _SCRATCH.match(entry.name)
        if match and not _running(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (on Windows, assume it does: no safe probe)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def umask() -> int:
    """The process's file-creation mask."""
    current = os.umask(0)
    os.umask(current)
    return current
