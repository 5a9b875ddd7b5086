"""The one resampler, `imgperc.io.resize`, and the sizes it computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from imgperc.errors import InputError
from imgperc.io import resize, scaled_size


def test_scaled_size_keeps_the_aspect_ratio():
    assert scaled_size(30, 60, longest=15) == (8, 15)
    assert scaled_size(60, 30, longest=15) == (15, 8)
    assert scaled_size(30, 60, shortest=10) == (10, 20)
    assert scaled_size(1, 1000, longest=10) == (1, 10)  # never below one pixel
    assert scaled_size(999, 1000, shortest=7) == (7, 7)  # never below the shortest side asked for


def test_scaled_size_refuses_bad_requests():
    with pytest.raises(InputError, match="positive number of pixels"):
        scaled_size(10, 10, longest=0)
    with pytest.raises(ValueError):
        scaled_size(10, 10)
    with pytest.raises(ValueError):
        scaled_size(10, 10, longest=5, shortest=5)


def test_resize_sizes_batches_and_same_size():
    image = torch.rand(3, 30, 60)
    assert resize(image, (10, 20)).shape == (3, 10, 20)
    assert resize(image, longest=15).shape == (3, 8, 15)
    assert resize(image, shortest=10).shape == (3, 10, 20)
    assert resize(image[None].repeat(2, 1, 1, 1), longest=15).shape == (2, 3, 8, 15)
    assert resize(image, (30, 60)) is image and resize(image, longest=60) is image
    with pytest.raises(ValueError):
        resize(image, (10, 20), longest=15)
    with pytest.raises(ValueError):
        resize(image, (0, 20))
    with pytest.raises(ValueError):
        resize(torch.rand(30, 60), (10, 20))


def test_resize_is_antialiased_bicubic_and_clamped():
    values = np.random.default_rng(0).random((32, 48)).astype(np.float32)
    pillow = np.asarray(PILImage.fromarray(values, "F").resize((12, 8), PILImage.Resampling.BICUBIC))
    ours = resize(torch.from_numpy(values)[None], (8, 12))[0].numpy()
    inside = np.clip(pillow, 0, 1)
    assert np.abs(ours - inside).max() < 1e-4  # Pillow's antialiased bicubic, then clamped
    edge = torch.zeros(1, 8, 8)
    edge[:, :, 4:] = 1
    big = resize(edge, (16, 16))
    assert big.min() == 0 and big.max() == 1  # bicubic overshoots at the edge: clamped


def test_bilinear_for_masks_keeps_flat_areas_exact():
    mask = torch.zeros(1, 4, 6)
    mask[:, :, 3:] = 1
    big = resize(mask, (8, 12), mode="bilinear")
    assert big[0, :, 0].max() == 0 and big[0, :, -1].min() == 1
