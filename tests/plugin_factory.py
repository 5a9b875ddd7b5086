"""Build real installed-looking plugin distributions on the fly (dist-info + entry point)."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

from imgperc import plugins


def make_plugin(root: Path, name: str, source: str, *, version: str = "0.1.0", group: str = "imgperc") -> Path:
    """Write module ``imgperc_<name>`` and its dist-info under ``root``; return ``root``."""
    module = f"imgperc_{name}"
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    dist = root / f"{module}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}\n")
    return root


def activate(root: Path, monkeypatch) -> None:
    """Put ``root`` on sys.path (and PYTHONPATH for subprocesses) and reload plugins."""
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", str(root))
    importlib.invalidate_caches()
    plugins.reset()
