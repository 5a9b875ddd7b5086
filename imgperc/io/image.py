"""Reading and writing still images as float tensors, keeping alpha, bit depth, EXIF and ICC.

Reading: JPEG, PNG, WebP, BMP, TIFF (and whatever else Pillow opens), EXIF orientation applied
(pixels are always upright), grayscale / palette / CMYK converted to RGB (CMYK naively, without
its ICC profile), alpha kept aside. 16-bit PNG and TIFF keep all 16 bits (:mod:`.codecs`, where
Pillow would drop to 8). Images over :data:`MAX_PIXELS` are refused.

Writing, by extension: 16-bit PNG/TIFF when the source was 16-bit, else 8-bit; alpha in PNG,
WebP and TIFF, dropped (not composited) in JPEG and BMP; gray files when the source was gray
and the pixels still are; EXIF (orientation reset to 1) and ICC carried over where the format
holds them (not BMP), an ICC profile only onto pixels of its colour space. JPEG and WebP are
lossy at ``quality``; TIFF is Deflate-compressed (written by :mod:`.codecs` at either depth).
Files are written atomically and an existing file is only replaced with ``overwrite``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image as PILImage

from ..atomic import atomic_path, check_writable
from ..errors import InputError
from . import codecs, metadata
from .resample import resize

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
MAX_PIXELS = 1 << 27  # 134 megapixels: already 1.6 GB as float32 RGB, far more in any network
_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
_WITH_ALPHA = frozenset({"PNG", "WEBP", "TIFF"})
_WITH_GRAY = frozenset({"JPEG", "PNG", "BMP", "TIFF"})
_WITH_16_BIT = frozenset({"PNG", "TIFF"})
# RuntimeError: imagecodecs' decoders (under tifffile) report corrupt data with subclasses of it
_READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, RuntimeError, struct.error, zlib.error)


@dataclass
class Image:
    """An upright image: RGB pixels, optional alpha, and what is needed to write it back."""

    pixels: torch.Tensor  # float32 [3, H, W], RGB in [0, 1]
    alpha: torch.Tensor | None  # float32 [1, H, W] in [0, 1], or None
    bit_depth: int = 8  # of the source: 8 or 16
    exif: bytes | None = None  # "Exif\0\0"-prefixed, orientation 1 (pixels are upright)
    icc_profile: bytes | None = None
    grayscale: bool = False  # the source had no colour

    def __post_init__(self) -> None:
        if self.pixels.ndim != 3 or self.pixels.shape[0] != 3:
            raise ValueError(f"pixels must be [3, H, W], got {tuple(self.pixels.shape)}")
        if self.alpha is not None and self.alpha.shape != (1, *self.pixels.shape[1:]):
            raise ValueError(f"alpha must be [1, H, W] matching pixels, got {tuple(self.alpha.shape)}")
        if self.bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {self.bit_depth}")

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.pixels.shape[2], self.pixels.shape[1]

    def with_pixels(self, pixels: torch.Tensor) -> Image:
        """The same image (metadata, alpha) with new pixels; alpha is resized if their size differs."""
        alpha = self.alpha
        if alpha is not None and tuple(alpha.shape[1:]) != tuple(pixels.shape[1:]):
            alpha = resize(alpha.float(), tuple(pixels.shape[1:]), mode="bilinear")
        return dataclasses.replace(self, pixels=pixels, alpha=alpha)


def read_image(path: str | os.PathLike) -> Image:
    """Read an image file; any problem with it is an :class:`InputError` naming the file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not an image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return _decode(data)
    except InputError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    except PILImage.UnidentifiedImageError:
        raise InputError(f"cannot read {path}: not an image, or not in a format Pillow knows") from None
    except PILImage.DecompressionBombError:
        raise InputError(f"cannot read {path}: image is too large (limit {MAX_PIXELS:,} pixels)") from None
    except MemoryError:
        raise InputError(f"cannot read {path}: not enough memory") from None
    except _READ_ERRORS as exc:
        raise InputError(f"cannot read {path}: corrupt or truncated image ({_one_line(exc)})") from None


def write_image(path: str | os.PathLike, image: Image, *, overwrite: bool = False, quality: int = 95) -> None:
    """Write ``image`` in the format its extension names (see the module docstring)."""
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unsupported output format {path.suffix!r} (use {_extension_list()})")
    check_writable(path, overwrite=overwrite)
    data = _encode(image, fmt, quality)
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def from_pil(pil: PILImage.Image) -> Image:
    """Convert a Pillow image (any mode; EXIF orientation applied) to an :class:`Image`."""
    exif_tags = pil.getexif()
    exif = pil.info.get("exif")
    if exif is None and pil.format == "TIFF":
        exif = metadata.exif_from_tiff(exif_tags)
    samples, bit_depth = _pil_samples(pil)
    return _build(samples, bit_depth, metadata.orientation(exif_tags), exif, pil.info.get("icc_profile"))


def to_pil(image: Image) -> PILImage.Image:
    """An 8-bit RGB (or RGBA, with alpha) Pillow image, its ``info`` holding EXIF and ICC."""
    samples = _quantize(image, 255, with_alpha=image.alpha is not None)
    pil = PILImage.fromarray(samples, "RGBA" if samples.shape[2] == 4 else "RGB")
    if image.exif:
        pil.info["exif"] = image.exif
    if metadata.icc_for(image.icc_profile, gray=False):
        pil.info["icc_profile"] = image.icc_profile
    return pil


def _decode(data: bytes) -> Image:
    if data.startswith(codecs.TIFF_MAGIC):
        tiff = codecs.decode_tiff16(data, max_pixels=MAX_PIXELS)
        if tiff is not None:
            exif_tags = PILImage.Exif()
            exif_tags.load(data)
            samples, icc = tiff
            return _build(samples, 16, metadata.orientation(exif_tags), metadata.exif_from_tiff(exif_tags), icc)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)  # check_size decides
        with PILImage.open(io.BytesIO(data)) as pil:
            codecs.check_size(pil.size, MAX_PIXELS)
            if codecs.is_16_bit_png(data):
                exif = pil.info.get("exif")
                return _build(codecs.decode_png16(data), 16, metadata.orientation(exif), exif, pil.info.get("icc_profile"))
            pil.load()
            return from_pil(pil)


def _pil_samples(pil: PILImage.Image) -> tuple[np.ndarray, int]:
    """``[H, W, C]`` uint8 or uint16 samples (C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) and bit depth."""
    mode = pil.mode
    if mode.startswith("I;16"):
        return np.asarray(pil).astype(np.uint16)[..., None], 16
    if mode == "I":
        return np.clip(np.asarray(pil), 0, 65535).astype(np.uint16)[..., None], 16
    if mode == "F":  # floating point samples, taken as [0, 1]
        return np.rint(np.clip(np.nan_to_num(np.asarray(pil)), 0, 1) * 65535).astype(np.uint16)[..., None], 16
    transparent = "transparency" in pil.info
    if mode in ("1", "L"):
        target = "LA" if transparent else "L"
    elif mode in ("LA", "La"):
        target = "LA"
    elif mode in ("RGBA", "RGBa", "PA") or (transparent and mode in ("RGB", "P")):
        target = "RGBA"
    else:  # RGB, P, CMYK, YCbCr, LAB, HSV, RGBX, ...
        target = "RGB"
    if mode != target:
        pil = pil.convert(target)
    samples = np.asarray(pil)
    return (samples[..., None] if samples.ndim == 2 else samples), 8


def _build(samples: np.ndarray, bit_depth: int, orientation: int, exif: bytes | None, icc: bytes | None) -> Image:
    """An :class:`Image` from stored (not yet upright) ``[H, W, C]`` samples."""
    samples = metadata.upright(samples, orientation)
    channels = samples.shape[2]
    values = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).permute(2, 0, 1)
    values /= 65535.0 if bit_depth == 16 else 255.0
    gray = channels <= 2
    colour = values[:1].repeat(3, 1, 1) if gray else values[:3].contiguous()
    alpha = values[channels - 1 :].contiguous() if channels in (2, 4) else None
    return Image(
        pixels=colour,
        alpha=alpha,
        bit_depth=bit_depth,
        exif=metadata.reset_orientation(exif),
        icc_profile=metadata.icc_for(icc, gray=gray),
        grayscale=gray,
    )


def _encode(image: Image, fmt: str, quality: int) -> bytes:
    deep = image.bit_depth == 16 and fmt in _WITH_16_BIT
    with_alpha = image.alpha is not None and fmt in _WITH_ALPHA
    samples = _quantize(image, 65535 if deep else 255, with_alpha=with_alpha)
    colour = samples[..., :3]
    gray = image.grayscale and fmt in _WITH_GRAY and bool((colour == colour[..., :1]).all())
    if gray:
        samples = np.delete(samples, [1, 2], axis=2)
    icc = metadata.icc_for(image.icc_profile, gray=gray)
    exif = metadata.reset_orientation(image.exif) if fmt != "BMP" else None
    if fmt == "TIFF":  # Pillow cannot write 16-bit colour TIFF, nor EXIF into compressed TIFF
        return codecs.encode_tiff(samples, icc_profile=icc, exif=exif)
    if deep:
        return codecs.encode_png16(samples, icc_profile=icc, exif=exif)

    pil = PILImage.fromarray(samples[..., 0] if samples.shape[2] == 1 else samples)
    options: dict = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    if exif:
        options["exif"] = exif
    if icc and fmt != "BMP":
        options["icc_profile"] = icc
    out = io.BytesIO()
    pil.save(out, fmt, **options)
    return out.getvalue()


def _quantize(image: Image, scale: int, *, with_alpha: bool) -> np.ndarray:
    """``[H, W, 3 or 4]`` uint8 (scale 255) or uint16 (scale 65535): round(clamp(x, 0, 1) * scale)."""
    channels = [image.pixels, image.alpha] if with_alpha else [image.pixels]
    values = torch.cat([c.detach().to("cpu", torch.float32) for c in channels])
    values = torch.nan_to_num(values, nan=0.0).clamp(0, 1).mul(scale).round()
    return np.ascontiguousarray(values.permute(1, 2, 0).numpy(), dtype=np.uint16 if scale == 65535 else np.uint8)


def _extension_list() -> str:
    return ", ".join(sorted(IMAGE_EXTENSIONS))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
