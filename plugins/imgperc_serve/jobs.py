"""One request's work: its uploads in a private temporary folder, checked, then run in a worker
as the command line runs a file (read with EXIF/ICC, resized, transformed, finished, written in
the input's format), answering with the written file's bytes.

Named models are loaded once per worker (`imgperc.model.load_resolved`, kept in the worker's
cache); ``--style-image`` paintings go through the task's ``prepare`` (its nets are loaded once
per process by the style plugin). The folder is removed when the job is over.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgperc.errors import InputError

SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_NAME = 100  # characters of an uploaded file's name kept
FORMAT_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff"}


class TooLarge(InputError):
    """An upload over the size limit, or an image over the pixel limit (answered with 413)."""


def safe_name(name: str | None, fallback: str) -> str:
    """A client's file name as a plain name of our own folder: no folders, no odd characters."""
    base = SAFE_NAME.sub("_", Path((name or "").replace("\\", "/")).name).strip(" .")[-MAX_NAME:]
    return base or fallback


@dataclass
class Work:
    """A request's temporary folder and the files in it (see the module docstring)."""

    root: Path
    folder: Path = field(init=False)
    uploads: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="request-", dir=self.root))

    def add(self, data: Any, name: str | None, fallback: str) -> Path:
        """Save an upload (a file object) as ``name`` in a folder of its own; returns its path."""
        place = self.folder / str(len(self.uploads))
        place.mkdir()
        path = place / safe_name(name, fallback)
        with path.open("wb") as out:
            shutil.copyfileobj(data, out)
        self.uploads.append(path)
        return path

    def plain(self, message: str) -> str:
        """``message`` without our folder: paths read as the client's file names."""
        return re.sub(re.escape(str(self.folder)) + r"/\d+/", "", message).replace(str(self.folder), "")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def check_image(path: Path, scale: int = 1, size: int | None = None) -> Path:
    """Check an uploaded image before it is queued: readable (else the CLI's error) and within
    the pixel limit (`TooLarge`), output included; returns it named with its format's extension
    (a file that is not the image format its name says is renamed)."""
    import warnings

    from PIL import Image as PILImage

    from imgperc.io import read_image, scaled_size
    from imgperc.limits import check_pixels

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as pil:
                (width, height), kind = pil.size, pil.format
    except Exception:  # not an image Pillow opens: the CLI's own error says why, or its reader reads it
        (width, height), kind = read_image(path).size, None
    try:
        check_pixels(width, height, "the image")
        if size is not None:
            height, width = scaled_size(height, width, longest=size)
        check_pixels(width * scale, height * scale)
    except InputError as exc:
        raise TooLarge(str(exc)) from None
    extension = FORMAT_EXTENSIONS.get(str(kind), path.suffix.lower() if kind is None and path.suffix.lower() in MEDIA_TYPES else ".png")
    if MEDIA_TYPES.get(path.suffix.lower()) == MEDIA_TYPES.get(extension):
        return path
    named = path.with_name(f"{path.stem}{extension}")
    path.rename(named)
    return named


@dataclass(frozen=True)
class Request:
    """What a worker runs: ``task`` on ``source`` with the option ``values`` (the CLI's names),
    resized to ``size`` first; with a ``model`` name, that model (loaded once per worker) is
    called with ``options``, else (``--style-image`` paintings) the task's ``prepare`` is."""

    task: str
    source: Path
    values: dict[str, Any]
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    size: int | None = None

    def run(self, models: dict) -> tuple[Path, bytes]:
        """Transform the image and write the result beside it (``NAME.TAG.EXT``); its path and bytes."""
        import torch

        from imgperc import plugins
        from imgperc.api import resize_longest
        from imgperc.io import output_paths, read_image, write_image
        from imgperc.tasks import check_output, colour_output

        task = plugins.registry("image_tasks").require(self.task)
        image = read_image(self.source)
        if self.size is not None:
            image = resize_longest(image, self.size)
        batch = image.pixels[None]
        with torch.inference_mode():
            if self.model is None:
                transform = task.transform(self.values)
                result = transform(batch)
                check_output(batch, result, int(getattr(transform, "scale", 1)))
            else:
                result = self._model(models)(batch, **self.options)
        target = output_paths([self.source], tag=task.tag(self.values))[0]
        write_image(target, (task.finish or colour_output)(image, result[0]))
        return target, target.read_bytes()

    def _model(self, models: dict) -> Any:
        from imgperc.api import CACHE_SIZE, lru_get
        from imgperc.hub import resolve_model
        from imgperc.model import load_resolved

        from .fields import LABELS

        def load() -> Any:
            return load_resolved(resolve_model(str(self.model), self.task, label=LABELS[self.task]))

        return lru_get(models, (self.task, self.model), load, CACHE_SIZE)
