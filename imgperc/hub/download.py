"""Streaming, verified, retried downloads with mirror rewriting and offline mode."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from .. import settings
from ..errors import DownloadError
from .spec import RemoteFile

CHUNK = 1 << 16
TIMEOUT = (10, 60)  # connect, read (seconds)
RETRIES = 3


def resolve_url(url: str, mirror: str | None = None) -> str:
    """Rewrite ``https://HOST/PATH`` to ``MIRROR/HOST/PATH`` when a mirror is set."""
    mirror = mirror if mirror is not None else settings.mirror()
    if not mirror:
        return url
    parts = urlsplit(url)
    tail = f"{parts.netloc}{parts.path}"
    return f"{mirror.rstrip('/')}/{tail}"


def _is_local(location: str) -> bool:
    return not location.startswith(("http://", "https://"))


def _local_path(location: str) -> Path:
    return Path(location[len("file://"):] if location.startswith("file://") else location)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
        disable=not enabled,
    )


def _stream_to(location: str, part: Path, label: str, show_progress: bool, expected: int) -> None:
    """Copy one location (URL or local path) into ``part``."""
    if _is_local(location):
        source = _local_path(location)
        if not source.is_file():
            raise DownloadError(f"{label}: not found in the mirror folder ({source})")
        shutil.copyfile(source, part)
        return
    with requests.get(location, stream=True, timeout=TIMEOUT) as response:
        if response.status_code != 200:
            raise _HTTPStatus(response.status_code, location)
        with _progress(show_progress) as progress, open(part, "wb") as out:
            task = progress.add_task(label, total=expected or None)
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                progress.advance(task, len(chunk))


class _HTTPStatus(Exception):
    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


def _verify(path: Path, remote: RemoteFile, location: str) -> None:
    size = path.stat().st_size
    if size != remote.size:
        raise DownloadError(f"{remote.name}: expected {remote.size} bytes, got {size} from {location}")
    if remote.sha256:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != remote.sha256:
            raise DownloadError(
                f"{remote.name}: sha256 mismatch from {location} "
                f"(expected {remote.sha256[:12]}…, got {digest.hexdigest()[:12]}…)"
            )


def fetch(remote: RemoteFile, dest: Path, *, show_progress: bool | None = None) -> Path:
    """Download ``remote`` to ``dest`` (atomically), verifying size and sha256.

    Retries network failures and 5xx answers; a 4xx answer or a bad checksum fails at once.
    """
    if settings.offline():
        raise DownloadError(f"{remote.name}: IMGPERC_OFFLINE is set, so {remote.url} is not downloaded")
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    location = resolve_url(remote.url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    last_error: Exception | None = None
    try:
        for attempt in range(RETRIES):
            try:
                _stream_to(location, part, remote.name, show_progress, remote.size)
                _verify(part, remote, location)
                os.replace(part, dest)
                return dest
            except _HTTPStatus as exc:
                if exc.status < 500:
                    raise DownloadError(f"{remote.name}: {exc}") from None
                last_error = exc
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last_error = exc
            except requests.RequestException as exc:
                raise DownloadError(f"{remote.name}: {exc}") from None
            time.sleep(0.5 * 2**attempt)
        raise DownloadError(f"{remote.name}: download failed after {RETRIES} tries ({last_error})")
    finally:
        part.unlink(missing_ok=True)
