"""Y-channel PSNR and SSIM against values computed by hand from their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from imgperc.metrics import crop_border, gaussian_window, psnr, rgb_to_y, ssim, y_psnr_ssim

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def _rgb(r: float, g: float, b: float, size: int = 4) -> torch.Tensor:
    return torch.tensor([r, g, b], dtype=torch.float32).view(3, 1, 1).expand(3, size, size).clone()


@pytest.mark.parametrize(
    "rgb, expected",
    [
        ((0, 0, 0), 16.0),
        ((1, 1, 1), 235.0),
        ((1, 0, 0), 16 + 65.481),
        ((0, 1, 0), 16 + 128.553),
        ((0, 0, 1), 16 + 24.966),
        ((0.2, 0.4, 0.6), 16 + 0.2 * 65.481 + 0.4 * 128.553 + 0.6 * 24.966),
    ],
)
def test_y_is_matlab_rgb2ycbcr_on_0_1_inputs(rgb, expected):
    y = rgb_to_y(_rgb(*rgb))
    assert y.shape == (4, 4) and y.dtype == torch.float64
    assert torch.allclose(y, torch.full((4, 4), expected, dtype=torch.float64), atol=1e-5)


def test_y_keeps_leading_dimensions_and_refuses_other_channel_counts():
    assert rgb_to_y(torch.rand(2, 3, 5, 7)).shape == (2, 5, 7)
    with pytest.raises(ValueError):
        rgb_to_y(torch.rand(4, 5, 7))


def test_crop_border():
    x = torch.arange(7 * 6).view(6, 7)
    assert torch.equal(crop_border(x, 2), x[2:4, 2:5])
    assert crop_border(x, 0) is x
    with pytest.raises(ValueError):
        crop_border(x, 3)


def test_psnr_of_a_constant_error():
    a = torch.full((5, 6), 100.0)
    assert psnr(a, a + 5) == pytest.approx(10 * math.log10(255**2 / 25))  # 34.1514 dB
    assert psnr(a, a + 5) == pytest.approx(34.15140352195873)


def test_psnr_of_a_mixed_error_and_of_identical_images():
    a = torch.zeros(2, 2, dtype=torch.float64)
    b = torch.tensor([[1.0, -3.0], [0.0, 2.0]], dtype=torch.float64)  # MSE = (1 + 9 + 0 + 4) / 4 = 3.5
    assert psnr(a, b) == pytest.approx(10 * math.log10(65025 / 3.5))
    assert psnr(a, a) == math.inf
    with pytest.raises(ValueError):
        psnr(a, torch.zeros(2, 3))


def test_gaussian_window():
    g = gaussian_window()
    assert g.shape == (11,) and g.sum().item() == pytest.approx(1.0)
    assert g[0].item() / g[5].item() == pytest.approx(math.exp(-25 / 4.5))


def test_ssim_of_constant_images_is_the_luminance_term():
    a, b = torch.full((11, 11), 100.0), torch.full((11, 11), 110.0)
    expected = (2 * 100 * 110 + C1) / (100**2 + 110**2 + C1)  # variances and covariance are 0
    assert ssim(a, b) == pytest.approx(expected, abs=1e-12)
    assert ssim(a, a) == pytest.approx(1.0)


def _one_window_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of two 11x11 patches written out from Wang et al.'s definition."""
    t = np.arange(11) - 5
    g = np.exp(-(t**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mx, my = (w * x).sum(), (w * y).sum()
    vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    cxy = (w * (x - mx) * (y - my)).sum()
    return ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2))


def test_ssim_of_one_window_matches_the_definition():
    rng = np.random.default_rng(0)
    x = rng.uniform(16, 235, (11, 11))
    y = np.clip(x + rng.normal(0, 20, (11, 11)), 0, 255)
    assert ssim(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(_one_window_ssim(x, y), abs=1e-12)


def test_ssim_filters_valid_windows_only_and_averages_them():
    rng = np.random.default_rng(1)
    x = rng.uniform(16, 235, (13, 12))
    y = 0.5 * x + 60 + rng.normal(0, 10, (13, 12))
    windows = [_one_window_ssim(x[i : i + 11, j : j + 11], y[i : i + 11, j : j + 11]) for i in range(3) for j in range(2)]
    assert ssim(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(np.mean(windows), abs=1e-12)


def test_ssim_refuses_images_smaller_than_its_window():
    with pytest.raises(ValueError):
        ssim(torch.zeros(10, 20), torch.zeros(10, 20))


def test_y_psnr_ssim_ignores_the_border():
    target = torch.rand(3, 20, 20)
    output = target.clone()
    output[:, :3, :] = 1 - output[:, :3, :]  # damage only the top three rows
    assert y_psnr_ssim(output, target, 3) == (math.inf, pytest.approx(1.0))
    damaged_psnr, damaged_ssim = y_psnr_ssim(output, target, 2)
    assert damaged_psnr < 40 and damaged_ssim < 1


def test_y_psnr_of_a_gray_offset():
    target = torch.full((3, 20, 20), 0.5)
    output = target + 10 / 255  # Y differs by 219 * 10 / 255 everywhere
    value, structure = y_psnr_ssim(output, target, 4)
    assert value == pytest.approx(20 * math.log10(255 / (219 * 10 / 255)), abs=1e-4)
    y_t, y_o = 16 + 219 * 0.5, 16 + 219 * (0.5 + 10 / 255)
    assert structure == pytest.approx((2 * y_t * y_o + C1) / (y_t**2 + y_o**2 + C1), abs=1e-6)
