"""The fixed real-world test degradations of `imgperc eval sr --degradation` (issue 30's targets).

Unlike the random training chain (`.realworld`, which shares `jpeg`), each is one deterministic
chain, the same on every run and machine, so that its table can be compared with bicubic and
between models:

- ``jpeg50``: bicubic /scale, then JPEG quality 50 (an old or re-shared JPEG);
- ``blur-noise-jpeg60``: Gaussian blur sigma 1.5 (high-resolution pixels), bicubic /scale,
  Gaussian colour noise sigma 5 (0-255 units, seeded: the same noise for every image of a
  size), JPEG quality 60 (a phone photo).

JPEG is Pillow's encoder (libjpeg, its default 4:2:0 chroma subsampling), on the 8-bit
rounded image; the result is 8-bit. Light to import: torch and Pillow load when one is applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .choices import DEGRADATIONS

if TYPE_CHECKING:
    import torch

NOISE_SEED = 0


@dataclass(frozen=True)
class FixedDegradation:
    """Blur (sigma in high-resolution pixels, 0: none), bicubic /scale, Gaussian noise (sigma
    in 0-255 units, 0: none), then JPEG at ``quality``."""

    quality: int
    blur: float = 0.0
    noise: float = 0.0

    def __call__(self, hr: torch.Tensor, scale: int) -> torch.Tensor:
        """``[3, H, W]`` in [0, 1] (H, W multiples of ``scale``) -> the 8-bit ``[3, H/scale, W/scale]`` input."""
        import torch

        from .bicubic import downscale_bicubic
        from .degrade import gaussian_blur

        x = hr[None].float()
        if self.blur:
            x = gaussian_blur(x, self.blur)
        x = downscale_bicubic(x, scale)[0]
        if self.noise:
            generator = torch.Generator().manual_seed(NOISE_SEED)
            x = x + torch.randn(x.shape, generator=generator).to(x.device) * (self.noise / 255.0)
        return jpeg(x, self.quality)  # which rounds to 8 bits first


def jpeg(pixels: torch.Tensor, quality: int) -> torch.Tensor:
    """``[3, H, W]`` in [0, 1] through Pillow's JPEG encoder and decoder at ``quality``."""
    import io

    import numpy as np
    import torch
    from PIL import Image as PILImage

    array = pixels.clamp(0.0, 1.0).mul(255).round().to("cpu", torch.uint8).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, "JPEG", quality=quality)
    decoded = np.asarray(PILImage.open(buffer).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(decoded).permute(2, 0, 1).contiguous().to(pixels.device)


REAL_WORLD = {
    "jpeg50": FixedDegradation(quality=50),
    "blur-noise-jpeg60": FixedDegradation(quality=60, blur=1.5, noise=5.0),
}
# `imgperc eval sr --degradation`: the benchmark's bicubic and the paper's blur (`.degrade`), then REAL_WORLD
EVAL_DEGRADATIONS = (*DEGRADATIONS, *REAL_WORLD)
