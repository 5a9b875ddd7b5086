"""A small numpy + zlib codec for 16-bit PNG, which Pillow reads and writes only as 8-bit.

Pillow keeps 16 bits for grayscale PNG alone: RGB, RGBA and gray+alpha at 16 bits per sample
come back as 8-bit. This module decodes every 16-bit PNG (colour types 0, 2, 4 and 6, all five
filter types, Adam7 interlacing, ``tRNS`` colour keys, ``iCCP`` and ``eXIf``) and encodes
non-interlaced ones with per-row adaptive filtering. Samples are ``uint16`` arrays ``[H, W, C]``
with C = 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA). Errors raise :class:`PNGError`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel
_COLOUR_TYPE = {c: t for t, c in _CHANNELS.items()}
# Adam7 passes: (x start, y start, x step, y step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_IDAT_CHUNK = 1 << 20
_ENCODE_ROWS = 256  # rows filtered at once when encoding (bounds memory)


class PNGError(ValueError):
    """The data is not a 16-bit PNG this codec can decode (or it is corrupt)."""


@dataclass
class PNG16:
    """A decoded 16-bit PNG."""

    samples: np.ndarray  # uint16 [H, W, C]
    transparent: tuple[int, ...] | None = None  # tRNS colour key (gray or RGB), if any
    icc_profile: bytes | None = None
    exif: bytes | None = None  # TIFF-structured, as stored in eXIf (no "Exif\0\0" prefix)


def header(data: bytes) -> tuple[int, int, int, int] | None:
    """``(width, height, bit_depth, colour_type)`` from a PNG's first 29 bytes, or None if not PNG."""
    if len(data) < 29 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height, depth, ctype = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, ctype


def decode(data: bytes, *, max_pixels: int) -> PNG16:
    """Decode a 16-bit PNG; images over ``max_pixels`` are refused before decompression."""
    if not data.startswith(SIGNATURE):
        raise PNGError("not a PNG file")
    ihdr = None
    idat: list[bytes] = []
    result = PNG16(samples=np.zeros((0, 0, 1), np.uint16))
    for ctype, body in _chunks(data):
        if ctype == b"IHDR":
            ihdr = _parse_ihdr(body, max_pixels)
        elif ihdr is None:
            raise PNGError("IHDR is not the first chunk")
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
        elif ctype == b"tRNS":
            result.transparent = _parse_trns(body, ihdr[3])
        elif ctype == b"iCCP":
            result.icc_profile = _parse_iccp(body)
        elif ctype == b"eXIf":
            result.exif = body
        elif ctype[0] & 0x20 == 0 and ctype != b"PLTE":  # unknown critical chunk
            raise PNGError(f"unsupported critical chunk {ctype.decode('latin-1')!r}")
    else:
        raise PNGError("file is truncated (no IEND chunk)")
    if ihdr is None or not idat:
        raise PNGError("no image data")
    width, height, channels, _, interlaced = ihdr
    bpp = 2 * channels
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    sizes = [(-(-(width - x0) // dx), -(-(height - y0) // dy)) for x0, y0, dx, dy in passes]
    expected = sum(h * (1 + w * bpp) for w, h in sizes if w and h)
    raw = _inflate(b"".join(idat), expected)
    pixels = np.empty((height, width, bpp), np.uint8)
    pos = 0
    for (x0, y0, dx, dy), (w, h) in zip(passes, sizes):
        if not (w and h):
            continue
        rows = np.frombuffer(raw, np.uint8, h * (1 + w * bpp), pos).reshape(h, 1 + w * bpp)
        pos += rows.size
        if rows[:, 0].max() > 4:
            raise PNGError(f"invalid filter type {rows[:, 0].max()}")
        pixels[y0::dy, x0::dx] = _unfilter(rows[:, 0], rows[:, 1:].reshape(h, w, bpp))
    result.samples = pixels.view(">u2").reshape(height, width, channels).astype(np.uint16)
    return result


def encode(samples: np.ndarray, *, icc_profile: bytes | None = None, exif: bytes | None = None) -> bytes:
    """Encode ``uint16 [H, W, C]`` (C in 1..4) as a non-interlaced 16-bit PNG.

    ``exif`` is TIFF-structured EXIF; a leading ``Exif\\0\\0`` (JPEG APP1 style) is removed.
    """
    if samples.ndim != 3 or samples.shape[2] not in _COLOUR_TYPE or samples.dtype != np.uint16:
        raise ValueError(f"expected uint16 [H, W, 1..4] samples, got {samples.dtype} {samples.shape}")
    height, width, channels = samples.shape
    raw = np.ascontiguousarray(samples, dtype=">u2").view(np.uint8).reshape(height, width * 2 * channels)
    compressor = zlib.compressobj(6)
    stream = []
    for start in range(0, height, _ENCODE_ROWS):
        above = raw[start - 1] if start else np.zeros_like(raw[0])
        stream.append(compressor.compress(_filter(raw[start : start + _ENCODE_ROWS], above, 2 * channels)))
    stream.append(compressor.flush())
    compressed = b"".join(stream)

    out = [SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, _COLOUR_TYPE[channels], 0, 0, 0))]
    if icc_profile:
        out.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc_profile)))
    if exif:
        out.append(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    for start in range(0, max(len(compressed), 1), _IDAT_CHUNK):
        out.append(_chunk(b"IDAT", compressed[start : start + _IDAT_CHUNK]))
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def _chunks(data: bytes):
    """Yield ``(type, body)`` of each chunk after the signature, checking lengths and CRCs."""
    pos = len(SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise PNGError("file is truncated")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length
        if end + 4 > len(data):
            raise PNGError("file is truncated")
        body = data[pos + 8 : end]
        if zlib.crc32(ctype + body) != struct.unpack(">I", data[end : end + 4])[0]:
            raise PNGError(f"corrupt {ctype.decode('latin-1')!r} chunk (CRC mismatch)")
        yield ctype, body
        pos = end + 4


def _parse_ihdr(body: bytes, max_pixels: int) -> tuple[int, int, int, int, bool]:
    if len(body) != 13:
        raise PNGError("bad IHDR chunk")
    width, height, depth, ctype, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
    if depth != 16 or ctype not in _CHANNELS:
        raise PNGError(f"not a 16-bit gray/RGB PNG (bit depth {depth}, colour type {ctype})")
    if compression or filtering or interlace > 1 or not (width and height):
        raise PNGError("invalid IHDR values")
    if width * height > max_pixels:
        raise PNGError(f"image is too large ({width}x{height} pixels, limit {max_pixels})")
    return width, height, _CHANNELS[ctype], ctype, interlace == 1


def _parse_trns(body: bytes, ctype: int) -> tuple[int, ...] | None:
    count = {0: 1, 2: 3}.get(ctype)  # colour types with alpha forbid tRNS: ignore it there
    if count is None or len(body) != 2 * count:
        return None
    return struct.unpack(f">{count}H", body)


def _parse_iccp(body: bytes) -> bytes:
    name_end = body.find(b"\0")
    if name_end < 0 or name_end + 1 >= len(body) or body[name_end + 1] != 0:
        raise PNGError("bad iCCP chunk")
    try:
        return zlib.decompress(body[name_end + 2 :])
    except zlib.error as exc:
        raise PNGError(f"corrupt ICC profile ({exc})") from None


def _inflate(data: bytes, expected: int) -> bytes:
    """Decompress exactly ``expected`` bytes of scanlines (never more: no zlib bombs)."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, expected)
    except zlib.error as exc:
        raise PNGError(f"corrupt image data ({exc})") from None
    if len(raw) < expected:
        raise PNGError("image data is truncated")
    return raw


def _unfilter(types: np.ndarray, filtered: np.ndarray) -> np.ndarray:
    """Undo PNG filtering of ``filtered[h, w, bpp]`` given each row's filter type.

    Every reconstructed pixel depends on its left, upper and upper-left neighbours only, so
    all pixels of one anti-diagonal (x + y = k) are reconstructed at once: h + w - 1 numpy
    steps instead of a Python loop over every pixel. The image is first skewed so that
    diagonal k is row k (pixel (y, x) at [x + y, y]), making every step plain slicing.
    """
    h, w, bpp = filtered.shape
    n = h + w - 1
    y = np.arange(h)[:, None]
    diagonal = y + np.arange(w)[None, :]
    skewed = np.zeros((n, h, bpp), np.uint8)
    skewed[diagonal, y] = filtered
    # recon[k + 2, y + 1] = pixel (y, k - y); the zero borders stand for pixels outside the image
    recon = np.zeros((n + 2, h + 1, bpp), np.uint8)
    kinds = types.astype(np.int16)[:, None, None]
    for k in range(n):
        lo, hi = max(0, k - w + 1), min(h, k + 1)
        a = recon[k + 1, lo + 1 : hi + 1].astype(np.int16)  # left: previous diagonal, same row
        b = recon[k + 1, lo:hi].astype(np.int16)  # up: previous diagonal, row above
        c = recon[k, lo:hi].astype(np.int16)  # upper left: two diagonals back, row above
        t = kinds[lo:hi, 0]
        predicted = np.where(t == 4, _paeth(a, b, c), np.where(t == 3, (a + b) >> 1, np.where(t == 2, b, np.where(t == 1, a, 0))))
        recon[k + 2, lo + 1 : hi + 1] = skewed[k, lo:hi] + predicted.astype(np.uint8)
    return recon[diagonal + 2, y + 1]


def _filter(rows: np.ndarray, above: np.ndarray, bpp: int) -> bytes:
    """Filter ``rows[h, n]`` (``above``: the row before them) choosing, per row, the filter
    with the smallest sum of absolute signed residuals (the usual libpng heuristic)."""
    x = rows.astype(np.int16)
    up = np.vstack([above[None].astype(np.int16), x[:-1]])
    left = np.zeros_like(x)
    left[:, bpp:] = x[:, :-bpp]
    upper_left = np.zeros_like(x)
    upper_left[:, bpp:] = up[:, :-bpp]
    chosen = rows.copy()  # filter 0 (none) unless another does better
    kinds = np.zeros(len(rows), np.uint8)
    best = np.minimum(rows, -rows).sum(axis=1, dtype=np.uint32)  # |residual as int8|
    for kind, predicted in enumerate((left, up, (left + up) >> 1, _paeth(left, up, upper_left)), start=1):
        residual = (x - predicted).astype(np.uint8)
        cost = np.minimum(residual, -residual).sum(axis=1, dtype=np.uint32)
        better = cost < best
        kinds[better], best[better], chosen[better] = kind, cost[better], residual[better]
    return np.hstack([kinds[:, None], chosen]).tobytes()


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))
