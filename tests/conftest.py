"""Shared fixtures: an isolated IMGPERC_HOME, and ../shared/mirror served on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from imgperc import plugins

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MIRROR_DIR = SHARED / "mirror"
DATA_DIR = SHARED / "data"


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
    server = MirrorServer(MIRROR_DIR)
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
