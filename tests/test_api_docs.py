"""Every ```python example of docs/api.md runs, in order, offline, on small local photos."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgperc import api

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 2, match.group(1)) for match in BLOCK.finditer(text)]


def _photo(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(path)


def test_the_page_has_examples():
    assert len(_blocks()) >= 5


def test_the_examples_of_docs_api_md_run(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")  # built-in models only
    monkeypatch.chdir(tmp_path)
    _photo(tmp_path / "photo.jpg", 0)
    (tmp_path / "photos").mkdir()
    for seed in (1, 2):
        _photo(tmp_path / "photos" / f"p{seed}.jpg", seed)
    api.clear_model_cache()
    namespace: dict = {"__name__": "docs_api"}
    try:
        for line, code in _blocks():
            try:
                exec(compile(code, f"{DOC}:{line}", "exec"), namespace)
            except Exception as error:  # name the block that failed
                pytest.fail(f"the example at docs/api.md:{line} failed: {type(error).__name__}: {error}")
    finally:
        api.clear_model_cache()
    assert (tmp_path / "photo.muse-fast.png").is_file()
    assert sorted(p.name for p in (tmp_path / "styled").iterdir()) == ["p1.png", "p2.png"]
