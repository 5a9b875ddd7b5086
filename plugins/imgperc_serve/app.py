"""The FastAPI app: the page, the versioned API and its OpenAPI documentation (docs/serve.md).

Every failure is one line of JSON, ``{"detail": "..."}``: 400 with the command line's message
for a bad image or option, 413 over the upload or pixel limit, 429 with ``Retry-After`` when
the work queue is full, 404 for an unknown thumbnail or job; an unexpected error is a 500 with
its one line (the traceback goes to the server's log only). Clients never name server-side
files, and nothing they send is unpickled.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import imgperc
from imgperc import plugins
from imgperc.api import STYLE_TASK
from imgperc.errors import DownloadError, ImgpercError, InputError

from . import catalogue
from .fields import BASELINES, MAX_PAINTINGS, STYLIZE, UPSCALE, Endpoint, Field, check_name, fields
from .jobs import MEDIA_TYPES, Request as Job, TooLarge, Work, check_image
from .pool import QueueFull, WorkPool

STATIC = Path(__file__).resolve().parent / "static"
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIB = 1 << 20
log = logging.getLogger("imgperc.serve")


@dataclass(frozen=True)
class Config:
    """How the app serves: worker threads, queue places, the largest upload, where uploads go."""

    workers: int = 1
    queue: int = 8
    max_upload: int = 64 * MIB
    temp_root: Path | None = None  # a folder of its own is made in it (default: the system's)
    warm_thumbnails: bool = True  # make the gallery's thumbnails at start (else on first view)


class UploadLimit:
    """Refuses a request body over ``limit`` bytes with 413: at once by its Content-Length,
    or as soon as a streamed body goes past it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.limit:
            return await _too_large(self.limit)(scope, receive, send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, _upload_message(self.limit))
            return message

        await self.app(scope, counted, send)


def _upload_message(limit: int) -> str:
    return f"the upload is over the server's limit of {limit / MIB:g} MiB (imgperc serve --max-upload)"


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": _upload_message(limit)}, status_code=413, headers={"Connection": "close"})


def create_app(config: Config = Config()) -> FastAPI:
    """The app (run it with uvicorn: `imgperc serve`)."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["root"] = Path(tempfile.mkdtemp(prefix="imgperc-serve-", dir=config.temp_root))
        state["pool"] = WorkPool(config.workers, config.queue)
        state["thumbnails"] = ThreadPoolExecutor(1, thread_name_prefix="imgperc-thumbnails")
        if config.warm_thumbnails:
            state["thumbnails"].submit(_make_thumbnails)
        try:
            yield
        finally:
            await run_in_threadpool(state["pool"].shutdown)
            state["thumbnails"].shutdown(wait=True, cancel_futures=True)
            shutil.rmtree(state["root"], ignore_errors=True)

    app = FastAPI(title="imgperc", version=imgperc.__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Fast neural style transfer and perceptual super-resolution (docs/serve.md).")
    app.add_middleware(UploadLimit, limit=config.max_upload)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _documentation(app)

    @app.exception_handler(ImgpercError)
    async def imgperc_error(_: Request, exc: ImgpercError) -> JSONResponse:
        status = 413 if isinstance(exc, TooLarge) else 502 if isinstance(exc, DownloadError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(QueueFull)
    async def queue_full(_: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:  # uvicorn logs its traceback
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz", summary="Liveness and load")
    async def healthz() -> dict[str, Any]:
        pool: WorkPool = state["pool"]
        return {"status": "ok", "version": imgperc.__version__, "workers": pool.workers, "queue": pool.queue, "busy": pool.busy}

    @app.get("/v1/models", summary="The style and super-resolution models (as `imgperc models list --json`)")
    async def list_models() -> dict[str, Any]:
        return {"models": await run_in_threadpool(catalogue.models)}

    @app.get("/v1/thumbnails/{style}.jpg", summary="A style's gallery thumbnail", response_class=Response,
             responses={200: {"content": {"image/jpeg": {}}}})
    async def thumbnail(style: str) -> Response:
        rows = {row["id"]: row for row in await run_in_threadpool(catalogue.models) if row["task"] == STYLE_TASK}
        if style not in rows or not rows[style]["installed"]:
            raise HTTPException(404, f"no thumbnail of '{style}' (installed styles have one)")
        data = await asyncio.get_running_loop().run_in_executor(state["thumbnails"], catalogue.thumbnail, style)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @app.get("/v1/progress/{job}", summary="Where a request given this `job` id is: queued (its place) or running (tiles)")
    async def progress(job: str) -> dict[str, Any]:
        found = state["pool"].progress(job)
        if found is None:
            raise HTTPException(404, f"no job '{job}' queued or running")
        return found.as_dict()

    for endpoint, path, summary in ((STYLIZE, "/v1/stylize", "Stylize an image"), (UPSCALE, "/v1/upscale", "Upscale an image x2, x4 or x8")):
        app.add_api_route(path, _image_route(endpoint, state), methods=["POST"], summary=summary, response_class=Response,
                          openapi_extra=_openapi(endpoint), responses=_responses())
    return app


def _make_thumbnails() -> None:
    """Make (or find cached) the thumbnail of every installed style."""
    for row in catalogue.models():
        if row.get("thumbnail"):
            try:
                catalogue.thumbnail(row["id"])
            except ImgpercError as exc:
                log.warning("no thumbnail of %s: %s", row["id"], exc)


def _image_route(endpoint: Endpoint, state: dict[str, Any]) -> Any:
    """The POST handler of ``endpoint``: multipart ``image`` plus the task's option fields."""
    known = fields(endpoint)

    async def handler(request: Request) -> Response:
        work = Work(state["root"])
        try:
            try:
                async with request.form(max_files=1 + MAX_PAINTINGS, max_fields=len(known) + MAX_PAINTINGS + 2) as form:
                    job, key = await run_in_threadpool(_job, endpoint, known, form, work)
                future = state["pool"].submit(key, job.run)
            except BaseException:
                work.remove()
                raise
            future.add_done_callback(lambda _: work.remove())  # once the job is over, also if the client has left
            target, data = await asyncio.wrap_future(future)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening
        except ImgpercError as exc:
            raise type(exc)(work.plain(str(exc))) from None
        headers = {"Content-Disposition": f'attachment; filename="{target.name}"'}
        return Response(data, media_type=MEDIA_TYPES.get(target.suffix.lower(), "application/octet-stream"), headers=headers)

    return handler


def _job(endpoint: Endpoint, known: dict[str, Field], form: Any, work: Work) -> tuple[Job, str]:
    """Check the form (uploads saved, options converted as the CLI does) into a job and its progress id."""
    unknown = [name for name in form.keys() if name not in known and name not in ("image", "job")]
    if unknown:
        raise InputError(f"unknown field '{unknown[0]}' (fields: image, job, {', '.join(known)})")
    image = form.get("image")
    if not isinstance(image, UploadFile):
        raise InputError("no image: send the image file as the multipart field 'image'")
    key = str(form.get("job") or "")
    if key and not JOB_ID.fullmatch(key):
        raise InputError("job must be 1 to 64 letters, digits, '-' or '_'")
    values: dict[str, Any] = {}
    for name, field in known.items():
        given = form.getlist(name)
        if field.upload:
            files = [item for item in given if isinstance(item, UploadFile)]
            if len(files) != len(given):
                raise InputError(f"{name} must be uploaded files")
            values[name] = tuple(check_image(work.add(item.file, item.filename, f"{name}.png")) for item in files)
        elif given:
            if not isinstance(given[-1], str):
                raise InputError(f"{name} must be a value, not a file")
            values[name] = field.convert(given[-1])
    size = values.pop("size", None)
    task = plugins.registry("image_tasks").require(endpoint.task)
    model = values.get(endpoint.name_field)
    if any(values.get(name) and known[name].upload for name in endpoint.painting_options):
        model = None  # paintings instead of a model: the task's prepare makes it
    else:
        model = model or task.default(**{k: values[k] for k in endpoint.default_by if values.get(k) is not None})
        check_name(endpoint.task, model, catalogue.names(endpoint.task))
        if model in BASELINES.get(endpoint.task, ()):
            model = None  # not a model: the task's prepare makes it
    task.tag(values)  # the CLI's checks of the choice (style or paintings, scale and model), before queueing
    scale = int(values.get("scale") or _model_scale(endpoint, model))
    source = check_image(work.add(image.file, image.filename, "image.png"), scale=scale, size=size)
    options = {name: values[name] for name in endpoint.model_options if values.get(name) is not None}
    return Job(endpoint.task, source, values, model, options, size), key or work.folder.name


def _model_scale(endpoint: Endpoint, model: str | None) -> int:
    """The scale of ``model`` (1 for styles), for the pixel limit."""
    if endpoint.task == STYLE_TASK or model is None:
        return 1
    return int(catalogue.scale(model) or 1)


def _openapi(endpoint: Endpoint) -> dict[str, Any]:
    """The request body's schema: ``image``, ``job`` and the CLI options (`fields.Field.schema`)."""
    properties: dict[str, Any] = {"image": {"type": "string", "format": "binary", "description": "The image (JPEG, PNG, WebP, BMP, TIFF)."}}
    for name, field in fields(endpoint).items():
        properties[name] = field.schema(names=name == endpoint.name_field)
    properties["job"] = {"type": "string", "pattern": JOB_ID.pattern,
                         "description": "Your id for this request, to follow it at GET /v1/progress/{job}."}
    schema = {"type": "object", "required": ["image"], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def _responses() -> dict[int | str, dict[str, Any]]:
    error = {"application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}}}}}
    return {
        200: {"description": "The result, in the input's format, EXIF and ICC kept", "content": {"image/*": {}}},
        400: {"description": "A bad image or option (the command line's one-line message)", "content": error},
        413: {"description": "Over the upload-size or pixel limit", "content": error},
        429: {"description": "The work queue is full: retry after `Retry-After` seconds", "content": error},
    }


def _documentation(app: FastAPI) -> None:
    """Swagger UI at /docs, from the swagger-ui-bundle package (nothing from the internet)."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Any:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="imgperc API", swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css", swagger_favicon_url="/docs-assets/favicon-32x32.png")
