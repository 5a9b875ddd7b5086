"""EXIF and ICC helpers: orientation, upright EXIF, colour space of an ICC profile."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from PIL import Image as PILImage

EXIF_PREFIX = b"Exif\x00\x00"
ORIENTATION = 0x0112
# IFD0 tags worth carrying between files of different formats: description, make, model,
# orientation, software, date/time, artist, copyright; plus the Exif and GPS sub-IFDs.
_PORTABLE_IFD0_TAGS = (270, 271, 272, ORIENTATION, 305, 306, 315, 33432)
_SUB_IFDS = (0x8769, 0x8825)


def orientation(exif: bytes | PILImage.Exif | None) -> int:
    """The EXIF orientation (1..8; 1 when absent or invalid)."""
    if not isinstance(exif, PILImage.Exif):
        parsed = PILImage.Exif()
        if exif:
            parsed.load(exif)
        exif = parsed
    value = exif.get(ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright(samples: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored ``[H, W, ...]`` samples into the upright picture an EXIF orientation asks for."""
    if orientation in (5, 6, 7, 8):
        samples = samples.swapaxes(0, 1)  # transpose: now orientations 5..8 are flips of it
    flip_rows = orientation in (3, 4, 7, 8)
    flip_cols = orientation in (2, 3, 6, 7)
    return samples[:: -1 if flip_rows else 1, :: -1 if flip_cols else 1]


def reset_orientation(exif: bytes | None) -> bytes | None:
    """EXIF (``Exif\\0\\0``-prefixed, as Pillow's ``info["exif"]``) saying orientation 1.

    The bytes are patched in place, so everything else (maker notes included) is kept as is.
    EXIF without a readable TIFF structure is dropped (None): it could not be made upright.
    """
    if not exif:
        return None
    body = bytearray(exif[len(EXIF_PREFIX) :] if exif.startswith(EXIF_PREFIX) else exif)
    if body[:4] not in (b"II*\0", b"MM\0*"):
        return None
    order = "<" if body[:2] == b"II" else ">"
    try:
        (ifd0,) = struct.unpack_from(order + "I", body, 4)
        (count,) = struct.unpack_from(order + "H", body, ifd0)
        for entry in range(ifd0 + 2, ifd0 + 2 + 12 * count, 12):
            tag, kind, n = struct.unpack_from(order + "HHI", body, entry)
            if tag == ORIENTATION and kind == 3 and n == 1:  # SHORT, stored in the entry itself
                struct.pack_into(order + "H", body, entry + 8, 1)
    except struct.error:
        return None
    return EXIF_PREFIX + bytes(body)


def portable_tags(exif: PILImage.Exif) -> dict[int, Any]:
    """The EXIF tags that make sense in any file: see ``_PORTABLE_IFD0_TAGS``, ``_SUB_IFDS``.

    Used where EXIF lives among a TIFF's own tags (strip offsets, sizes, ... must not travel).
    """
    tags: dict[int, Any] = {tag: exif[tag] for tag in _PORTABLE_IFD0_TAGS if tag in exif}
    for tag in _SUB_IFDS:
        sub = exif.get_ifd(tag)
        if sub:
            tags[tag] = dict(sub)
    return tags


def exif_from_tiff(tiff_tags: PILImage.Exif) -> bytes | None:
    """Standalone EXIF bytes holding a TIFF file's portable tags (None if it has none)."""
    exif = PILImage.Exif()
    for tag, value in portable_tags(tiff_tags).items():
        exif[tag] = value
    return exif.tobytes() if len(exif) else None


def icc_colour_space(profile: bytes | None) -> str | None:
    """An ICC profile's data colour space (``"RGB"``, ``"GRAY"``, ``"CMYK"``, ...), or None."""
    if not profile or len(profile) < 128:
        return None
    return profile[16:20].decode("latin-1").strip() or None


def icc_for(profile: bytes | None, *, gray: bool) -> bytes | None:
    """``profile`` if it describes gray (``gray``) or RGB pixels, else None (never mismatched)."""
    return profile if icc_colour_space(profile) == ("GRAY" if gray else "RGB") else None
