"""`imgperc serve` in a subprocess on a free localhost port, for the API and browser tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

URL = re.compile(r"(http://127\.0\.0\.1:\d+)/")
START_SECONDS = 60


class ServeProcess:
    """``imgperc serve --port 0 ARGS`` with ``env`` added (and ``IMGPERC_COMPILE=never``, unless
    ``env`` says otherwise); ``url`` once it answers /healthz. Everything it prints is kept in ``lines``."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", "IMGPERC_COMPILE": "never", **(env or {})}  # no compiles: fast tests
        self.process = subprocess.Popen([sys.executable, "-m", "imgperc", "serve", "--port", "0", *args], env=environment, cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.url = ""
        found = threading.Event()

        def drain() -> None:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                if not self.url and (match := URL.search(line)):
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=drain, daemon=True).start()
        if not found.wait(START_SECONDS) or not self.url:
            self.stop()
            raise RuntimeError("imgperc serve did not start:\n" + "\n".join(self.lines))
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("imgperc serve did not answer /healthz:\n" + "\n".join(self.lines))

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def terminate(self) -> None:
        """SIGTERM: the server drains what is in flight, then exits."""
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then wait; its exit status."""
        if self.process.poll() is None:
            self.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
