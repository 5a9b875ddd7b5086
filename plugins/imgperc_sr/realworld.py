"""``--degradation real``: a random second-order degradation chain for real-world photos.

It follows the model of Real-ESRGAN (Wang et al., ICCVW 2021, "Training Real-World Blind
Super-Resolution with Pure Synthetic Data"), with its published parameter ranges: each of two
passes blurs (isotropic, anisotropic, generalised and plateau Gaussian kernels, or a sinc),
resizes at random (up, down or kept, area/bilinear/bicubic), adds Gaussian or Poisson noise
(colour or gray) and JPEG-compresses; the last pass ends with a resize to the target size and a
sinc filter and JPEG in either order. Two deviations, recorded in the metadata, so that mildly
damaged photos (one camera, one JPEG save), the common case, are well represented:

- the second pass is taken with probability ``SECOND_PASS_PROB`` rather than always;
- a share ``MILD_PROB`` of the samples (``--mild-share``) takes a first-order "camera and one save" chain instead
  (`Mild`): an optional isotropic Gaussian blur, the exact antialiased bicubic shrink of the
  benchmark, optional Gaussian noise and, usually, one JPEG save. Trained on the random chain
  alone, the net cannot rely on any one shrinking kernel and gained only 0.04 dB over bicubic
  on bicubic-shrunk JPEGs (Set5, quality 50, 1,600 iterations).

Everything is drawn from the sample's ``random.Random``, so a seed reproduces a chain exactly.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from .bicubic import downscale_bicubic
from .degrade import gaussian_blur, quantize
from .eval_degradations import jpeg

KERNEL_SIZES = tuple(range(7, 22, 2))
FINAL_SINC_PROB = 0.8
SECOND_PASS_PROB = 0.5
MILD_PROB = 0.5
RESIZE_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class Pass:
    """The random ranges of one degradation pass (Real-ESRGAN's published settings)."""

    blur_prob: float
    kernel_probs: tuple[tuple[str, float], ...]
    sinc_prob: float
    blur_sigma: tuple[float, float]
    betag: tuple[float, float]
    betap: tuple[float, float]
    resize_probs: tuple[float, float, float]  # up, down, keep
    resize_range: tuple[float, float]
    gaussian_noise_prob: float
    noise_sigma: tuple[float, float]  # in 8-bit levels
    poisson_scale: tuple[float, float]
    gray_noise_prob: float
    jpeg_quality: tuple[int, int]


KERNELS = (("iso", 0.45), ("aniso", 0.25), ("generalized_iso", 0.12), ("generalized_aniso", 0.03),
           ("plateau_iso", 0.12), ("plateau_aniso", 0.03))
FIRST = Pass(1.0, KERNELS, 0.1, (0.2, 3.0), (0.5, 4.0), (1.0, 2.0), (0.2, 0.7, 0.1), (0.15, 1.5),
             0.5, (1.0, 30.0), (0.05, 3.0), 0.4, (30, 95))
SECOND = Pass(0.8, KERNELS, 0.1, (0.2, 1.5), (0.5, 4.0), (1.0, 2.0), (0.3, 0.4, 0.3), (0.3, 1.2),
              0.5, (1.0, 25.0), (0.05, 2.5), 0.4, (30, 95))


@dataclass(frozen=True)
class Mild:
    """The random ranges of the first-order "camera and one save" chain."""

    blur_prob: float = 0.5
    blur_sigma: tuple[float, float] = (0.2, 2.0)
    noise_prob: float = 0.5
    noise_sigma: tuple[float, float] = (1.0, 10.0)  # in 8-bit levels
    gray_noise_prob: float = 0.4
    jpeg_prob: float = 0.9
    jpeg_quality: tuple[int, int] = (30, 95)


MILD = Mild()


def parameters(mild_prob: float = MILD_PROB) -> dict:
    """The chain's settings as data, for a model's metadata."""
    return {"model": "Real-ESRGAN second-order degradation (Wang et al. 2021), published ranges",
            "first_pass": asdict(FIRST), "second_pass": asdict(SECOND), "second_pass_prob": SECOND_PASS_PROB,
            "final_sinc_prob": FINAL_SINC_PROB,
            "mild_prob": mild_prob, "mild": asdict(MILD), "kernel_sizes": list(KERNEL_SIZES), "resize_modes": list(RESIZE_MODES)}


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    r = torch.arange(size, dtype=torch.float64) - size // 2
    return torch.meshgrid(r, r, indexing="ij")


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, angle: float, shape: str = "gaussian",
                    beta: float = 1.0) -> torch.Tensor:
    """A normalised ``size``² kernel: Gaussian, generalised (exponent ``beta``) or plateau."""
    y, x = _grid(size)
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * x + s * y, -s * x + c * y
    d = (u / sigma_x) ** 2 + (v / sigma_y) ** 2  # x^T Sigma^-1 x
    if shape == "gaussian":
        k = torch.exp(-0.5 * d)
    elif shape == "generalized":
        k = torch.exp(-0.5 * d**beta)
    else:
        k = 1.0 / (1.0 + d**beta)
    return (k / k.sum()).float()


def sinc_kernel(size: int, cutoff: float) -> torch.Tensor:
    """A circular low-pass (2-D sinc) kernel with cutoff ``cutoff`` radians per pixel."""
    y, x = _grid(size)
    r = torch.sqrt(x**2 + y**2)
    k = cutoff * torch.special.bessel_j1(cutoff * r) / (2 * math.pi * r.clamp_min(1e-12))
    k[r == 0] = cutoff**2 / (4 * math.pi)
    return (k / k.sum()).float()


def random_kernel(p: Pass, rng: random.Random) -> torch.Tensor:
    size = rng.choice(KERNEL_SIZES)
    if rng.random() < p.sinc_prob:
        cutoff = rng.uniform(math.pi / 3, math.pi) if size < 13 else rng.uniform(math.pi / 5, math.pi)
        return sinc_kernel(size, cutoff)
    kind = rng.choices([k for k, _ in p.kernel_probs], weights=[w for _, w in p.kernel_probs])[0]
    sx = rng.uniform(*p.blur_sigma)
    sy, angle = (sx, 0.0) if kind.endswith("iso") and not kind.endswith("aniso") else (rng.uniform(*p.blur_sigma), rng.uniform(-math.pi, math.pi))
    shape, beta = "gaussian", 1.0
    if kind.startswith("generalized"):
        shape, beta = "generalized", rng.uniform(*p.betag)
    elif kind.startswith("plateau"):
        shape, beta = "plateau", rng.uniform(*p.betap)
    return gaussian_kernel(size, sx, sy, angle, shape, beta)


def filter2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve [3,H,W] with one kernel per channel, reflecting at the borders."""
    pad = kernel.shape[-1] // 2
    mode = "reflect" if min(image.shape[-2:]) > pad else "replicate"
    x = F.pad(image[None], (pad, pad, pad, pad), mode=mode)
    return F.conv2d(x, kernel.expand(3, 1, -1, -1).to(image.dtype), groups=3)[0]


def resize_to(image: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    kwargs = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(image[None], size=size, mode=mode, **kwargs)[0]


def add_noise(image: torch.Tensor, p: Pass, rng: random.Random) -> torch.Tensor:
    gen = torch.Generator().manual_seed(rng.getrandbits(62))
    gray = rng.random() < p.gray_noise_prob
    if rng.random() < p.gaussian_noise_prob:
        sigma = rng.uniform(*p.noise_sigma) / 255.0
        shape = (1, *image.shape[1:]) if gray else image.shape
        noise = torch.randn(shape, generator=gen) * sigma
    else:
        scale = rng.uniform(*p.poisson_scale)
        base = image.mean(0, keepdim=True) if gray else image
        levels = 2 ** math.ceil(math.log2(max(2, len(torch.unique(quantize(base, 8))))))
        clean = base.clamp(0, 1) * levels
        noise = (torch.poisson(clean, generator=gen) - clean) / levels * scale
    return (image + noise).clamp(0.0, 1.0)


def degrade_pass(image: torch.Tensor, p: Pass, rng: random.Random, base: tuple[int, int]) -> torch.Tensor:
    """Blur, random resize (relative to ``base``), noise and JPEG: one pass of the chain."""
    if rng.random() < p.blur_prob:
        image = filter2d(image, random_kernel(p, rng))
    way = rng.choices(("up", "down", "keep"), weights=p.resize_probs)[0]
    factor = {"up": rng.uniform(1.0, p.resize_range[1]), "down": rng.uniform(p.resize_range[0], 1.0), "keep": 1.0}[way]
    size = (max(8, round(base[0] * factor)), max(8, round(base[1] * factor)))
    image = resize_to(image, size, rng.choice(RESIZE_MODES)).clamp(0.0, 1.0)
    image = add_noise(image, p, rng)
    return jpeg(image, rng.randint(*p.jpeg_quality))


def degrade_mild(hr: torch.Tensor, scale: int, rng: random.Random, m: Mild = MILD) -> torch.Tensor:
    """The "camera and one save" chain: blur, the benchmark's bicubic shrink, noise, JPEG."""
    image = hr.float()
    if rng.random() < m.blur_prob:
        image = gaussian_blur(image[None], rng.uniform(*m.blur_sigma))[0]
    image = downscale_bicubic(image[None], scale)[0]
    if rng.random() < m.noise_prob:
        gen = torch.Generator().manual_seed(rng.getrandbits(62))
        shape = (1, *image.shape[1:]) if rng.random() < m.gray_noise_prob else image.shape
        image = (image + torch.randn(shape, generator=gen) * rng.uniform(*m.noise_sigma) / 255.0).clamp(0.0, 1.0)
    if rng.random() < m.jpeg_prob:
        image = jpeg(image, rng.randint(*m.jpeg_quality))
    return quantize(image, 8)


def degrade_real(hr: torch.Tensor, scale: int, rng: random.Random, mild_prob: float = MILD_PROB) -> torch.Tensor:
    """[3,H,W] high-resolution in [0,1] -> its [3,H/scale,W/scale] low-resolution version, 8-bit
    (the first-order chain with probability ``mild_prob``)."""
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"image size {w}x{h} is not a multiple of the scale {scale}")
    if rng.random() < mild_prob:
        return degrade_mild(hr, scale, rng)
    target = (h // scale, w // scale)
    image = degrade_pass(hr.float(), FIRST, rng, (h, w))
    if rng.random() < SECOND_PASS_PROB:
        image = degrade_pass(image, SECOND, rng, target)

    def final_sinc(x: torch.Tensor) -> torch.Tensor:
        if rng.random() >= FINAL_SINC_PROB:
            return x
        return filter2d(x, sinc_kernel(rng.choice(KERNEL_SIZES), rng.uniform(math.pi / 3, math.pi))).clamp(0.0, 1.0)

    quality = rng.randint(*SECOND.jpeg_quality)
    mode = rng.choice(RESIZE_MODES)
    if rng.random() < 0.5:
        image = jpeg(final_sinc(resize_to(image, target, mode).clamp(0.0, 1.0)), quality)
    else:
        image = final_sinc(resize_to(jpeg(image, quality), target, mode).clamp(0.0, 1.0))
    return quantize(image, 8)
