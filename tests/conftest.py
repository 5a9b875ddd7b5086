"""Shared fixtures: an isolated IMGPERC_HOME, and ../shared/mirror served on 127.0.0.1.

../shared (the upstream weight mirror and test data) sits beside the clone in CI, not in a
plain clone: tests that read it are marked ``needs_shared("mirror")`` / ``needs_shared("data")``
(tests using the ``mirror_server``/``use_mirror`` fixtures are marked automatically), or a
helper they share calls `require_shared`, and skip with a one-line reason when it is absent. ``IMGPERC_TEST_SHARED=DIR`` points elsewhere
(``/nonexistent``: run as a plain clone).
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from imgperc import plugins

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGPERC_TEST_SHARED") or REPO.parent / "shared")
MIRROR_DIR = SHARED / "mirror"
DATA_DIR = SHARED / "data"
SHARED_PARTS = {"mirror": "upstream weight mirror", "data": "test images and video"}
MIRROR_FIXTURES = {"mirror_server", "use_mirror"}


def absolute_paths(value: object) -> list[str]:
    """Every string in a metadata tree that is an absolute path (shipped files name none)."""
    if isinstance(value, dict):
        return [found for item in value.values() for found in absolute_paths(item)]
    if isinstance(value, list):
        return [found for item in value for found in absolute_paths(item)]
    return [value] if isinstance(value, str) and Path(value).is_absolute() else []


def random_images(folder: Path, sizes: list[tuple[int, int]], seed: int) -> Path:
    """``folder`` (created) holding ``0.png``, ``1.png``, ...: RGB noise of each (height, width)
    of ``sizes``, the same for the same ``seed``."""
    import torch
    from PIL import Image

    folder.mkdir()
    torch.manual_seed(seed)
    for i, (height, width) in enumerate(sizes):
        Image.fromarray((torch.rand(height, width, 3) * 255).byte().numpy()).save(folder / f"{i}.png")
    return folder


def require_shared(part: str) -> Path:
    """``../shared/<part>`` (mirror, data); skips the calling test with a one-line reason when absent."""
    folder = SHARED / part
    if not folder.is_dir():
        shown = "../shared" if "IMGPERC_TEST_SHARED" not in os.environ else str(SHARED)
        pytest.skip(f"needs {shown}/{part} ({SHARED_PARTS[part]}); CI provides it")
    return folder


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_shared(*parts): reads ../shared/<part> (mirror, data; default both); skipped when absent"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MIRROR_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.needs_shared("mirror"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs_shared"):
        for part in marker.args or tuple(SHARED_PARTS):
            require_shared(part)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


class MirrorServer:
    """A static HTTP server over a folder that records every requested path."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        record = self.requests

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                record.append(self.path)
                super().do_GET()

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def mirror_server():
    """../shared/mirror over HTTP, for the whole session."""
    server = MirrorServer(require_shared("mirror"))
    yield server
    server.close()


@pytest.fixture(autouse=True)
def imgperc_env(tmp_path_factory, monkeypatch):
    """Every test gets its own IMGPERC_HOME, no mirror, online mode, all plugins, fresh registries."""
    home = tmp_path_factory.mktemp("imgperc-home")
    monkeypatch.setenv("IMGPERC_HOME", str(home))
    for name in ("IMGPERC_MIRROR", "IMGPERC_OFFLINE", "IMGPERC_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    plugins.reset()
    yield home
    plugins.reset()


@pytest.fixture
def use_mirror(mirror_server, monkeypatch):
    """Point the downloader at the local mirror server; returns the server (see .requests)."""
    monkeypatch.setenv("IMGPERC_MIRROR", mirror_server.url)
    mirror_server.requests.clear()
    return mirror_server
