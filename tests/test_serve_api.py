"""`imgperc serve`'s HTTP API: every endpoint, every error code, the full queue, clean-up after a
client leaves mid-upload, and SIGTERM draining what is in flight (the last two in a real server
process)."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from click.testing import CliRunner
from PIL import Image, ImageCms

from hardening_cli import one_error_line, run_cli
from fastapi.testclient import TestClient
from serve_process import ServeProcess

from imgperc.cli.main import cli
from imgperc_serve import command, jobs
from imgperc_serve.app import Config, create_app

STYLE = "wave-fast"


def encoded(size: tuple[int, int] = (48, 32), fmt: str = "JPEG", mode: str = "RGB", **options) -> bytes:
    """A small image file's bytes: a gradient, in ``fmt`` (``options`` go to Pillow)."""
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    rgb = np.concatenate([np.broadcast_to(x, (h, w, 1)), np.broadcast_to(y, (h, w, 1)), np.full((h, w, 1), 90.0)], axis=2)
    picture = Image.fromarray(rgb.astype(np.uint8))
    if mode == "RGBA":
        picture.putalpha(Image.fromarray(np.full((h, w), 128, np.uint8)))
    out = io.BytesIO()
    picture.save(out, fmt, **options)
    return out.getvalue()


@pytest.fixture
def client():
    with TestClient(create_app(Config(warm_thumbnails=False)), raise_server_exceptions=False) as test_client:
        yield test_client


def stylize(client, data=None, image=None, name="photo.jpg", **files):
    return client.post("/v1/stylize", data=data or {"style": STYLE}, files={"image": (name, image or encoded(), "image/jpeg"), **files})


def cli_error(capsys, *args: str) -> str:
    """The one `Error:` line of `imgperc ARGS`, which fails."""
    code, _, err = run_cli(capsys, *args)
    assert code != 0
    return one_error_line(err)


# --- endpoints -----------------------------------------------------------------------------


def test_healthz_page_and_docs_work_offline(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["workers"] >= 1 and health["busy"] == 0
    page = client.get("/")
    assert page.status_code == 200 and "<title>imgperc</title>" in page.text
    for asset in ("/", "/static/app.js", "/static/style.css", "/docs"):
        assert "http://" not in client.get(asset).text and "https://" not in client.get(asset).text, asset
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_models_are_the_model_list(client):
    models = {row["id"]: row for row in client.get("/v1/models").json()["models"]}
    assert models[STYLE]["thumbnail"] == f"/v1/thumbnails/{STYLE}.jpg" and models[STYLE]["builtin"]
    assert models["muse"]["thumbnail"] is None  # not installed: no thumbnail, no download
    assert models["x4-perceptual"]["scale"] == 4 and models["x8-fidelity"]["scale"] == 8
    assert {row["task"] for row in models.values()} == {"style", "sr"}


def test_thumbnails_are_made_once_and_cached(client, imgperc_env):
    response = client.get(f"/v1/thumbnails/{STYLE}.jpg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (160, 160)
    assert [p.name.split("-")[0] for p in (imgperc_env / "cache" / "serve").iterdir()] == ["wave"]
    assert client.get("/v1/thumbnails/muse.jpg").status_code == 404  # not installed
    assert client.get("/v1/thumbnails/nope.jpg").json()["detail"] == "no thumbnail of 'nope' (installed styles have one)"


def test_stylize_answers_what_the_cli_writes(client, tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "test camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(encoded((64, 40), exif=exif, icc_profile=icc, quality=95))
    response = stylize(client, {"style": STYLE, "strength": "0.6", "preserve_color": "true"}, photo.read_bytes())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"] == f'attachment; filename="photo.{STYLE}.jpg"'
    got = Image.open(io.BytesIO(response.content))
    assert got.size == (64, 40) and got.getexif()[0x010F] == "test camera" and got.info["icc_profile"] == icc
    result = CliRunner().invoke(cli, ["stylize", "--style", STYLE, "--strength", "0.6", "--preserve-color", str(photo), "-o", str(tmp_path / "cli.jpg")])
    assert result.exit_code == 0, result.output
    expected = np.asarray(Image.open(tmp_path / "cli.jpg"), dtype=np.float32)
    assert np.abs(np.asarray(got, dtype=np.float32) - expected).mean() < 1


def test_stylize_keeps_png_alpha_and_resizes(client):
    response = stylize(client, {"style": STYLE, "size": "24"}, encoded((64, 40), "PNG", "RGBA"), name="logo.png")
    assert response.status_code == 200, response.text
    got = Image.open(io.BytesIO(response.content))
    assert got.format == "PNG" and got.mode == "RGBA" and got.size == (24, 15)


def test_a_file_named_wrongly_is_answered_in_its_own_format(client):
    response = stylize(client, image=encoded(fmt="PNG"), name="photo.jpg")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="photo.{STYLE}.png"'


def test_upscale_x4_x8_and_bicubic(client):
    for data, factor, name in (({"scale": "4"}, 4, "photo.x4.jpg"), ({"model": "x8-fidelity"}, 8, "photo.x8-fidelity.jpg"),
                               ({"scale": "4", "model": "bicubic"}, 4, "photo.x4-bicubic.jpg")):
        response = client.post("/v1/upscale", data=data, files={"image": ("photo.jpg", encoded((12, 8)), "image/jpeg")})
        assert response.status_code == 200, response.text
        assert Image.open(io.BytesIO(response.content)).size == (12 * factor, 8 * factor)
        assert response.headers["content-disposition"] == f'attachment; filename="{name}"'


def test_upscale_to_any_scale_as_the_cli_does(client):
    for data, size, name in (({"outscale": "1.5"}, (18, 12), "photo.x1.5.jpg"), ({"outscale": "6"}, (72, 48), "photo.x6.jpg"),
                             ({"outscale": "2", "model": "x4-fidelity"}, (24, 16), "photo.x2-x4-fidelity.jpg")):
        response = client.post("/v1/upscale", data=data, files={"image": ("photo.jpg", encoded((12, 8)), "image/jpeg")})
        assert response.status_code == 200, response.text
        assert Image.open(io.BytesIO(response.content)).size == size
        assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    bad = client.post("/v1/upscale", data={"outscale": "0"}, files={"image": ("photo.jpg", encoded((12, 8)), "image/jpeg")})
    assert bad.status_code == 400 and bad.json()["detail"] == "Invalid value for '--outscale': 0.0 is not in the range x>0.0."


def test_your_own_painting(client, use_mirror):
    painting = ("starry.png", encoded((40, 40), "PNG"), "image/png")
    response = stylize(client, {"strength": "0.8", "style_size": "32"}, style_image=painting)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="photo.starry.jpg"'
    assert Image.open(io.BytesIO(response.content)).size == (48, 32)
    both = stylize(client, {"style": STYLE}, style_image=painting)
    assert both.status_code == 400 and both.json()["detail"] == "give --style-image, or --style/--model, not both"


def test_openapi_has_the_cli_options_and_bounds(client):
    from imgperc_style.cli import stylize_command

    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/stylize"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    strength = next(p for p in stylize_command.params if p.name == "strength")
    assert body["properties"]["strength"] | {"description": ""} == {
        "type": "number", "minimum": strength.type.min, "maximum": strength.type.max, "default": strength.default, "description": ""}
    assert body["properties"]["size"]["minimum"] == 16 and body["required"] == ["image"]
    assert body["properties"]["style_image"]["items"]["format"] == "binary"
    upscale = schema["paths"]["/v1/upscale"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upscale["properties"]["scale"]["enum"] == ["2", "4", "8"]
    assert upscale["properties"]["outscale"]["minimum"] == 0.0  # --outscale, an image option of the sr task
    assert set(schema["paths"]) >= {"/healthz", "/v1/models", "/v1/stylize", "/v1/upscale", "/v1/progress/{job}"}


# --- errors --------------------------------------------------------------------------------


def test_bad_options_are_400_with_the_cli_message(client, tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(encoded())
    for field, value, flag in (("strength", "1.5", "--strength"), ("size", "8", "--size"), ("strength", "nan", "--strength")):
        response = stylize(client, {"style": STYLE, field: value})
        assert response.status_code == 400
        assert response.json()["detail"] in cli_error(capsys, "stylize", "--style", STYLE, flag, value, str(photo)), value
    response = client.post("/v1/upscale", data={"scale": "3"}, files={"image": ("photo.jpg", encoded(), "image/jpeg")})
    assert response.status_code == 400 and response.json()["detail"] in cli_error(capsys, "upscale", "-x", "3", str(photo))
    assert stylize(client, {"style": "wavee"}).json()["detail"].startswith("unknown style 'wavee'; did you mean 'wave'?")
    assert stylize(client, {"style": STYLE, "style_mix": "1,2"}).json()["detail"] == "--style-mix needs --style-image paintings to mix"


def test_a_text_file_named_jpg_is_400_with_the_cli_message(client, tmp_path, capsys):
    response = stylize(client, image=b"shopping list: eggs, milk\n", name="notes.jpg")
    assert response.status_code == 400
    assert response.json() == {"detail": "cannot read notes.jpg: not an image, or not in a format Pillow knows"}
    notes = tmp_path / "notes.jpg"
    notes.write_text("shopping list: eggs, milk\n")
    assert cli_error(capsys, "stylize", str(notes)) == f"Error: cannot read {notes}: not an image, or not in a format Pillow knows"


def test_no_server_side_paths_are_accepted(client, tmp_path):
    model = tmp_path / "mine.safetensors"
    model.write_bytes(b"x")
    for data in ({"style": str(model)}, {"style": "../../etc/passwd"}, {"style_image": "/etc/hosts"}, {"model": str(model)}):
        endpoint = "/v1/upscale" if "model" in data else "/v1/stylize"
        response = client.post(endpoint, data=data, files={"image": ("photo.jpg", encoded(), "image/jpeg")})
        assert response.status_code == 400, data
    assert stylize(client, {"output": "/tmp/x.jpg"}).json()["detail"].startswith("unknown field 'output'")
    assert client.post("/v1/stylize", data={"style": STYLE}).json()["detail"].startswith("no image")


def test_uploads_over_the_limit_are_413():
    with TestClient(create_app(Config(max_upload=1 << 20, warm_thumbnails=False))) as limited:
        response = stylize(limited, image=b"\xff" * (2 << 20))
        assert response.status_code == 413
        assert response.json()["detail"] == "the upload is over the server's limit of 1 MiB (imgperc serve --max-upload)"
        streamed = limited.post("/v1/stylize", content=(b"\xff" * 65536 for _ in range(32)),  # no Content-Length
                                headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert streamed.status_code == 413 and streamed.json() == response.json()


def test_images_over_the_pixel_limit_are_413(client, monkeypatch):
    monkeypatch.setenv("IMGPERC_MAX_PIXELS", "10000")
    response = client.post("/v1/upscale", data={"scale": "4"}, files={"image": ("photo.jpg", encoded((40, 30)), "image/jpeg")})
    assert response.status_code == 413
    assert response.json()["detail"] == "the output would be 160x120 = 19,200 pixels, over the limit of 10,000 (set IMGPERC_MAX_PIXELS to raise it)"
    assert stylize(client, image=encoded((200, 100))).status_code == 413
    named = client.post("/v1/upscale", data={"model": "x8-fidelity"}, files={"image": ("photo.jpg", encoded((40, 30)), "image/jpeg")})
    assert named.status_code == 413 and "320x240" in named.json()["detail"]  # no scale field: the named model's own


def test_an_unexpected_failure_is_one_line_500(client, monkeypatch):
    def broken(self, models):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs.Request, "run", broken)
    response = stylize(client)
    assert response.status_code == 500 and response.json() == {"detail": "internal error: RuntimeError: boom"}


# --- the queue -----------------------------------------------------------------------------


@pytest.fixture
def held(monkeypatch):
    """Jobs wait for ``held.set()`` before they run."""
    gate = threading.Event()
    run = jobs.Request.run

    def waiting(self, models):
        assert gate.wait(30)
        return run(self, models)

    monkeypatch.setattr(jobs.Request, "run", waiting)
    yield gate
    gate.set()


def wait_busy(client, count: int) -> None:
    deadline = time.monotonic() + 30
    while client.get("/healthz").json()["busy"] < count:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_full_queue_is_429_with_retry_after_and_progress_shows_places(held, tmp_path):
    with TestClient(create_app(Config(workers=1, queue=1, temp_root=tmp_path, warm_thumbnails=False))) as client:
        answers: dict[str, requests.Response] = {}
        first = threading.Thread(target=lambda: answers.update(a=stylize(client, {"style": STYLE, "job": "first"})))
        first.start()
        wait_busy(client, 1)
        second = threading.Thread(target=lambda: answers.update(b=stylize(client, {"style": STYLE, "job": "second"})))
        second.start()
        wait_busy(client, 2)
        assert client.get("/v1/progress/first").json()["state"] == "running"
        assert client.get("/v1/progress/second").json() | {"seconds": 0} == {
            "state": "queued", "position": 1, "tiles_done": 0, "tiles": 0, "note": "", "seconds": 0}
        taken = stylize(client, {"style": STYLE, "job": "first"})
        assert taken.status_code == 400 and taken.json()["detail"].startswith("job 'first' is already queued or running")
        full = stylize(client)
        assert full.status_code == 429 and int(full.headers["retry-after"]) >= 1
        assert full.json()["detail"].startswith("the server is busy")
        held.set()
        first.join(30)
        second.join(30)
        assert answers["a"].status_code == answers["b"].status_code == 200
        assert client.get("/v1/progress/first").status_code == 404
        assert client.get("/healthz").json()["busy"] == 0
        assert stylize(client, {"style": STYLE, "job": "no/slashes"}).status_code == 400
        assert [p.name for p in tmp_path.glob("imgperc-serve-*/*")] == []  # the 429's and 400's uploads too


# --- the command ---------------------------------------------------------------------------


def test_without_the_extra_serve_says_how_to_install_it(monkeypatch, capsys):
    real = command.importlib.util.find_spec
    monkeypatch.setattr(command.importlib.util, "find_spec", lambda name: None if name == "fastapi" else real(name))
    code, out, err = run_cli(capsys, "serve")
    assert code != 0 and out == ""
    assert err == "Error: imgperc serve needs the serve extra (fastapi is missing): pip install 'imgperc[serve]'\n"


def test_workers_never_oversubscribe_the_cores(monkeypatch):
    import imgperc.inference.threads as threads

    monkeypatch.setattr(threads, "physical_cores", lambda: 16)
    monkeypatch.delenv("IMGPERC_THREADS", raising=False)
    assert command.plan_threads(None) == (4, 4) and os.environ["IMGPERC_THREADS"] == "4"
    monkeypatch.delenv("IMGPERC_THREADS")
    assert command.plan_threads(3) == (3, 5)
    monkeypatch.delenv("IMGPERC_THREADS")
    with pytest.raises(Exception, match="--workers 17 is more than the 16 physical cores"):
        command.plan_threads(17)


def test_listening_beyond_localhost_warns(monkeypatch):
    import uvicorn

    monkeypatch.setattr(command, "listen", lambda host, port: socket.create_server(("127.0.0.1", 0)))
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: None)
    monkeypatch.setenv("IMGPERC_THREADS", "1")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "Warning: listening on 0.0.0.0: anyone who can reach this machine can use the server" in result.output
    assert [command.is_local(host) for host in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "192.0.2.1")] == [True] * 3 + [False] * 2


# --- a real server process ------------------------------------------------------------------


def open_files(pid: int, folder: Path) -> list[str]:
    """The files under ``folder`` that process ``pid`` holds open (deleted ones too)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def leftovers(folder: Path) -> list[str]:
    """What the server keeps in its own folder under ``folder`` (the requests' folders)."""
    return sorted(str(p.relative_to(folder)) for own in folder.glob("imgperc-serve-*") for p in own.rglob("*"))


def test_temporary_files_are_removed_when_a_client_leaves(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    body_start = (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"big.jpg\"\r\n"
                  b"Content-Type: image/jpeg\r\n\r\n")
    with ServeProcess("--workers", "1", env={"TMPDIR": str(temp), "IMGPERC_THREADS": "1"}) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as raw:  # leaves mid-upload, past the 1 MB kept in memory
            raw.sendall(b"POST /v1/stylize HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                        b"Content-Length: 4000000\r\n\r\n" + body_start + b"\xff" * 2_000_000)
            deadline = time.monotonic() + 30
            while not (open_files(server.process.pid, temp) and leftovers(temp)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert open_files(server.process.pid, temp) and leftovers(temp)  # the upload, kept in a temporary file
        photo = encoded((512, 512))
        with socket.create_connection(("127.0.0.1", server.port)) as raw:  # leaves while its image is worked on
            body = (body_start + photo + b"\r\n--b\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\nleaver"
                    b"\r\n--b\r\nContent-Disposition: form-data; name=\"scale\"\r\n\r\n4\r\n--b--\r\n")
            raw.sendall(b"POST /v1/upscale HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            deadline = time.monotonic() + 60
            while requests.get(f"{server.url}/v1/progress/leaver").status_code != 200:
                assert time.monotonic() < deadline, "\n".join(server.lines)
                time.sleep(0.01)
            assert leftovers(temp)  # its upload, while it waits or runs
        deadline = time.monotonic() + 60
        while requests.get(f"{server.url}/v1/progress/leaver").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        while (open_files(server.process.pid, temp) or leftovers(temp)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert open_files(server.process.pid, temp) == [] and leftovers(temp) == []
    assert list(temp.glob("imgperc-serve-*")) == []  # its own folder goes when it stops


def test_sigterm_finishes_the_requests_in_flight_then_exits(tmp_path):
    photo = encoded((256, 256))
    with ServeProcess("--workers", "1", env={"IMGPERC_THREADS": "1"}) as server:
        answers: dict[str, requests.Response] = {}

        def post(key: str) -> None:
            answers[key] = requests.post(f"{server.url}/v1/upscale", data={"scale": "4", "job": key},
                                         files={"image": ("photo.jpg", photo, "image/jpeg")}, timeout=120)

        threads = [threading.Thread(target=post, args=(key,)) for key in ("one", "two")]
        for thread in threads:
            thread.start()
            time.sleep(0.2)
        deadline = time.monotonic() + 60
        while requests.get(f"{server.url}/v1/progress/one").status_code != 200 or \
                requests.get(f"{server.url}/v1/progress/two").status_code != 200:
            assert time.monotonic() < deadline, "\n".join(server.lines)
            time.sleep(0.02)
        server.terminate()
        for thread in threads:
            thread.join(120)
        status = server.process.wait(60)
    for key in ("one", "two"):
        assert answers[key].status_code == 200
        assert Image.open(io.BytesIO(answers[key].content)).size == (1024, 1024)
    assert status in (0, -15)
    assert "imgperc serve: SIGTERM: finishing the requests in flight, then stopping" in server.lines
