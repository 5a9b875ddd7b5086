"""The work pool: a bounded queue in front of a few worker threads, and what each job reports.

``workers`` threads run jobs, each with its own loaded models (`imgperc.load`, once per worker
and model: the models' caches are not shared between threads). Every net runs with
``IMGPERC_THREADS`` torch threads, set by `imgperc serve` to cores / workers, so the workers
together never ask for more threads than there are cores. At most ``workers + queue`` jobs are
accepted at once; `submit` refuses the next one with `QueueFull`, which the app answers with
429 and a ``Retry-After`` from the recent job times.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from imgperc.errors import InputError

RECENT = 20  # job times kept for Retry-After


class QueueFull(Exception):
    """Every worker is busy and the queue is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is busy (every worker and queue place taken); retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Progress:
    """What `GET /v1/progress/{job}` shows: queued (with its place) or running (tiles done)."""

    state: str = "queued"
    position: int = 0
    done: int = 0
    total: int = 0
    note: str = ""
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "position": self.position, "tiles_done": self.done, "tiles": self.total,
                "note": self.note, "seconds": round(time.monotonic() - self.started, 1)}


class _Observer:
    """An `imgperc.inference.Observer` writing into a job's `Progress`."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def notice(self, text: str) -> None:
        self.progress.note = text

    def tiles(self, done: int, total: int) -> None:
        self.progress.done, self.progress.total = done, total


Job = Callable[[dict], Any]  # job(models): runs in a worker; ``models`` is that worker's own cache


class WorkPool:
    """``workers`` threads behind a queue of ``queue`` places."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue = queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="imgperc-serve")
        self._lock = threading.Lock()
        self._accepted = 0
        self._waiting: OrderedDict[str, Progress] = OrderedDict()  # job id -> progress, in queue order
        self._running: dict[str, Progress] = {}
        self._seconds: deque[float] = deque(maxlen=RECENT)
        self._local = threading.local()

    @property
    def busy(self) -> int:
        """Jobs accepted and not finished."""
        return self._accepted

    def retry_after(self) -> int:
        """Seconds until a place is likely to be free: the recent mean job time per queue round."""
        mean = sum(self._seconds) / len(self._seconds) if self._seconds else 1.0
        return max(1, math.ceil(mean * (self._accepted - self.workers + 1) / self.workers))

    def progress(self, key: str) -> Progress | None:
        """The progress of job ``key`` (queued or running), None when unknown or finished."""
        with self._lock:
            found = self._running.get(key) or self._waiting.get(key)
            if found is not None and found.state == "queued":
                found.position = list(self._waiting).index(key) + 1
            return found

    def submit(self, key: str, job: Job) -> Future:
        """Queue ``job`` under the progress id ``key``; `QueueFull` when no place is free, an
        InputError when ``key`` is taken. A job dropped before it ran (its future cancelled)
        frees its place."""
        progress = Progress()
        with self._lock:
            if key in self._waiting or key in self._running:
                raise InputError(f"job '{key}' is already queued or running: give each request its own id")
            if self._accepted >= self.workers + self.queue:
                raise QueueFull(self.retry_after())
            self._accepted += 1
            self._waiting[key] = progress
        try:
            future = self._executor.submit(self._work, key, progress, job)
        except RuntimeError:  # shutting down
            self._finish(key, None)
            raise QueueFull(self.retry_after()) from None
        future.add_done_callback(lambda _: self._finish(key, None))
        return future

    def _work(self, key: str, progress: Progress, job: Job) -> Any:
        from imgperc.inference.engine import observed

        with self._lock:
            self._waiting.pop(key, None)
            self._running[key] = progress
            progress.state = "running"
        start = time.monotonic()
        try:
            with observed(_Observer(progress)):
                return job(self._models())
        finally:
            self._finish(key, time.monotonic() - start)

    def _models(self) -> dict:
        """This worker thread's own model cache."""
        if not hasattr(self._local, "models"):
            self._local.models = OrderedDict()
        return self._local.models

    def _finish(self, key: str, seconds: float | None) -> None:
        with self._lock:
            if seconds is not None:
                self._seconds.append(seconds)
                self._running.pop(key, None)
                self._accepted -= 1
            elif key in self._waiting:  # dropped before it ran
                self._waiting.pop(key)
                self._accepted -= 1

    def shutdown(self) -> None:
        """Finish the jobs accepted, then stop the workers."""
        self._executor.shutdown(wait=True)
