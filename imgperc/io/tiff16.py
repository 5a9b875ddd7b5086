"""TIFF where Pillow falls short: reading 16-bit colour, writing 16-bit and EXIF.

Pillow keeps 16 bits for single-sample (grayscale) TIFF only: RGB, RGBA and gray+alpha come
back as 8-bit (16-bit gray+alpha does not open at all), and its libtiff writer cannot put EXIF
into a compressed TIFF. Reading here reuses Pillow for what it does well: it parses the IFD, and
it decompresses the strips or tiles (through libtiff: LZW, Deflate, PackBits, ...) when handed
a small in-memory TIFF pointing at the same data that calls them one 16-bit gray image
``samples`` times as wide. numpy then splits the samples and undoes the horizontal predictor.
Writing (8 or 16 bits; every TIFF imgperc writes) is a minimal baseline TIFF: Deflate with
horizontal predictor, 256 KiB strips, the ICC profile, and the EXIF tags of
:func:`imgperc.io.metadata.portable_tags`.

Reading limits (such files go to Pillow, so 8-bit, see :func:`read`): classic TIFF only (no
BigTIFF), unsigned integer samples, photometric gray or RGB (not CMYK, YCbCr, Lab or palette),
predictor none or horizontal. Only the first page of a multi-page file is read. One
compressed strip (or row of tiles) holding more than ``2 * PIL.Image.MAX_IMAGE_PIXELS``
samples is refused as a decompression bomb by Pillow.
"""

from __future__ import annotations

import io
import warnings
import zlib

import numpy as np
from PIL import Image as PILImage
from PIL import TiffImagePlugin

from .metadata import portable_tags

_BAND_SAMPLES = 1 << 24  # decode at most this many samples per in-memory TIFF
_STRIP_BYTES = 1 << 18

# TIFF tag numbers
WIDTH, HEIGHT, BITS, COMPRESSION, PHOTOMETRIC = 256, 257, 258, 259, 262
STRIP_OFFSETS, SAMPLES, ROWS_PER_STRIP, STRIP_COUNTS = 273, 277, 278, 279
X_RES, Y_RES, PLANAR, RES_UNIT, PREDICTOR = 282, 283, 284, 296, 317
TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_COUNTS = 322, 323, 324, 325
EXTRA_SAMPLES, SAMPLE_FORMAT, ICC = 338, 339, 34675


class TIFFError(ValueError):
    """The 16-bit TIFF is corrupt or laid out in a way this reader does not follow."""


def first_ifd(data: bytes) -> TiffImagePlugin.ImageFileDirectory_v2 | None:
    """The first IFD of a classic TIFF (parsed by Pillow, even where Pillow cannot open the
    image, e.g. 16-bit gray+alpha), or None if ``data`` is not one."""
    if data[:4] not in (b"II*\0", b"MM\0*"):
        return None
    ifd = TiffImagePlugin.ImageFileDirectory_v2(ifh=data[:8])
    stream = io.BytesIO(data)
    stream.seek(ifd.next)
    ifd.load(stream)
    return ifd


def read(tags: TiffImagePlugin.ImageFileDirectory_v2, data: bytes) -> np.ndarray | None:
    """Samples ``uint16 [H, W, C]`` (C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) of a 16-bit TIFF
    with several samples per pixel, given its first IFD (:func:`first_ifd`) and its bytes.

    Returns None where Pillow alone should read the file: one sample per pixel (Pillow keeps
    16 bits there), not 16-bit, or outside the limits in the module docstring.
    """
    samples = tags.get(SAMPLES, 1)
    photometric = tags.get(PHOTOMETRIC)
    colour = 3 if photometric == 2 else 1
    if (
        samples < 2
        or samples < colour
        or photometric not in (0, 1, 2)
        or any(bits != 16 for bits in tags.get(BITS, (1,)))
        or any(fmt != 1 for fmt in tags.get(SAMPLE_FORMAT, (1,)))
        or tags.get(PREDICTOR, 1) not in (1, 2)
    ):
        return None
    width, height = size(tags)
    if tags.get(PLANAR, 1) == 2:
        offsets, counts = _chunk_offsets(tags)
        per_plane = len(offsets) // samples
        planes = [
            _read_plane(data, tags, width, height, 1, offsets[i * per_plane : (i + 1) * per_plane], counts[i * per_plane : (i + 1) * per_plane])
            for i in range(samples)
        ]
        pixels = np.concatenate(planes, axis=2)
    else:
        pixels = _read_plane(data, tags, width, height, samples, *_chunk_offsets(tags))
    return _to_gray_or_rgb(pixels, colour, photometric, tags.get(EXTRA_SAMPLES))


def check_complete(tags: TiffImagePlugin.ImageFileDirectory_v2, length: int) -> None:
    """Raise :class:`TIFFError` if a strip or tile lies beyond the file's ``length`` bytes
    (libtiff would print its own complaint to stderr before failing)."""
    offsets, counts = _chunk_offsets(tags)
    if any(offset + count > length for offset, count in zip(offsets, counts)):
        raise TIFFError("file is truncated")


def size(tags: TiffImagePlugin.ImageFileDirectory_v2) -> tuple[int, int]:
    """``(width, height)`` from an IFD."""
    width, height = tags.get(WIDTH), tags.get(HEIGHT)
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        raise TIFFError("missing or invalid image size")
    return width, height


def encode(samples: np.ndarray, *, icc_profile: bytes | None = None, exif: bytes | None = None) -> bytes:
    """Encode ``uint8`` or ``uint16 [H, W, C]`` (C in 1..4, the last of 2 or 4 being alpha) as
    TIFF: Deflate with horizontal predictor, the ICC profile, EXIF's portable tags."""
    if samples.ndim != 3 or samples.shape[2] not in (1, 2, 3, 4) or samples.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected uint8/uint16 [H, W, 1..4] samples, got {samples.dtype} {samples.shape}")
    height, width, channels = samples.shape
    residuals = samples.copy()
    residuals[:, 1:] -= samples[:, :-1]  # horizontal predictor (wraps around)
    residuals = residuals.astype(residuals.dtype.newbyteorder("<"))
    rows_per_strip = max(1, _STRIP_BYTES // (samples.itemsize * width * channels))
    strips = [zlib.compress(residuals[y : y + rows_per_strip].tobytes(), 6) for y in range(0, height, rows_per_strip)]

    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif:
        parsed = PILImage.Exif()
        parsed.load(exif)
        for tag, value in portable_tags(parsed).items():
            ifd[tag] = value
    ifd[WIDTH], ifd[HEIGHT] = width, height
    ifd[BITS] = (8 * samples.itemsize,) * channels
    ifd[COMPRESSION] = 8  # Deflate
    ifd[PHOTOMETRIC] = 2 if channels >= 3 else 1
    ifd[STRIP_OFFSETS] = tuple(np.cumsum([0] + [len(s) for s in strips[:-1]]).tolist())  # after the IFD
    ifd[SAMPLES] = channels
    ifd[ROWS_PER_STRIP] = rows_per_strip
    ifd[STRIP_COUNTS] = tuple(len(s) for s in strips)
    ifd[X_RES] = ifd[Y_RES] = 72
    ifd[PLANAR] = 1
    ifd[RES_UNIT] = 2
    ifd[PREDICTOR] = 2
    if channels in (2, 4):
        ifd[EXTRA_SAMPLES] = (2,)  # unassociated alpha
    ifd[SAMPLE_FORMAT] = (1,) * channels
    if icc_profile:
        ifd[ICC] = icc_profile
    out = io.BytesIO()
    ifd.save(out)  # header + IFD; Pillow makes StripOffsets relative to the IFD's end
    out.write(b"".join(strips))
    return out.getvalue()


def _chunk_offsets(tags) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if TILE_OFFSETS in tags:
        return tuple(tags[TILE_OFFSETS]), tuple(tags.get(TILE_COUNTS, ()))
    return tuple(tags.get(STRIP_OFFSETS, ())), tuple(tags.get(STRIP_COUNTS, ()))


def _read_plane(data: bytes, tags, width: int, height: int, samples: int, offsets, counts) -> np.ndarray:
    """Decode one plane (all samples when chunky) to ``uint16 [H, W, samples]``."""
    tiled = TILE_OFFSETS in tags
    if tiled:
        chunk_w, chunk_h = tags.get(TILE_WIDTH, 0), tags.get(TILE_LENGTH, 0)
    else:
        chunk_w, chunk_h = width, min(tags.get(ROWS_PER_STRIP, height), height)
    compression = tags.get(COMPRESSION, 1)
    if not tiled and compression == 1:  # uncompressed strips: one per row, so bands stay small
        row_bytes = 2 * width * samples
        offsets = [o + k * row_bytes for o, c in zip(offsets, counts) for k in range(c // row_bytes)][:height]
        counts, chunk_h = [row_bytes] * len(offsets), 1
    if not (chunk_w and chunk_h):
        raise TIFFError("invalid strip or tile size")
    across = -(-width // chunk_w)
    chunk_rows = -(-height // chunk_h)
    if len(offsets) < across * chunk_rows or len(counts) < len(offsets):
        raise TIFFError("strip or tile offsets are missing")
    rows_per_band = max(1, _BAND_SAMPLES // (chunk_h * across * chunk_w * samples))
    pixels = np.empty((height, width * samples), np.uint16)
    for first in range(0, chunk_rows, rows_per_band):
        last = min(chunk_rows, first + rows_per_band)
        y0, y1 = first * chunk_h, min(height, last * chunk_h)
        chunks = slice(first * across, last * across)
        pixels[y0:y1] = _decode_band(
            data, compression, width * samples, y1 - y0, (chunk_w * samples, chunk_h) if tiled else None,
            chunk_h, offsets[chunks], counts[chunks],
        )
    pixels = pixels.reshape(height, width, samples)
    if tags.get(PREDICTOR, 1) == 2:  # undo horizontal differencing, restarting in every tile
        padded = np.zeros((height, across * chunk_w, samples), np.uint16)
        padded[:, :width] = pixels
        undone = np.cumsum(padded.reshape(height, across, chunk_w, samples), axis=2, dtype=np.uint16)
        pixels = undone.reshape(height, across * chunk_w, samples)[:, :width]
    return pixels


def _decode_band(data: bytes, compression: int, width: int, height: int, tile, rows_per_strip: int, offsets, counts) -> np.ndarray:
    """Let Pillow decompress chunks of ``data`` as a 16-bit gray image ``width`` x ``height``."""
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=data[:2])
    ifd[WIDTH], ifd[HEIGHT] = width, height
    ifd[BITS] = (16,)
    ifd[COMPRESSION] = compression
    ifd[PHOTOMETRIC] = 1
    ifd[SAMPLES] = 1
    ifd[PLANAR] = 1
    if tile is None:
        ifd[STRIP_OFFSETS] = tuple(offsets)  # Pillow adds the IFD's end: data follows the IFD
        ifd[ROWS_PER_STRIP] = rows_per_strip
        ifd[STRIP_COUNTS] = tuple(counts)
    else:
        ifd[TILE_WIDTH], ifd[TILE_LENGTH] = tile
        ifd[TILE_OFFSETS] = tuple(offsets)
        ifd[TILE_COUNTS] = tuple(counts)
        end = 8 + len(ifd.tobytes(8))
        ifd[TILE_OFFSETS] = tuple(o + end for o in offsets)
    head = io.BytesIO()
    ifd.save(head)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)  # size checked by caller
        with PILImage.open(io.BytesIO(head.getvalue() + data)) as gray:
            if gray.mode not in ("I;16", "I;16B"):
                raise TIFFError(f"unexpected layout (decoded as {gray.mode})")
            return np.asarray(gray).astype(np.uint16)


def _to_gray_or_rgb(pixels: np.ndarray, colour: int, photometric: int, extra) -> np.ndarray:
    """Keep the colour samples and the alpha sample (if any), un-premultiplied."""
    if photometric == 0:  # min-is-white
        pixels[..., 0] = 65535 - pixels[..., 0]
    kind = extra[0] if extra else 2  # Pillow's reading: an unlabelled extra sample is alpha
    if pixels.shape[2] == colour or kind not in (1, 2):
        return np.ascontiguousarray(pixels[..., :colour])
    out = np.ascontiguousarray(pixels[..., : colour + 1])
    if kind == 1:  # associated (premultiplied) alpha
        alpha = out[..., colour:].astype(np.float64)
        straight = out[..., :colour] * 65535.0 / np.maximum(alpha, 1)
        out[..., :colour] = np.where(alpha > 0, np.clip(np.rint(straight), 0, 65535), 0).astype(np.uint16)
    return out

