"""The JSON-lines training log: one record per logged iteration.

Each line: ``{"iteration", "time", "lr", "images_per_s", "loss": {"total": ..., "<term>": ...},
"skipped_images"}``. On resume the log is cut back to the checkpoint's iteration (dropping
records written after it, and a line torn by a hard kill), so the curve stays continuous and
never holds an iteration twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..atomic import atomic_path


def read(path: Path) -> list[dict[str, Any]]:
    """Every complete record (a torn or foreign line is ignored)."""
    records = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("iteration"), int):
            records.append(record)
    return records


def truncate(path: Path, iteration: int) -> list[dict[str, Any]]:
    """Keep only records up to ``iteration`` (atomically rewritten); returns them."""
    records = [r for r in read(path) if r["iteration"] <= iteration]
    if path.exists():
        with atomic_path(path, overwrite=True) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


class LogWriter:
    """Appends records, flushed line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()
