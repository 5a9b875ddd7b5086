"""`imgperc serve`: the web app and HTTP API on localhost (docs/serve.md).

Light to import: FastAPI and uvicorn (the ``serve`` extra) load when the server starts, and
without them the command says in one line how to install them.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import signal
import socket
from typing import Any

import click

from imgperc.errors import InputError

EXTRA = ("fastapi", "uvicorn", "multipart", "swagger_ui_bundle")  # what `pip install 'imgperc[serve]'` brings
LOCAL_HOSTS = ("localhost",)
CORES_PER_WORKER = 4  # the default worker count: one per this many physical cores


def is_local(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_extra() -> None:
    """A one-line InputError unless the ``serve`` extra is installed."""
    missing = [name for name in EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(f"imgperc serve needs the serve extra ({missing[0]} is missing): pip install 'imgperc[serve]'")


def plan_threads(workers: int | None) -> tuple[int, int]:
    """``(workers, torch threads per worker)`` with workers x threads <= the physical cores
    (``IMGPERC_THREADS``, if set, is the threads per worker)."""
    from imgperc import settings
    from imgperc.inference.threads import physical_cores

    cores = physical_cores()
    workers = workers or max(1, cores // CORES_PER_WORKER)
    if workers > cores:
        raise InputError(f"--workers {workers} is more than the {cores} physical cores: the workers would slow each other down")
    threads = settings.threads() or max(1, cores // workers)
    settings.set_default(settings.ENV_THREADS, threads)  # every engine of every worker runs this many
    return workers, threads


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (port 0: a free one), or a one-line error."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@click.command("serve", short_help="Serve the web app and HTTP API on localhost.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; anything but localhost lets other machines in (a warning says so).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--workers", type=click.IntRange(min=1), help=f"Images worked on at once (default: one per {CORES_PER_WORKER} physical cores); each runs cores/workers torch threads.")
@click.option("--queue", type=click.IntRange(min=0), default=16, show_default=True, help="Requests that may wait for a worker; more are answered 429 with Retry-After.")
@click.option("--max-upload", type=click.IntRange(min=1), default=64, show_default=True, metavar="MIB", help="Largest request body, in MiB (larger: 413).")
def serve_command(host: str, port: int, workers: int | None, queue: int, max_upload: int) -> None:
    """Serve the web app and HTTP API (POST /v1/stylize, /v1/upscale; docs at /docs).

    Listens on localhost unless --host says otherwise. SIGTERM or Ctrl+C finish the requests
    in flight, then stop. `imgperc -v serve` shows the server's log (one line per request).
    """
    check_extra()
    workers, threads = plan_threads(workers)
    sock = listen(host, port)
    import uvicorn

    from .app import MIB, Config, create_app

    bound = sock.getsockname()[1]
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host) or (f"[{host}]" if ":" in host else host)  # a URL a browser opens
    click.echo(f"imgperc serve: http://{shown}:{bound}/ (API docs at /docs; {workers} worker(s) x {threads} thread(s), "
               f"queue {queue}; Ctrl+C stops)", err=True)
    if not is_local(host):
        click.echo(f"Warning: listening on {host}: anyone who can reach this machine can use the server (no authentication); "
                   "--host 127.0.0.1 keeps it local", err=True)
    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if not self.should_exit:
                click.echo(f"imgperc serve: {signal.Signals(sig).name}: finishing the requests in flight, then stopping", err=True)
            super().handle_exit(sig, frame)

    app = create_app(Config(workers=workers, queue=queue, max_upload=max_upload * MIB))
    Server(uvicorn.Config(app, timeout_graceful_shutdown=None)).run(sockets=[sock])
