"""Image reading and writing: formats, orientation, modes, alpha, 16 bits, metadata, errors."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps, TiffImagePlugin

from imgperc.errors import InputError
from imgperc.io import IMAGE_EXTENSIONS, Image, from_pil, read_image, to_pil, write_image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def fake_icc(space: bytes) -> bytes:
    """A profile header naming a colour space (all our code looks at)."""
    return bytes(16) + space + bytes(108)


def smooth(height: int, width: int, channels: int, depth: int = 8, seed: int = 0) -> np.ndarray:
    """Gradients plus noise: varied filter choices, and JPEG-friendly."""
    top = 255 if depth == 8 else 65535
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    planes = [(x * (c + 1) / width + y / height) / (c + 2) * top for c in range(channels)]
    values = np.stack(planes, axis=2) + rng.normal(0, top / 100, (height, width, channels))
    return np.clip(np.rint(values), 0, top).astype(np.uint8 if depth == 8 else np.uint16)


def as_float(samples: np.ndarray) -> torch.Tensor:
    top = 255.0 if samples.dtype == np.uint8 else 65535.0
    return torch.from_numpy(samples.astype(np.float32) / top).permute(2, 0, 1)


def exif_bytes(orientation: int | None = None) -> bytes:
    exif = PILImage.Exif()
    exif[271] = "imgperc-test"
    if orientation is not None:
        exif[0x0112] = orientation
    exif.get_ifd(0x8769)[36867] = "2024:05:06 07:08:09"
    return exif.tobytes()


def exif_of(path: Path) -> PILImage.Exif:
    with PILImage.open(path) as pil:
        return pil.getexif()


# -- an independent, deliberately plain PNG writer (per-byte filters straight from the spec) --


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_row(kind: int, row: bytes, prev: bytes, bpp: int) -> bytes:
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        predicted = (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]
        out.append((x - predicted) % 256)
    return bytes(out)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(samples: np.ndarray, *, filters=(0,), interlace=False, extra=()) -> bytes:
    """A 16-bit PNG, row ``i`` of each pass filtered with ``filters[i % len(filters)]``."""
    height, width, channels = samples.shape
    bpp = 2 * channels
    stream = bytearray()
    for x0, y0, dx, dy in ADAM7 if interlace else ((0, 0, 1, 1),):
        sub = samples[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        rows = np.ascontiguousarray(sub, dtype=">u2").view(np.uint8).reshape(sub.shape[0], -1)
        prev = bytes(rows.shape[1])
        for i, row in enumerate(row.tobytes() for row in rows):
            kind = filters[i % len(filters)]
            stream += bytes([kind]) + filter_row(kind, row, prev, bpp)
            prev = row
    ihdr = struct.pack(">IIBBBBB", width, height, 16, {1: 0, 2: 4, 3: 2, 4: 6}[channels], 0, 0, int(interlace))
    body = b"".join(chunk(k, v) for k, v in extra)
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + body + chunk(b"IDAT", zlib.compress(bytes(stream))) + chunk(b"IEND", b"")


def image_of(samples: np.ndarray) -> Image:
    """The :class:`Image` of 16-bit ``[H, W, C]`` samples (C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)."""
    channels = samples.shape[2]
    colour = samples[..., :3] if channels > 2 else np.repeat(samples[..., :1], 3, axis=2)
    alpha = as_float(samples[..., -1:]) if channels in (2, 4) else None
    return Image(pixels=as_float(colour), alpha=alpha, bit_depth=16, grayscale=channels <= 2)


def assert_holds(image: Image, samples: np.ndarray) -> None:
    """``image`` holds exactly ``samples`` (see :func:`image_of`), alpha included."""
    expected = image_of(samples)
    assert torch.equal(image.pixels, expected.pixels)
    assert (image.alpha is None) == (expected.alpha is None)
    if expected.alpha is not None:
        assert torch.equal(image.alpha, expected.alpha)


def png16_samples(data: bytes) -> np.ndarray:
    """``[H, W, C]`` samples of a 16-bit PNG, decoded by libpng (imagecodecs)."""
    samples = imagecodecs.png_decode(data)
    assert samples.dtype == np.uint16
    return samples if samples.ndim == 3 else samples[..., None]


def read_bytes(tmp_path: Path, data: bytes, name: str) -> Image:
    (tmp_path / name).write_bytes(data)
    return read_image(tmp_path / name)


def pillow_high_bytes(data: bytes) -> np.ndarray:
    """What Pillow makes of a 16-bit PNG/TIFF: 8-bit except for gray."""
    with PILImage.open(io.BytesIO(data)) as pil:
        return np.asarray(pil)


def assert_pillow_agrees(data: bytes, samples: np.ndarray) -> None:
    """Pillow decodes 16-bit gray exactly and keeps the high byte of RGB(A)/gray+alpha."""
    seen = pillow_high_bytes(data)
    channels = samples.shape[2]
    if channels == 1:
        assert np.array_equal(seen, samples[..., 0])
    elif channels == 2:  # Pillow: LA;16B -> RGBA
        assert np.array_equal(seen[..., 0], (samples[..., 0] >> 8).astype(np.uint8))
        assert np.array_equal(seen[..., 3], (samples[..., 1] >> 8).astype(np.uint8))
    else:
        assert np.array_equal(seen, (samples >> 8).astype(np.uint8))


# -- an independent TIFF writer for layouts our writer does not produce --


def tiff_bytes(samples: np.ndarray, *, order=b"II", compression=1, predictor=1, planar=1, tile=None, rows_per_strip=3, extra=(2,), photometric=None) -> bytes:
    height, width, channels = samples.shape
    dtype = "<u2" if order == b"II" else ">u2"
    planes = [samples[..., i : i + 1] for i in range(channels)] if planar == 2 else [samples]
    chunks = []
    for plane in planes:
        if tile:
            tw, th = tile
            padded = np.zeros((-(-height // th) * th, -(-width // tw) * tw, plane.shape[2]), np.uint16)
            padded[:height, :width] = plane
            pieces = [padded[y : y + th, x : x + tw] for y in range(0, height, th) for x in range(0, width, tw)]
        else:
            pieces = [plane[y : y + rows_per_strip] for y in range(0, height, rows_per_strip)]
        for piece in pieces:
            piece = piece.copy()
            if predictor == 2:
                piece[:, 1:] -= piece[:, :-1].copy()
            raw = piece.astype(dtype).tobytes()
            chunks.append(zlib.compress(raw) if compression == 8 else raw)
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=order)
    ifd[256], ifd[257] = width, height
    ifd[258] = (16,) * channels
    ifd[259] = compression
    ifd[262] = photometric if photometric is not None else (2 if channels >= 3 else 1)
    ifd[277] = channels
    ifd[284] = planar
    ifd[317] = predictor
    if extra and channels in (2, 4):
        ifd[338] = extra
    relative = tuple(int(v) for v in np.cumsum([0] + [len(c) for c in chunks[:-1]]))
    if tile:
        ifd[322], ifd[323] = tile
        ifd[324] = relative
        ifd[325] = tuple(len(c) for c in chunks)
        end = 8 + len(ifd.tobytes(8))
        ifd[324] = tuple(o + end for o in relative)
    else:
        ifd[273] = relative  # Pillow adds the end of the IFD
        ifd[278] = rows_per_strip
        ifd[279] = tuple(len(c) for c in chunks)
    out = io.BytesIO()
    ifd.save(out)
    return out.getvalue() + b"".join(chunks)


# -- every format --


@pytest.mark.parametrize("ext", sorted(IMAGE_EXTENSIONS))
def test_every_format_writes_and_reads_back(tmp_path, ext):
    samples = smooth(24, 32, 3)
    image = Image(pixels=as_float(samples), alpha=None)
    write_image(tmp_path / f"out{ext}", image)
    back = read_image(tmp_path / f"out{ext}")
    assert back.size == (32, 24) and back.bit_depth == 8 and back.alpha is None and not back.grayscale
    error = (back.pixels - image.pixels).abs().mean().item()
    if ext in (".jpg", ".jpeg", ".webp"):
        assert error < 0.03
        with PILImage.open(tmp_path / f"out{ext}") as pil:
            assert pil.format == {".webp": "WEBP"}.get(ext, "JPEG")
    else:
        assert error == 0


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP", "JPEG"])
def test_reads_pillow_written_files(tmp_path, fmt):
    samples = smooth(10, 14, 3, seed=1)
    path = tmp_path / f"in.{fmt.lower()}"
    options = {"lossless": True} if fmt == "WEBP" else {}
    PILImage.fromarray(samples).save(path, fmt, **options)
    image = read_image(path)
    with PILImage.open(path) as pil:
        expected = as_float(np.asarray(pil.convert("RGB")))
    assert torch.equal(image.pixels, expected)
    if fmt != "JPEG":
        assert torch.equal(image.pixels, as_float(samples))


def test_8_bit_png_round_trip_is_exact(tmp_path):
    samples = np.random.default_rng(2).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    PILImage.fromarray(samples).save(tmp_path / "in.png")
    image = read_image(tmp_path / "in.png")
    assert image.pixels.dtype == torch.float32
    assert torch.equal(image.pixels, as_float(samples))
    write_image(tmp_path / "out.png", image)
    assert np.array_equal(np.asarray(PILImage.open(tmp_path / "out.png")), samples)


def test_quantizes_by_rounding_and_clamping(tmp_path):
    pixels = torch.tensor([-0.5, 0.0, 0.51 / 255, 0.49 / 255, 1.0, 1.7, float("nan")]).reshape(1, 1, 7).repeat(3, 1, 1)
    write_image(tmp_path / "q.png", Image(pixels=pixels, alpha=None))
    assert np.asarray(PILImage.open(tmp_path / "q.png"))[0, :, 0].tolist() == [0, 0, 1, 0, 255, 255, 0]


# -- orientation --


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_upright_pixels(tmp_path, orientation):
    samples = smooth(5, 8, 3, seed=orientation)
    path = tmp_path / "o.png"
    PILImage.fromarray(samples).save(path, exif=exif_bytes(orientation))
    image = read_image(path)
    with PILImage.open(path) as pil:
        expected = np.asarray(ImageOps.exif_transpose(pil))
    assert image.size == (expected.shape[1], expected.shape[0])
    assert torch.equal(image.pixels, as_float(expected))
    exif = PILImage.Exif()
    exif.load(image.exif)
    assert exif[0x0112] == 1 and exif[271] == "imgperc-test"


@pytest.mark.parametrize("orientation,turn", [(3, 2), (6, -1), (8, 1)])
def test_jpeg_orientation_rotates(tmp_path, orientation, turn):
    samples = np.zeros((32, 48, 3), np.uint8)
    samples[:16, :16] = (255, 0, 0)  # a red block in the stored top-left corner
    path = tmp_path / "o.jpg"
    PILImage.fromarray(samples).save(path, exif=exif_bytes(orientation), quality=95)
    image = read_image(path)
    red = (image.pixels[0] > 0.5) & (image.pixels[1] < 0.3)
    expected = np.rot90(samples[..., 0] > 128, turn)  # np.rot90: positive turns are anticlockwise
    assert image.size == (expected.shape[1], expected.shape[0])
    assert (red.numpy() == expected).mean() > 0.98
    write_image(tmp_path / "again.jpg", image)
    assert exif_of(tmp_path / "again.jpg")[0x0112] == 1
    assert read_image(tmp_path / "again.jpg").size == image.size


def test_16_bit_orientation(tmp_path):
    samples = smooth(6, 9, 3, depth=16)
    exif = PILImage.Exif()
    exif[0x0112] = 6
    (tmp_path / "o.png").write_bytes(png_bytes(samples, extra=[(b"eXIf", exif.tobytes()[6:])]))
    tifffile.imwrite(tmp_path / "o.tif", samples, photometric="rgb", extratags=[(0x0112, "H", 1, 6, True)])
    for name in ("o.png", "o.tif"):
        image = read_image(tmp_path / name)
        assert image.bit_depth == 16
        assert torch.equal(image.pixels, as_float(np.ascontiguousarray(np.rot90(samples, -1))))


# -- modes --


def test_grayscale(tmp_path):
    gray = smooth(7, 9, 1)[..., 0]
    PILImage.fromarray(gray).save(tmp_path / "g.png")
    image = read_image(tmp_path / "g.png")
    assert image.grayscale and image.alpha is None
    assert all(torch.equal(image.pixels[c], as_float(gray[..., None])[0]) for c in range(3))
    write_image(tmp_path / "g2.png", image)  # still gray: written gray
    with PILImage.open(tmp_path / "g2.png") as pil:
        assert pil.mode == "L" and np.array_equal(np.asarray(pil), gray)
    coloured = image.with_pixels(image.pixels * torch.tensor([1.0, 0.5, 0.2])[:, None, None])
    write_image(tmp_path / "c.png", coloured)  # no longer gray: RGB
    assert PILImage.open(tmp_path / "c.png").mode == "RGB"


def test_bilevel(tmp_path):
    bits = np.random.default_rng(3).random((6, 10)) > 0.5
    PILImage.fromarray(bits).save(tmp_path / "b.bmp")
    image = read_image(tmp_path / "b.bmp")
    assert image.grayscale and torch.equal(image.pixels[1], torch.from_numpy(bits.astype(np.float32)))


def test_palette_with_transparency(tmp_path):
    indices = np.random.default_rng(4).integers(0, 4, (5, 6), dtype=np.uint8)
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
    pil = PILImage.fromarray(indices, "P")
    pil.putpalette(palette)
    pil.save(tmp_path / "p.png", transparency=2)
    image = read_image(tmp_path / "p.png")
    colours = np.array(palette, np.uint8).reshape(4, 3)[indices]
    assert not image.grayscale
    assert torch.equal(image.pixels, as_float(colours))
    assert torch.equal(image.alpha[0], torch.from_numpy((indices != 2).astype(np.float32)))


def test_palette_without_transparency(tmp_path):
    pil = PILImage.fromarray(smooth(6, 7, 3)).convert("P")
    pil.save(tmp_path / "p.bmp")
    image = read_image(tmp_path / "p.bmp")
    assert image.alpha is None and torch.equal(image.pixels, as_float(np.asarray(pil.convert("RGB"))))


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_becomes_rgb(tmp_path, fmt):
    cmyk = PILImage.fromarray(smooth(8, 8, 4), "CMYK")
    path = tmp_path / f"k.{fmt.lower()}"
    cmyk.save(path, fmt, icc_profile=fake_icc(b"CMYK"))
    image = read_image(path)
    with PILImage.open(path) as pil:
        assert pil.mode == "CMYK"
        expected = as_float(np.asarray(pil.convert("RGB")))
    assert torch.equal(image.pixels, expected)
    assert image.icc_profile is None  # a CMYK profile never rides on RGB pixels


def test_gray_with_alpha(tmp_path):
    la = smooth(5, 6, 2)
    PILImage.fromarray(la, "LA").save(tmp_path / "la.png")
    image = read_image(tmp_path / "la.png")
    assert image.grayscale
    assert torch.equal(image.alpha, as_float(la[..., 1:]))
    write_image(tmp_path / "la2.png", image)
    with PILImage.open(tmp_path / "la2.png") as pil:
        assert pil.mode == "LA" and np.array_equal(np.asarray(pil), la)


def test_colour_key_transparency_8_bit(tmp_path):
    samples = smooth(4, 5, 3)
    samples[1, 2] = (9, 8, 7)
    PILImage.fromarray(samples).save(tmp_path / "k.png", transparency=(9, 8, 7))
    alpha = read_image(tmp_path / "k.png").alpha[0]
    assert alpha[1, 2] == 0 and alpha.sum() == alpha.numel() - 1


# -- alpha --


def test_alpha_kept_aside_and_written_back(tmp_path):
    rgba = smooth(6, 8, 4)
    PILImage.fromarray(rgba).save(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    assert image.pixels.shape == (3, 6, 8) and image.alpha.shape == (1, 6, 8)
    assert torch.equal(image.pixels, as_float(rgba[..., :3])) and torch.equal(image.alpha, as_float(rgba[..., 3:]))
    for ext in (".png", ".tif"):
        write_image(tmp_path / f"b{ext}", image)
        assert np.array_equal(np.asarray(PILImage.open(tmp_path / f"b{ext}")), rgba)
    write_image(tmp_path / "b.webp", image)
    assert PILImage.open(tmp_path / "b.webp").mode == "RGBA"
    for ext in (".jpg", ".bmp"):  # no alpha there: dropped, colour kept as is
        write_image(tmp_path / f"b{ext}", image)
        back = read_image(tmp_path / f"b{ext}")
        assert back.alpha is None
        assert (back.pixels - image.pixels).abs().mean() < (0.03 if ext == ".jpg" else 1e-9)


def test_with_pixels_resizes_alpha_and_keeps_metadata():
    alpha = torch.zeros(1, 4, 6)
    alpha[:, :, 3:] = 1
    image = Image(torch.rand(3, 4, 6), alpha, bit_depth=16, exif=exif_bytes(), icc_profile=SRGB, grayscale=True)
    bigger = image.with_pixels(torch.rand(3, 8, 12))
    assert bigger.size == (12, 8) and bigger.alpha.shape == (1, 8, 12)
    assert bigger.alpha[0, :, 0].max() == 0 and bigger.alpha[0, :, -1].min() == 1
    assert bigger.alpha.min() >= 0 and bigger.alpha.max() <= 1
    assert (bigger.bit_depth, bigger.exif, bigger.icc_profile, bigger.grayscale) == (16, image.exif, SRGB, True)
    same = image.with_pixels(torch.rand(3, 4, 6))
    assert same.alpha is image.alpha
    with pytest.raises(ValueError):
        image.with_pixels(torch.rand(4, 4))


# -- 16-bit PNG --


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", range(5))
def test_16_bit_png_every_filter_type_is_read(tmp_path, channels, kind):
    samples = smooth(5, 7, channels, depth=16, seed=kind)
    data = png_bytes(samples, filters=(kind,))
    assert_pillow_agrees(data, samples)
    image = read_bytes(tmp_path, data, "f.png")
    assert image.bit_depth == 16 and image.grayscale == (channels <= 2)
    assert_holds(image, samples)


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (11, 13), (16, 9)])
def test_16_bit_png_adam7_is_read_quietly(tmp_path, capfd, size):
    samples = smooth(*size, 3, depth=16)
    data = png_bytes(samples, filters=(4, 0, 1, 3, 2), interlace=True)
    assert_pillow_agrees(data, samples)
    assert_holds(read_bytes(tmp_path, data, "i.png"), samples)
    assert capfd.readouterr().err == ""  # no libpng warning on stderr


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_png_writer_output_is_standard(tmp_path, channels):
    samples = smooth(40, 33, channels, depth=16)
    samples[:8] = np.random.default_rng(5).integers(0, 65536, (8, 33, channels))  # noisy rows: other filters win
    write_image(tmp_path / "o.png", image_of(samples))
    data = (tmp_path / "o.png").read_bytes()
    assert_pillow_agrees(data, samples)
    assert np.array_equal(png16_samples(data), samples)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_png_round_trips_exactly(tmp_path, channels):
    samples = smooth(9, 12, channels, depth=16)
    (tmp_path / "in.png").write_bytes(png_bytes(samples, filters=(1, 2, 3, 4)))
    image = read_image(tmp_path / "in.png")
    assert image.bit_depth == 16 and image.grayscale == (channels <= 2)
    assert (image.alpha is not None) == (channels in (2, 4))
    write_image(tmp_path / "out.png", image)
    assert np.array_equal(png16_samples((tmp_path / "out.png").read_bytes()), samples)


def test_pillow_16_bit_gray_png_is_read_exactly(tmp_path):
    gray = smooth(6, 10, 1, depth=16)[..., 0]
    PILImage.fromarray(gray).save(tmp_path / "g.png")
    image = read_image(tmp_path / "g.png")
    assert image.bit_depth == 16 and torch.equal(image.pixels[0], as_float(gray[..., None])[0])


def test_16_bit_written_as_8_bit_where_the_format_has_no_16_bits(tmp_path):
    samples = smooth(5, 6, 3, depth=16)
    (tmp_path / "in.png").write_bytes(png_bytes(samples))
    write_image(tmp_path / "out.bmp", read_image(tmp_path / "in.png"))
    expected = np.rint(samples / 257).astype(np.uint8)
    assert np.array_equal(np.asarray(PILImage.open(tmp_path / "out.bmp")), expected)


def test_16_bit_png_colour_key_becomes_alpha(tmp_path):
    samples = smooth(4, 5, 3, depth=16)
    samples[2, 3] = (1000, 2000, 3000)
    trns = struct.pack(">3H", 1000, 2000, 3000)
    (tmp_path / "k.png").write_bytes(png_bytes(samples, extra=[(b"tRNS", trns)]))
    image = read_image(tmp_path / "k.png")
    assert image.alpha[0, 2, 3] == 0 and image.alpha.sum() == image.alpha.numel() - 1
    assert torch.equal(image.pixels, as_float(samples))


def test_16_bit_png_bad_data_is_one_line_input_error(tmp_path, capfd, monkeypatch):
    samples = smooth(4, 4, 3, depth=16)
    good = png_bytes(samples)
    rows = np.ascontiguousarray(samples, dtype=">u2").view(np.uint8).reshape(4, -1)
    stream = b"".join(bytes([7]) + row.tobytes() for row in rows)
    bad = {
        "crc.png": (good[:-13] + bytes([good[-13] ^ 1]) + good[-12:], "CRC"),  # IDAT's CRC, before IEND
        "data.png": (good[:45] + bytes([good[45] ^ 1]) + good[46:], "corrupt"),  # a byte of IDAT's data
        "type.png": (good[:40] + bytes([good[40] ^ 1]) + good[41:], "cannot read"),  # IDAT becomes IDAU
        "cut.png": (good[:-20], "truncated"),
        "critical.png": (png_bytes(samples, extra=[(b"ABCD", b"")]), "corrupt"),
        "filter.png": (PNG_SIGNATURE + chunk(b"IHDR", good[16:29]) + chunk(b"IDAT", zlib.compress(stream)) + chunk(b"IEND", b""), "filter"),
    }
    for name, (data, message) in bad.items():
        with pytest.raises(InputError, match=message) as caught:
            read_bytes(tmp_path, data, name)
        assert "\n" not in str(caught.value)
    monkeypatch.setattr("imgperc.io.image.MAX_PIXELS", 15)
    with pytest.raises(InputError, match="too large"):
        read_bytes(tmp_path, good, "big.png")
    assert capfd.readouterr().err == ""


# -- 16-bit TIFF --


def test_pillow_16_bit_gray_tiff_is_read_exactly(tmp_path):
    gray = smooth(6, 10, 1, depth=16)[..., 0]
    PILImage.fromarray(gray).save(tmp_path / "g.tif", compression="tiff_lzw")
    image = read_image(tmp_path / "g.tif")
    assert image.bit_depth == 16 and image.grayscale and torch.equal(image.pixels[2], as_float(gray[..., None])[0])
    write_image(tmp_path / "g2.tif", image)
    with PILImage.open(tmp_path / "g2.tif") as pil:
        assert pil.mode == "I;16" and np.array_equal(np.asarray(pil), gray)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_tiff_round_trips_exactly(tmp_path, channels):
    samples = smooth(300, 200, channels, depth=16)  # several strips
    write_image(tmp_path / "in.tif", image_of(samples))
    assert np.array_equal(tifffile.imread(tmp_path / "in.tif").reshape(samples.shape), samples)
    if channels != 2:  # Pillow cannot open 16-bit gray+alpha TIFF at all
        assert_pillow_agrees((tmp_path / "in.tif").read_bytes(), samples)
    image = read_image(tmp_path / "in.tif")
    assert image.bit_depth == 16 and image.grayscale == (channels <= 2)
    assert_holds(image, samples)
    write_image(tmp_path / "out.tiff", image)
    assert (tmp_path / "out.tiff").read_bytes() == (tmp_path / "in.tif").read_bytes()


@pytest.mark.parametrize(
    "layout",
    [
        {"order": b"MM"},
        {"order": b"MM", "compression": 8, "predictor": 2},
        {"compression": 8, "predictor": 2, "planar": 2},
        {"planar": 2, "order": b"MM"},
        {"tile": (16, 16)},
        {"tile": (16, 32), "compression": 8, "predictor": 2, "order": b"MM"},
    ],
)
def test_16_bit_tiff_layouts(tmp_path, layout):
    samples = smooth(37, 21, 4, depth=16)
    data = tiff_bytes(samples, **layout)
    if "tile" not in layout and layout.get("planar", 1) == 1:
        assert_pillow_agrees(data, samples)
    assert_holds(read_bytes(tmp_path, data, "l.tif"), samples)


def test_16_bit_tiff_lzw(tmp_path):
    """Pillow writes LZW only for gray: its strips, relabelled as RGB, make an LZW RGB file."""
    samples = smooth(20, 12, 3, depth=16)
    gray = io.BytesIO()
    PILImage.fromarray(samples.reshape(20, 36)).save(gray, "TIFF", compression="tiff_lzw")
    source = gray.getvalue()
    with PILImage.open(io.BytesIO(source)) as pil:
        tags = pil.tag_v2
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    for tag in (259, 273, 278, 279):
        ifd[tag] = tags[tag]
    ifd[256], ifd[257], ifd[258], ifd[262], ifd[277] = 12, 20, (16, 16, 16), 2, 3
    head = io.BytesIO()
    ifd.save(head)  # strip offsets become relative to the end of this IFD: the old file follows
    data = head.getvalue() + source
    assert tags[259] == 5
    assert_pillow_agrees(data, samples)
    assert_holds(read_bytes(tmp_path, data, "lzw.tif"), samples)


def test_16_bit_tiff_premultiplied_alpha_and_min_is_white(tmp_path):
    samples = smooth(4, 6, 4, depth=16)
    samples[..., 3] = 32768
    samples[0, 0, 3] = 0
    premultiplied = samples.copy()
    premultiplied[..., :3] = np.rint(samples[..., :3] * (samples[..., 3:] / 65535)).astype(np.uint16)
    image = read_bytes(tmp_path, tiff_bytes(premultiplied, extra=(1,)), "p.tif")
    straight = np.rint(image.pixels.permute(1, 2, 0).numpy() * 65535).astype(int)
    assert np.abs(straight[1:, 1:] - samples[1:, 1:, :3]).max() <= 2
    assert straight[0, 0].tolist() == [0, 0, 0]
    assert torch.equal(image.alpha, as_float(samples[..., 3:]))
    gray = smooth(4, 6, 2, depth=16)
    image = read_bytes(tmp_path, tiff_bytes(gray, photometric=0), "w.tif")
    inverted = gray.copy()
    inverted[..., 0] = 65535 - gray[..., 0]
    assert image.grayscale
    assert_holds(image, inverted)


# -- metadata --


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
@pytest.mark.parametrize("depth", [8, 16])
def test_exif_and_icc_carried_over(tmp_path, ext, depth):
    source = tmp_path / "src.jpg"
    PILImage.fromarray(smooth(8, 10, 3)).save(source, exif=exif_bytes(orientation=1), icc_profile=SRGB)
    image = read_image(source)
    assert image.icc_profile == SRGB
    image.bit_depth = depth
    write_image(tmp_path / f"out{ext}", image)
    back = read_image(tmp_path / f"out{ext}")
    assert back.bit_depth == (depth if ext in (".png", ".tif") else 8)
    assert back.icc_profile == SRGB
    exif = PILImage.Exif()
    exif.load(back.exif)
    assert exif[271] == "imgperc-test" and exif.get(0x0112, 1) == 1
    assert exif.get_ifd(0x8769)[36867] == "2024:05:06 07:08:09"


def test_bmp_has_no_metadata(tmp_path):
    image = Image(torch.rand(3, 4, 4), None, exif=exif_bytes(), icc_profile=SRGB)
    write_image(tmp_path / "o.bmp", image)
    back = read_image(tmp_path / "o.bmp")
    assert back.exif is None and back.icc_profile is None


def test_icc_profile_only_on_matching_pixels(tmp_path):
    gray_icc = fake_icc(b"GRAY")
    gray = Image(torch.full((3, 4, 4), 0.5), None, icc_profile=gray_icc, grayscale=True)
    write_image(tmp_path / "g.png", gray)
    assert PILImage.open(tmp_path / "g.png").info.get("icc_profile") == gray_icc
    coloured = gray.with_pixels(torch.rand(3, 4, 4))
    write_image(tmp_path / "c.png", coloured)
    assert PILImage.open(tmp_path / "c.png").info.get("icc_profile") is None


def test_exif_orientation_reset_on_write(tmp_path):
    """An Image built by hand with a rotated EXIF still gets written upright."""
    image = Image(torch.rand(3, 4, 6), None, exif=exif_bytes(orientation=6))
    write_image(tmp_path / "o.jpg", image)
    assert exif_of(tmp_path / "o.jpg")[0x0112] == 1
    assert read_image(tmp_path / "o.jpg").size == (6, 4)


# -- Pillow objects --


def test_from_pil_and_to_pil():
    rgba = smooth(5, 7, 4)
    image = from_pil(PILImage.fromarray(rgba))
    assert torch.equal(image.pixels, as_float(rgba[..., :3])) and torch.equal(image.alpha, as_float(rgba[..., 3:]))
    pil = to_pil(image)
    assert pil.mode == "RGBA" and np.array_equal(np.asarray(pil), rgba)
    rgb = to_pil(Image(image.pixels, None, bit_depth=16, exif=exif_bytes(), icc_profile=SRGB))
    assert rgb.mode == "RGB" and rgb.info["icc_profile"] == SRGB and rgb.info["exif"] == exif_bytes()


def test_from_pil_applies_orientation_and_keeps_16_bits():
    pil = PILImage.fromarray(smooth(4, 6, 1, depth=16)[..., 0])
    pil.getexif()[0x0112] = 8
    pil.info["exif"] = pil.getexif().tobytes()
    image = from_pil(pil)
    assert image.size == (4, 6) and image.bit_depth == 16 and image.grayscale
    floats = from_pil(PILImage.fromarray(np.full((2, 3), 2.0, np.float32), "F"))
    assert floats.bit_depth == 16 and floats.pixels.max() == 1


# -- writing safely --


def test_write_refuses_to_overwrite(tmp_path):
    target = tmp_path / "o.png"
    target.write_bytes(b"precious")
    image = Image(torch.rand(3, 4, 4), None)
    with pytest.raises(InputError, match="already exists"):
        write_image(target, image)
    assert target.read_bytes() == b"precious"
    write_image(target, image, overwrite=True)
    assert read_image(target).size == (4, 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def full_disk(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(InputError, match="No space left"):
        write_image(tmp_path / "o.png", Image(torch.rand(3, 4, 4), None))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name,message", [("o.gif", "unsupported output format"), ("o", "unsupported output format"), ("missing/o.png", "does not exist")])
def test_write_rejects_bad_targets(tmp_path, name, message):
    with pytest.raises(InputError, match=message):
        write_image(tmp_path / name, Image(torch.rand(3, 4, 4), None))


def test_image_validates_shapes():
    with pytest.raises(ValueError):
        Image(torch.rand(1, 4, 4), None)
    with pytest.raises(ValueError):
        Image(torch.rand(3, 4, 4), torch.rand(1, 4, 5))
    with pytest.raises(ValueError):
        Image(torch.rand(3, 4, 4), None, bit_depth=12)


# -- bad inputs --


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    jpeg, png8 = io.BytesIO(), io.BytesIO()
    PILImage.fromarray(smooth(64, 64, 3)).save(jpeg, "JPEG")
    PILImage.fromarray(smooth(64, 64, 3)).save(png8, "PNG")
    samples = smooth(64, 64, 3, depth=16)
    files = {
        "text.png": b"hello, not an image",
        "empty.jpg": b"",
        "truncated.jpg": jpeg.getvalue()[: len(jpeg.getvalue()) // 2],
        "truncated.png": png8.getvalue()[:-200],
        "truncated16.png": imagecodecs.png_encode(samples)[:-100],
        "truncated16.tif": tiff_bytes(samples, compression=8, rows_per_strip=64)[:3000],
        "huge.png": PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b""),
        "huge16.png": PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 16, 2, 0, 0, 0)) + chunk(b"IEND", b""),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in files}


@pytest.mark.parametrize(
    "name,message",
    [
        ("text.png", "not an image"),
        ("empty.jpg", "not an image"),
        ("truncated.jpg", "corrupt or truncated"),
        ("truncated.png", "corrupt or truncated"),
        ("truncated16.png", "truncated"),
        ("truncated16.tif", "truncated"),
        ("huge.png", "too large"),
        ("huge16.png", "too large"),
    ],
)
def test_bad_inputs_are_one_line_input_errors(tmp_path, capfd, name, message):
    path = _bad_files(tmp_path)[name]
    with pytest.raises(InputError, match=message) as caught:
        read_image(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert capfd.readouterr().err == ""  # no decoder chatter on stderr


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(InputError, match="is a directory"):
        read_image(tmp_path)
