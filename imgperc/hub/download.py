"""Streaming, verified, resumable downloads with time limits, mirror rewriting and offline mode.

Every file is pinned by size (and sha256 where known), so a download is bounded:

- connect and read timeouts of ``IMGPERC_DOWNLOAD_TIMEOUT`` seconds (default 30) each;
- an overall deadline per file, retries included, of that timeout times (2 + size in MiB):
  a mirror that trickles bytes fails as surely as one that never answers;
- a hard cap at the pinned size: a longer answer is refused as soon as it goes past it;
- the bytes go to a hidden ``.NAME.part`` beside the destination, kept after a network
  failure so the next try resumes it (HTTP Range); a part over the pinned size, or a complete
  one whose sha256 is wrong, is deleted. Only a verified file is renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence
from urllib.parse import urlsplit

import requests
import urllib3
from filelock import FileLock
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from .. import settings
from ..errors import DownloadError, InputError
from ..integrity import sha256_file
from .spec import RemoteFile

CHUNK = 1 << 16
RETRIES = 3


def resolve_url(url: str, mirror: str | None = None) -> str:
    """Rewrite ``https://HOST/PATH`` to ``MIRROR/HOST/PATH`` when a mirror is set."""
    mirror = mirror if mirror is not None else settings.mirror()
    if not mirror:
        return url
    parts = urlsplit(url)
    tail = f"{parts.netloc}{parts.path}"
    return f"{mirror.rstrip('/')}/{tail}"


def timeout() -> float:
    """Seconds to wait for a connection or for the next bytes: ``IMGPERC_DOWNLOAD_TIMEOUT`` or 30
    (a malformed value fails the download)."""
    try:
        return settings.download_timeout()
    except InputError as exc:
        raise DownloadError(str(exc)) from None


def deadline_seconds(size: int) -> float:
    """The overall time allowed for one file of ``size`` bytes, retries included."""
    return timeout() * (2 + size / (1 << 20))


def _is_local(location: str) -> bool:
    return not location.startswith(("http://", "https://"))


def _local_path(location: str) -> Path:
    return Path(location[len("file://"):] if location.startswith("file://") else location)


Report = Callable[[int], None]
"""Told the bytes of one file that are there so far (`fetch`'s ``report``)."""


@contextlib.contextmanager
def download_bar(label: str, remotes: Sequence[RemoteFile], *, enabled: bool | None = None, console: Console | None = None) -> Iterator[Callable[[RemoteFile], Report]]:
    """One transient bar, ``label``, over the bytes of all ``remotes`` (a model's files), on
    stderr where it is a terminal (``enabled`` forces it on or off).

    Yields ``reporter(remote)``: the ``report`` to give `fetch` for that file.
    """
    console = console or Console(stderr=True)
    done = [0] * len(remotes)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True, disable=not (console.is_terminal if enabled is None else enabled)) as progress:
        task = progress.add_task(label, total=sum(remote.size for remote in remotes))

        def reporter(remote: RemoteFile) -> Report:
            index = remotes.index(remote)

            def report(have: int) -> None:
                done[index] = have
                progress.update(task, completed=sum(done))

            return report

        yield reporter


class _Retryable(Exception):
    """A failure worth another try (network trouble, a 5xx answer, a short answer)."""


class _Deadline(Exception):
    """The file's overall deadline passed after ``have`` bytes."""

    def __init__(self, have: int) -> None:
        super().__init__(have)
        self.have = have


def _copy_local(location: str, part: Path, remote: RemoteFile, report: Report) -> None:
    source = _local_path(location)
    if not source.is_file():
        raise DownloadError(f"{remote.name}: not found in the mirror folder ({source})")
    if source.stat().st_size != remote.size:
        raise DownloadError(f"{remote.name}: expected {remote.size} bytes, the mirror folder has {source.stat().st_size} ({source})")
    shutil.copyfile(source, part)
    report(remote.size)


def _stream(location: str, part: Path, remote: RemoteFile, deadline: float, report: Report) -> None:
    """Append the rest of ``remote`` to ``part`` (resuming it), never past the pinned size."""
    have = part.stat().st_size if part.exists() else 0
    if have == remote.size:
        return  # complete: only its checksum is left to check
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
    limit = timeout()
    try:
        response = requests.get(location, stream=True, timeout=(limit, limit), headers=headers)
    except requests.Timeout:
        raise _Retryable(f"no answer from {location} within {limit:g} s") from None
    except requests.ConnectionError as exc:
        raise _Retryable(f"cannot reach {urlsplit(location).netloc} ({_reason(exc)})") from None
    except requests.RequestException as exc:
        raise DownloadError(f"{remote.name}: cannot request {location} ({_reason(exc)})") from None
    with response:
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code} from {location}")
        if response.status_code == 416:
            part.unlink(missing_ok=True)
            raise _Retryable(f"{location} cannot resume the partial file (HTTP 416)")
        if response.status_code == 200:
            have = 0  # a whole answer (the server ignores Range): start over
        elif response.status_code != 206:
            raise DownloadError(f"{remote.name}: HTTP {response.status_code} from {location}")
        announced = response.headers.get("Content-Length")
        if announced is not None and announced.isdigit() and have + int(announced) > remote.size:
            part.unlink(missing_ok=True)
            raise DownloadError(f"{remote.name}: {location} announces {have + int(announced)} bytes, more than the pinned {remote.size}")
        with open(part, "ab" if have else "wb") as out:
            report(have)
            while have < remote.size + 1:
                if time.monotonic() > deadline:
                    raise _Deadline(have)
                try:
                    chunk = response.raw.read1(min(CHUNK, remote.size + 1 - have))
                except urllib3.exceptions.ReadTimeoutError:
                    raise _Retryable(f"{location} sent nothing for {limit:g} s") from None
                except (urllib3.exceptions.HTTPError, OSError) as exc:
                    raise _Retryable(f"the connection to {location} broke ({_reason(exc)})") from None
                if not chunk:
                    break
                out.write(chunk)
                have += len(chunk)
                report(have)
    if have > remote.size:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{remote.name}: {location} sent more than the pinned {remote.size} bytes")
    if have < remote.size:
        raise _Retryable(f"{location} closed the connection after {have} of {remote.size} bytes")


def _reason(exc: BaseException) -> str:
    """The root cause of a network error in a few words (``Connection refused``, ``Name or
    service not known``), never the wrapped, URL-laden text of requests and urllib3."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    innermost = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        innermost = cause
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        nested = getattr(cause, "reason", None)  # urllib3's MaxRetryError
        if not isinstance(nested, BaseException):  # requests and urllib3 wrap the cause as an argument
            nested = next((a for a in cause.args if isinstance(a, BaseException)), None)
        cause = nested or cause.__cause__ or cause.__context__
    text = str(innermost).splitlines()[0] if str(innermost) else ""
    return text if text and "://" not in text and "host=" not in text else type(innermost).__name__


def _holds(path: Path, remote: RemoteFile) -> bool:
    """True if ``path`` is ``remote``: its pinned size, then its sha256 (where pinned)."""
    if not path.is_file() or path.stat().st_size != remote.size:
        return False
    return not remote.sha256 or sha256_file(path) == remote.sha256


def fetch(remote: RemoteFile, dest: Path, *, report: Report | None = None) -> Path:
    """Download ``remote`` to ``dest`` (atomically), verifying size and sha256.

    A verified file already at ``dest`` is kept. Retries network failures and 5xx answers
    (resuming the partial file) until the file's deadline; a 4xx answer, an oversized answer
    or a bad checksum fails at once. Progress goes to ``report`` (see `download_bar`), else to
    a bar of its own (shown where stderr is a terminal).
    """
    if _holds(dest, remote):
        if report is not None:
            report(remote.size)
        return dest
    if report is None:
        with download_bar(remote.name, [remote]) as reporter:
            return fetch(remote, dest, report=reporter(remote))
    location = resolve_url(remote.url)
    if settings.offline():
        raise DownloadError(f"{remote.name}: IMGPERC_OFFLINE is set, so {remote.url} is not downloaded")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{remote.name}: cannot create {dest.parent} ({exc.strerror})") from None
    part = dest.with_name(f".{dest.name}.part")
    seconds = deadline_seconds(remote.size)
    with FileLock(dest.with_name(f".{dest.name}.lock")):
        if _holds(dest, remote):
            report(remote.size)
            return dest  # another process finished it while this one waited for the lock
        deadline = time.monotonic() + seconds
        if part.exists() and part.stat().st_size > remote.size:
            part.unlink()
        last_error = ""
        for attempt in range(1, RETRIES + 1):
            try:
                if _is_local(location):
                    _copy_local(location, part, remote, report)
                else:
                    _stream(location, part, remote, deadline, report)
                if not _holds(part, remote):
                    part.unlink()
                    raise DownloadError(f"{remote.name}: sha256 mismatch from {location} (expected {remote.sha256})")
                os.replace(part, dest)
                return dest
            except _Retryable as exc:
                last_error = str(exc)
            except _Deadline as exc:
                last_error = f"{exc.have} of {remote.size} bytes"
                break
            pause = min(0.5 * 2 ** (attempt - 1), deadline - time.monotonic())
            if attempt == RETRIES:
                raise DownloadError(f"{remote.name}: download failed after {RETRIES} tries ({last_error})")
            if pause <= 0:
                break
            time.sleep(pause)
    raise DownloadError(
        f"{remote.name}: not downloaded within {seconds:.3g} s from {location} ({last_error}); "
        f"set {settings.ENV_DOWNLOAD_TIMEOUT} above {timeout():g} to allow more time"
    )
