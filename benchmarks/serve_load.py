"""`imgperc serve` under load, against `imgperc stylize` on the same images in one process.

    python benchmarks/serve_load.py [--requests 200] [--concurrency 16] [--size 512]
        [--malformed 20] [--style wave-fast] [--workers N] [--json FILE]

The images are --requests photos of ../shared/data/train/coco, centre-cropped and resized to
--size x --size JPEGs (drawn scenes when ../shared is absent). The server (`imgperc serve
--port 0`, its own process) gets one untimed request first (imports, model load); then
--concurrency clients send the --requests stylize requests with --malformed bad ones mixed in
(a text file named .jpg, a truncated JPEG, strength 2, an unknown style, no image). Every valid
request must get its --size x --size image and every malformed one a 4xx (a 429 is retried
after its Retry-After and counted); otherwise the script exits 1. The server's RSS is sampled
from /proc every 0.1 s: after the warm-up, its peak, and at the end.

The CLI runs `imgperc stylize --style STYLE FOLDER -o OUT` once over the same images, and once
over one image; its images/s is (N - 1) / (T_N - T_1), so both sides leave out start-up and the
model load. Prints a markdown table (throughput, p50/p95 latency, RSS) and the server/CLI ratio.
Meaningful only on a quiet machine: a warning is printed when the 1-minute load average is above
half the CPU count.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from PIL import Image, ImageOps

COCO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "train" / "coco"
URL = re.compile(r"(http://127\.0\.0\.1:\d+)/")
RETRIES = 20  # 429 answers retried per request


def photos(folder: Path, count: int, size: int) -> list[bytes]:
    """``count`` JPEGs of ``size`` x ``size``: COCO photos (repeated as needed) or drawn scenes."""
    sources = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    out = []
    for i in range(count):
        if sources:
            picture = ImageOps.fit(ImageOps.exif_transpose(Image.open(sources[i % len(sources)])).convert("RGB"), (size, size))
        else:
            from imgperc_serve.catalogue import scene

            picture = scene(size).rotate(i * 7 % 360)
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def malformed(count: int, photo: bytes, style: str) -> list[tuple[str, dict[str, Any]]]:
    """``count`` bad requests (kind, requests' keyword arguments), cycling through five kinds."""
    kinds = [
        ("text named .jpg", {"files": {"image": ("notes.jpg", b"not an image\n", "image/jpeg")}, "data": {"style": style}}),
        ("truncated JPEG", {"files": {"image": ("cut.jpg", photo[: len(photo) // 3], "image/jpeg")}, "data": {"style": style}}),
        ("strength 2", {"files": {"image": ("a.jpg", photo, "image/jpeg")}, "data": {"style": style, "strength": "2"}}),
        ("unknown style", {"files": {"image": ("a.jpg", photo, "image/jpeg")}, "data": {"style": "no-such-style"}}),
        ("no image", {"data": {"style": style}}),
    ]
    return [kinds[i % len(kinds)] for i in range(count)]


class Server:
    """`imgperc serve --port 0` in its own process; ``url`` once it answers."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "imgperc", "serve", "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = ""
        for line in self.process.stdout:
            if match := URL.search(line):
                self.url = match.group(1)
                break
        if not self.url:
            raise SystemExit("imgperc serve did not start")
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()
        for _ in range(600):
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise SystemExit("imgperc serve did not answer /healthz")

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


class Sampler(threading.Thread):
    """The server's RSS every 0.1 s while the load runs."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server, self.samples, self.done = server, [], threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.samples.append(self.server.rss())


def post(url: str, kwargs: dict[str, Any], session: requests.Session) -> tuple[int, bytes, float, int]:
    """(status, body, seconds, 429s retried) of one request."""
    start, retried = time.perf_counter(), 0
    while True:
        response = session.post(url, timeout=600, **kwargs)
        if response.status_code != 429 or retried == RETRIES:
            return response.status_code, response.content, time.perf_counter() - start, retried
        retried += 1
        time.sleep(float(response.headers.get("Retry-After", "1")))


def run_load(server: Server, images: list[bytes], bad: list[tuple[str, dict]], args: argparse.Namespace) -> dict[str, Any]:
    """Send everything at --concurrency; check every answer; latency and throughput of the valid ones."""
    jobs: list[tuple[str, dict[str, Any]]] = [("valid", {"files": {"image": (f"{i}.jpg", data, "image/jpeg")}, "data": {"style": args.style}})
                                              for i, data in enumerate(images)] + bad
    random.Random(0).shuffle(jobs)
    local = threading.local()

    def one(job: tuple[str, dict[str, Any]]) -> tuple[str, int, bytes, float, int]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return (job[0], *post(f"{server.url}/v1/stylize", job[1], local.session))

    start = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        answers = list(pool.map(one, jobs))
    seconds = time.perf_counter() - start
    failures = []
    for kind, status, body, _, _ in answers:
        if kind == "valid" and (status != 200 or Image.open(io.BytesIO(body)).size != (args.size, args.size)):
            failures.append(f"valid request: {status} {body[:200]!r}")
        elif kind != "valid" and not 400 <= status < 500:
            failures.append(f"{kind}: {status} {body[:200]!r}")
    latencies = sorted(t for kind, _, _, t, _ in answers if kind == "valid")
    return {"seconds": seconds, "images_per_s": len(images) / seconds, "p50_s": statistics.median(latencies),
            "p95_s": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
            "retried_429": sum(r for *_, r in answers), "failures": failures,
            "bad_statuses": sorted({status for kind, status, *_ in answers if kind != "valid"})}


def cli_rate(images: list[bytes], style: str, folder: Path) -> dict[str, float]:
    """`imgperc stylize` over the images in one process, less its start-up (see the docstring)."""

    def timed(count: int) -> float:
        source, out = folder / f"in{count}", folder / f"out{count}"
        source.mkdir()
        for i, data in enumerate(images[:count]):
            (source / f"{i:04d}.jpg").write_bytes(data)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "imgperc", "stylize", "--style", style, "-q", str(source), "-o", str(out)], check=True)
        return time.perf_counter() - start

    one, all_ = timed(1), timed(len(images))
    return {"seconds": all_, "images_per_s": (len(images) - 1) / max(all_ - one, 1e-9), "startup_s": one}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--malformed", type=int, default=20)
    parser.add_argument("--style", default="wave-fast")
    parser.add_argument("--workers", type=int, help="imgperc serve --workers (default: its own)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if os.getloadavg()[0] > (os.cpu_count() or 1) / 2:
        print(f"warning: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: figures are not meaningful", file=sys.stderr)

    images = photos(COCO, args.requests, args.size)
    bad = malformed(args.malformed, images[0], args.style)
    server = Server(["--queue", str(args.concurrency)] + (["--workers", str(args.workers)] if args.workers else []))
    try:
        warm = requests.post(f"{server.url}/v1/stylize", files={"image": ("w.jpg", images[0], "image/jpeg")}, data={"style": args.style}, timeout=600)
        warm.raise_for_status()
        workers = requests.get(f"{server.url}/healthz").json()["workers"]
        rss_warm = server.rss()
        sampler = Sampler(server)
        sampler.start()
        load = run_load(server, images, bad, args)
        sampler.done.set()
        sampler.join()
        rss_end = server.rss()
    finally:
        server.stop()
    with tempfile.TemporaryDirectory() as folder:
        cli = cli_rate(images, args.style, Path(folder))

    mib = 1 << 20
    figures = {"requests": args.requests, "malformed": args.malformed, "concurrency": args.concurrency, "size": args.size,
               "style": args.style, "workers": workers, "server": {k: v for k, v in load.items() if k != "failures"}, "cli": cli,
               "ratio": load["images_per_s"] / cli["images_per_s"],
               "rss_mib": {"after_warmup": rss_warm / mib, "peak": max(sampler.samples or [rss_end]) / mib, "end": rss_end / mib}}
    print(f"| {args.requests} x {args.size}x{args.size} {args.style} | images/s | p50 s | p95 s | RSS MiB (warm / peak / end) |")
    print("|---|---|---|---|---|")
    rss = figures["rss_mib"]
    print(f"| imgperc serve ({workers} worker(s), {args.concurrency} clients) | {load['images_per_s']:.2f} | {load['p50_s']:.2f} | "
          f"{load['p95_s']:.2f} | {rss['after_warmup']:.0f} / {rss['peak']:.0f} / {rss['end']:.0f} |")
    print(f"| imgperc stylize (one process) | {cli['images_per_s']:.2f} | | | |")
    print(f"\nserver / CLI throughput: {figures['ratio']:.2f}; {args.malformed} malformed requests answered "
          f"{figures['server']['bad_statuses']}; 429s retried: {load['retried_429']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if load["failures"]:
        print("\n".join(["FAILED:", *load["failures"][:10]]), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
