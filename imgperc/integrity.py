"""Checksums of installed files: recorded at install time, verified before a file is used.

An install folder (``$IMGPERC_HOME/models/NAME/``) holds a manifest, ``sha256.json``, with the
size and sha256 of each file and the command that repairs the install. A file is verified the
first time each process uses it (again if its size or mtime changes); a mismatch is a one-line
`IntegrityError` that names the file and the fix. Files without a manifest (a model file the
user points to) are not checked: safetensors itself refuses malformed files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

from .atomic import atomic_path
from .errors import IntegrityError

MANIFEST = "sha256.json"
_verified: set[tuple[str, int, int]] = set()


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, names: Iterable[str], *, repair: str) -> None:
    """Record the size and sha256 of ``names`` in ``folder``; ``repair`` says how to reinstall."""
    files = {name: {"size": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)} for name in names}
    with atomic_path(folder / MANIFEST, overwrite=True) as tmp:
        tmp.write_text(json.dumps({"files": files, "repair": repair}, indent=2, sort_keys=True))


def verify(path: Path) -> None:
    """Check ``path`` against its folder's manifest (once per process while it is unchanged)."""
    path = Path(path)
    manifest = path.parent / MANIFEST
    if not manifest.is_file():
        return
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return
    repair = f"remove {path.parent} and install it again"
    try:
        recorded = json.loads(manifest.read_text())
        repair = str(recorded.get("repair") or repair)
        entry = recorded["files"].get(path.name)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise IntegrityError(f"{manifest} is damaged, so {path} cannot be verified: {repair}") from None
    if entry is None:
        return
    if stat.st_size != entry.get("size") or sha256_file(path) != entry.get("sha256"):
        raise IntegrityError(f"{path} is damaged (it no longer matches the sha256 recorded when it was installed): {repair}")
    _verified.add(key)
