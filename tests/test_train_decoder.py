"""`imgperc train decoder`: the last conv's least-squares fit that ends a decoder's training."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from imgperc.cli.main import cli
from imgperc.io import read_image
from imgperc.modelfile import build_model, read_metadata
from imgperc_style.decoder import wct_decoder
from imgperc_style.train_decoder import fit_last_conv


def test_the_fit_recovers_a_last_conv_that_made_the_targets_exactly():
    torch.manual_seed(0)
    made, fitted = wct_decoder(2, 8, input_divisor=4), wct_decoder(2, 8, input_divisor=4)
    fitted.load_state_dict({k: v if not k.startswith(f"body.{len(made.body) - 1}.") else torch.zeros_like(v)
                            for k, v in made.state_dict().items()})
    pairs = []
    for _ in range(3):
        features = torch.randn(1, 128, 8, 8).relu() * 4
        with torch.no_grad():
            pairs.append((features, made(features)))
    before = fit_last_conv(fitted, pairs, ridge=0.0)
    assert before > 1e-4
    last_made, last_fitted = made.body[-1], fitted.body[-1]
    assert torch.allclose(last_fitted.weight, last_made.weight, atol=1e-4)
    assert torch.allclose(last_fitted.bias, last_made.bias, atol=1e-4)


@pytest.fixture
def photos(tmp_path):
    """Smooth colour photos (gradients and blobs: what a linear decoder can invert)."""
    root = tmp_path / "photos"
    root.mkdir()
    torch.manual_seed(1)
    for i in range(4):
        low = torch.rand(3, 4, 4)
        pixels = torch.nn.functional.interpolate(low[None], size=(40, 48), mode="bicubic", align_corners=False)[0]
        Image.fromarray((pixels.clamp(0, 1).permute(1, 2, 0) * 255).byte().numpy()).save(root / f"p{i}.png")
    (root / "damaged.png").write_bytes(b"\x89PNG broken")
    return root


def _train(tmp_path, photos, name: str, *extra: str):
    out = tmp_path / name
    result = CliRunner().invoke(cli, ["train", "decoder", "--level", "1", "--data", str(photos), "--out", str(out),
                                      "--image-size", "32", "--batch-size", "2", "--iterations", "2", "--workers", "0",
                                      "--precision", "fp32", *extra])
    assert result.exit_code == 0, result.output
    return out / "model.safetensors"


def _reconstruction_error(path, photos) -> float:
    from imgperc.losses import load_loss_network

    decoder, _ = build_model(path)
    network = load_loss_network("vgg19", ("relu1_1",))
    pixels = read_image(photos / "p0.png").pixels[None]
    with torch.no_grad():
        return float(((decoder(network(pixels)["relu1_1"]) - pixels) ** 2).mean())


def test_a_level_1_decoder_is_fitted_by_default_and_reconstructs_far_better(tmp_path, photos, use_mirror):
    fitted = _train(tmp_path, photos, "fitted", "--fit-photos", "3")
    plain = _train(tmp_path, photos, "plain", "--fit-photos", "0")
    fit = read_metadata(fitted)["last_conv_fit"]
    assert fit["photos"] == 3 and fit["image_size"] == 32 and fit["pixel_loss_after"] < fit["pixel_loss_before"] / 10
    assert "last_conv_fit" not in read_metadata(plain)
    assert _reconstruction_error(fitted, photos) < _reconstruction_error(plain, photos) / 10
    assert read_metadata(_train(tmp_path, photos, "default"))["last_conv_fit"]["photos"] == 4  # level 1: all 4 readable
