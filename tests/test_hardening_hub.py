"""The hub against damage and hostile mirrors: verified cache, bounded and resumable downloads,
shareable install folders."""

from __future__ import annotations

import hashlib
import http.server
import os
import stat
import threading

import numpy as np
import pytest
from PIL import Image

from imgperc import hub
from imgperc.errors import DownloadError
from imgperc.hub import RemoteFile
from imgperc.integrity import MANIFEST

from hardening_cli import one_error_line, run_cli

PAYLOAD = bytes(range(256)) * 18 + b"x" * 81  # 4,689 bytes, like the muse manifest
SHA = hashlib.sha256(PAYLOAD).hexdigest()
REMOTE = RemoteFile("https://upstream.test/models/manifest.json", len(PAYLOAD), SHA)


class HostileServer:
    """A local HTTP server (127.0.0.1) whose GET handler is ``behaviour(handler)``; records requests."""

    def __init__(self, behaviour) -> None:
        self.requests: list[dict[str, str]] = []
        self.stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append(dict(self.headers))
                try:
                    behaviour(self, server)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hostile(monkeypatch):
    """Start a hostile server as the mirror, with 0.2 s download timeouts."""
    servers = []

    def start(behaviour) -> HostileServer:
        server = HostileServer(behaviour)
        servers.append(server)
        monkeypatch.setenv("IMGPERC_MIRROR", server.url)
        monkeypatch.setenv("IMGPERC_DOWNLOAD_TIMEOUT", "0.2")
        return server

    yield start
    for server in servers:
        server.close()


def _headers(handler, status: int, length: int | None, extra: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    for key, value in (extra or {}).items():
        handler.send_header(key, value)
    handler.end_headers()


def _hang(handler, server) -> None:
    server.stop.wait(10)


def _trickle(handler, server) -> None:
    _headers(handler, 200, len(PAYLOAD))
    for byte in PAYLOAD:
        if server.stop.wait(0.02):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def _flood(handler, server) -> None:
    _headers(handler, 200, None, {"Connection": "close"})
    block = b"\0" * 65536
    for _ in range(128):  # 8 MiB at most
        handler.wfile.write(block)


def _lying_length(handler, server) -> None:
    _headers(handler, 200, 300 << 20)
    handler.wfile.write(PAYLOAD)


def test_a_mirror_that_never_answers_times_out(hostile, tmp_path):
    server = hostile(_hang)
    with pytest.raises(DownloadError, match=r"manifest.json: not downloaded within .* s from .* \(no answer from .* within 0.2 s\)"):
        hub.fetch(REMOTE, tmp_path / "manifest.json")
    assert server.requests and not (tmp_path / "manifest.json").exists()


def test_a_trickling_mirror_hits_the_overall_deadline_and_keeps_the_part(hostile, tmp_path, monkeypatch):
    hostile(_trickle)
    monkeypatch.setenv("IMGPERC_DOWNLOAD_TIMEOUT", "0.5")  # reads never wait that long: only the deadline stops it
    with pytest.raises(DownloadError, match=r"not downloaded within 1 s from .*; set IMGPERC_DOWNLOAD_TIMEOUT above 0.5"):
        hub.fetch(REMOTE, tmp_path / "manifest.json")
    part = tmp_path / ".manifest.json.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)  # resumable next time
    assert part.read_bytes() == PAYLOAD[: part.stat().st_size]


def test_downloads_stop_at_the_pinned_size(hostile, tmp_path):
    hostile(_flood)
    with pytest.raises(DownloadError, match="sent more than the pinned 4689 bytes"):
        hub.fetch(REMOTE, tmp_path / "manifest.json")
    assert list(tmp_path.iterdir()) in ([], [tmp_path / ".manifest.json.lock"])


def test_an_announced_oversize_answer_is_refused_before_reading(hostile, tmp_path):
    hostile(_lying_length)
    with pytest.raises(DownloadError, match=r"announces 314572800 bytes, more than the pinned 4689"):
        hub.fetch(REMOTE, tmp_path / "manifest.json")


def _resumable(handler, server) -> None:
    """Full answers break after half the file; Range requests are answered with the rest."""
    wanted = handler.headers.get("Range")
    if wanted:
        start = int(wanted.removeprefix("bytes=").rstrip("-"))
        _headers(handler, 206, len(PAYLOAD) - start, {"Content-Range": f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}"})
        handler.wfile.write(PAYLOAD[start:])
        return
    _headers(handler, 200, len(PAYLOAD), {"Connection": "close"})
    handler.wfile.write(PAYLOAD[:2000])
    handler.close_connection = True


def test_a_broken_download_resumes_where_it_stopped(hostile, tmp_path, monkeypatch):
    server = hostile(_resumable)
    monkeypatch.setenv("IMGPERC_DOWNLOAD_TIMEOUT", "5")
    path = hub.fetch(REMOTE, tmp_path / "manifest.json")
    assert path.read_bytes() == PAYLOAD
    assert [r.get("Range") for r in server.requests] == [None, "bytes=2000-"]
    assert not (tmp_path / ".manifest.json.part").exists()


def test_a_part_that_does_not_verify_is_discarded(hostile, tmp_path, monkeypatch):
    server = hostile(_resumable)
    monkeypatch.setenv("IMGPERC_DOWNLOAD_TIMEOUT", "5")
    (tmp_path / ".manifest.json.part").write_bytes(b"\xff" * 3000)  # left by another run, but wrong
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        hub.fetch(REMOTE, tmp_path / "manifest.json")
    assert server.requests[0]["Range"] == "bytes=3000-"
    assert not (tmp_path / ".manifest.json.part").exists()
    assert hub.fetch(REMOTE, tmp_path / "manifest.json").read_bytes() == PAYLOAD


def test_a_bad_timeout_setting_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("IMGPERC_DOWNLOAD_TIMEOUT", "nan")
    with pytest.raises(DownloadError, match="IMGPERC_DOWNLOAD_TIMEOUT must be a positive number of seconds"):
        hub.fetch(REMOTE, tmp_path / "manifest.json")


# --- the installed cache -----------------------------------------------------------------------


def _photo(path):
    Image.fromarray((np.mgrid[0:32, 0:40].sum(0) * 3 % 256).astype(np.uint8)).convert("RGB").save(path)
    return path


def _flip_a_weight_byte(path):
    data = bytearray(path.read_bytes())
    header = int.from_bytes(data[:8], "little")
    data[8 + header + 1003] ^= 0x80
    path.write_bytes(bytes(data))


@pytest.fixture
def muse(use_mirror):
    """The muse style installed from the local mirror; returns its model file."""
    return hub.ensure("muse")


def test_a_tampered_cached_model_is_refused_with_the_fix(muse, tmp_path, monkeypatch, capsys):
    _flip_a_weight_byte(muse)
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    code, _, err = run_cli(capsys, "stylize", "--style", "muse", _photo(tmp_path / "p.png"))
    line = one_error_line(err)
    assert code == 1 and str(muse) in line and "imgperc models pull --force muse" in line and "imgperc models rm muse" in line
    assert not (tmp_path / "p.muse.png").exists()


def test_a_truncated_cached_model_names_the_fix(muse, tmp_path, monkeypatch, capsys):
    muse.write_bytes(muse.read_bytes()[:5000])
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    code, _, err = run_cli(capsys, "stylize", "--style", "muse", _photo(tmp_path / "p.png"))
    assert code == 1 and "imgperc models pull --force muse" in one_error_line(err)


def test_a_tampered_cached_model_is_downloaded_again_when_online(muse, tmp_path, capsys):
    good = muse.read_bytes()
    _flip_a_weight_byte(muse)
    code, out, err = run_cli(capsys, "stylize", "--style", "muse", _photo(tmp_path / "p.png"))
    assert code == 0, err
    assert "downloading it again" in err and muse.read_bytes() == good
    assert (tmp_path / "p.muse.png").is_file()


def test_installed_models_carry_checksums_and_are_readable_by_everyone(use_mirror):
    previous = os.umask(0o022)
    try:
        path = hub.ensure("muse")
    finally:
        os.umask(previous)
    folder = path.parent
    assert (folder / MANIFEST).is_file()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {
        "model.safetensors": 0o644,
        "info.json": 0o644,
        MANIFEST: 0o644,
    }
