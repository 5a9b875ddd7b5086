"""What Pillow cannot do: 16-bit colour PNG (through imagecodecs' libpng) and TIFF (tifffile).

Pillow keeps 16 bits for grayscale PNG and TIFF only, cannot open 16-bit gray+alpha TIFF, and
cannot write EXIF into a compressed TIFF. Samples are ``[H, W, C]`` uint8 or uint16 arrays with
C = 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA). Metadata of a 16-bit PNG is read by Pillow
(:mod:`.image`), from the chunks before the image data (where iCCP must be and eXIf should be).
"""

from __future__ import annotations

import contextlib
import io
import logging
import struct
import zlib

import imagecodecs
import numpy as np
import tifffile
from PIL import Image as PILImage
from PIL import TiffImagePlugin

from ..errors import InputError
from .metadata import EXIF_PREFIX, portable_tags

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIFF_MAGIC = (b"II*\0", b"MM\0*")  # classic TIFF (Pillow reads BigTIFF, at 8 bits)
_IHDR_END = len(PNG_SIGNATURE) + 25  # IHDR, always the first chunk: length, type, 13 bytes, CRC
_PNG_LEVEL = 3  # zlib level; on a noisy 2048x2048 16-bit RGB image 2.8x faster than 6, files 3% larger
_GRAY_OR_RGB = (tifffile.PHOTOMETRIC.MINISWHITE, tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB)

# tifffile logs what it cannot parse; with no handler anywhere, Python would print it to stderr.
logging.getLogger("tifffile").addHandler(logging.NullHandler())


def check_size(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse to decode an image of ``(width, height)`` over ``max_pixels``."""
    width, height = size
    if width * height > max_pixels:
        raise InputError(f"image is too large ({width}x{height} pixels, limit {max_pixels:,})")


def is_16_bit_png(data: bytes) -> bool:
    """Whether ``data`` is a PNG with 16 bits per sample (the bit depth byte of its IHDR)."""
    return data.startswith(PNG_SIGNATURE) and data[24:25] == b"\x10"


def decode_png16(data: bytes) -> np.ndarray:
    """uint16 ``[H, W, C]`` samples of a 16-bit PNG; a tRNS colour key becomes alpha."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # imagecodecs prints libpng's warnings there
            samples = imagecodecs.png_decode(data)
    except imagecodecs.PngError as exc:
        raise InputError(f"corrupt or truncated image ({exc})") from None
    except UnicodeDecodeError:  # imagecodecs could not decode libpng's message
        raise InputError("corrupt or unsupported PNG") from None
    return samples if samples.ndim == 3 else samples[..., None]


def encode_png16(samples: np.ndarray, *, icc_profile: bytes | None = None, exif: bytes | None = None) -> bytes:
    """A 16-bit PNG of uint16 ``[H, W, C]`` samples, with iCCP and eXIf chunks."""
    pixels = np.ascontiguousarray(samples if samples.shape[2] > 1 else samples[..., 0])  # libpng needs C order
    png = imagecodecs.png_encode(pixels, level=_PNG_LEVEL)
    chunks = []
    if icc_profile:
        chunks.append(_png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc_profile)))
    if exif:
        chunks.append(_png_chunk(b"eXIf", exif.removeprefix(EXIF_PREFIX)))
    return png[:_IHDR_END] + b"".join(chunks) + png[_IHDR_END:]


def decode_tiff16(data: bytes, *, max_pixels: int) -> tuple[np.ndarray, bytes | None] | None:
    """uint16 ``[H, W, C]`` samples (straight alpha) and ICC profile of a TIFF's first page.

    None when Pillow should read the file instead: not 16-bit unsigned gray or RGB.
    """
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        colour = 3 if page.photometric == tifffile.PHOTOMETRIC.RGB else 1
        if (
            page.bitspersample != 16
            or page.sampleformat != tifffile.SAMPLEFORMAT.UINT
            or page.photometric not in _GRAY_OR_RGB
            or page.samplesperpixel < colour
            or page.axes not in ("YX", "YXS", "SYX")
        ):
            return None
        check_size((page.imagewidth, page.imagelength), max_pixels)
        if any(offset + count > len(data) for offset, count in zip(page.dataoffsets, page.databytecounts)):
            raise InputError("file is truncated")
        samples = page.asarray().astype(np.uint16)
        if page.axes == "SYX":
            samples = np.moveaxis(samples, 0, -1)
        elif page.axes == "YX":
            samples = samples[..., None]
        if page.photometric == tifffile.PHOTOMETRIC.MINISWHITE:
            samples[..., 0] = 65535 - samples[..., 0]
        return _straight_alpha(samples, colour, page.extrasamples), page.iccprofile


def encode_tiff(samples: np.ndarray, *, icc_profile: bytes | None = None, exif: bytes | None = None) -> bytes:
    """A TIFF of uint8 or uint16 ``[H, W, C]`` samples (the last of 2 or 4 being alpha):
    Deflate with horizontal predictor, the ICC profile, and EXIF's portable tags."""
    channels = samples.shape[2]
    out = io.BytesIO()
    tifffile.imwrite(
        out,
        samples if channels > 1 else samples[..., 0],
        byteorder="<",
        photometric="rgb" if channels >= 3 else "minisblack",
        planarconfig="contig",
        extrasamples=("unassalpha",) if channels in (2, 4) else None,
        compression="zlib",
        predictor=True,
        iccprofile=icc_profile,
        metadata=None,
        software=False,
    )
    return _with_exif(out.getvalue(), exif) if exif else out.getvalue()


def _straight_alpha(samples: np.ndarray, colour: int, extra: tuple[int, ...]) -> np.ndarray:
    """The colour samples and the alpha sample (if any), un-premultiplied."""
    kind = extra[0] if extra else tifffile.EXTRASAMPLE.UNASSALPHA  # an unlabelled extra sample is alpha
    if samples.shape[2] == colour or kind == tifffile.EXTRASAMPLE.UNSPECIFIED:
        return np.ascontiguousarray(samples[..., :colour])
    out = np.ascontiguousarray(samples[..., : colour + 1])
    if kind == tifffile.EXTRASAMPLE.ASSOCALPHA:
        alpha = out[..., colour:].astype(np.float64)
        straight = out[..., :colour] * 65535.0 / np.maximum(alpha, 1)
        out[..., :colour] = np.where(alpha > 0, np.clip(np.rint(straight), 0, 65535), 0).astype(np.uint16)
    return out


def _with_exif(tiff: bytes, exif: bytes) -> bytes:
    """``tiff`` (little-endian, one page) with EXIF's portable tags added to its first IFD.

    tifffile refuses to write the EXIF and GPS sub-IFDs, so Pillow writes those tags as an IFD of
    their own at the end of the file, followed by a new first IFD holding both sets of entries.
    """
    parsed = PILImage.Exif()
    parsed.load(exif)
    extra = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    for tag, value in portable_tags(parsed).items():
        extra[tag] = value
    if not len(extra):
        return tiff
    out = bytearray(tiff + b"\0" * (len(tiff) % 2))  # IFDs start on a word boundary
    start = len(out)
    out += extra.tobytes(start)
    (first,) = struct.unpack_from("<I", tiff, 4)
    entries = {**_ifd_entries(tiff, first), **_ifd_entries(out, start)}
    struct.pack_into("<I", out, 4, len(out))
    out += struct.pack("<H", len(entries)) + b"".join(entries[tag] for tag in sorted(entries)) + struct.pack("<I", 0)
    return bytes(out)


def _ifd_entries(data: bytes | bytearray, offset: int) -> dict[int, bytes]:
    """The 12-byte entries of the little-endian IFD at ``offset``, by tag."""
    (count,) = struct.unpack_from("<H", data, offset)
    entries = (bytes(data[offset + 2 + 12 * i : offset + 14 + 12 * i]) for i in range(count))
    return {struct.unpack_from("<H", entry)[0]: entry for entry in entries}


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
