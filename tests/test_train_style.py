"""`imgperc train style` end to end on tiny nets and images, and its result used by stylize."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from imgperc.cli.main import cli
from imgperc.hub.user import user_models
from imgperc.modelfile import build_model, read_metadata
from imgperc.train import log

from conftest import DATA_DIR

STYLE = DATA_DIR / "styles" / "mosaic.jpg"
TINY = ["--preset", "vgg19-relu3", "--style-layers", "relu1_2,relu2_2", "--image-size", "16", "--batch-size", "2",
        "--channels", "4", "--residual-blocks", "1", "--workers", "0", "--log-every", "1", "--precision", "fp32"]


@pytest.fixture
def content(tmp_path):
    root = tmp_path / "content"
    (root / "nested").mkdir(parents=True)
    torch.manual_seed(0)
    for i in range(3):
        pixels = (torch.rand(20 + 4 * i, 24, 3) * 255).byte().numpy()
        Image.fromarray(pixels).save(root / ("nested" if i else "") / f"c{i}.png")
    (root / "damaged.png").write_bytes(b"\x89PNG broken")
    return root


def _train(args):
    return CliRunner().invoke(cli, ["train", "style", *args])


def test_train_style_writes_a_model_that_stylize_uses(tmp_path, content, use_mirror):
    out = tmp_path / "run"
    result = _train(["--style-image", str(STYLE), "--data", str(content), "--out", str(out), "--iterations", "4",
                     "--checkpoint-every", "2", "--preview-every", "2", *TINY])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out / "model.safetensors")
    assert meta["task"] == "style" and meta["architecture"] == "johnson" and meta["iterations"] == 4
    assert meta["config"] == {"channels": 4, "residual_blocks": 1}
    assert meta["loss_network"] == "vgg19" and set(meta["recipe"]["style_layers"]) == {"relu1_2", "relu2_2"}
    assert meta["data"]["images"] == 4 and meta["data"]["image_size"] == 16
    records = log.read(out / "log.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3, 4]
    assert set(records[0]["loss"]) == {"total", "content:relu2_2", "style:relu1_2", "style:relu2_2", "tv"}
    assert records[-1]["skipped_images"] == 1 and records[0]["images_per_s"] > 0
    assert sorted(p.name for p in (out / "previews").iterdir()) == ["iter-000002.png", "iter-000004.png"]
    preview = Image.open(out / "previews" / "iter-000004.png")
    assert preview.size == (16 + 3 * (16 + 4), 2 * 16 + 4)  # style (longer side 16) + 3 inputs over their outputs
    assert Image.open(out / "loss_curve.png").format == "PNG"
    net, _ = build_model(out / "model.safetensors")
    assert net(torch.rand(1, 3, 16, 16)).shape == (1, 3, 16, 16)
    picture = tmp_path / "styled.png"
    styled = CliRunner().invoke(cli, ["stylize", "--model", str(out / "model.safetensors"), str(DATA_DIR / "content" / "chicago.jpg"),
                                      "-o", str(picture), "--size", "64"])
    assert styled.exit_code == 0, styled.output
    assert max(Image.open(picture).size) == 64


def test_name_installs_a_user_model(tmp_path, content, use_mirror):
    args = ["--style-image", str(STYLE), "--data", str(content), "--iterations", "1", "--name", "my-mosaic", *TINY]
    result = _train([*args, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert list(user_models("style")) == ["my-mosaic"] and user_models("sr") == {}
    picture = tmp_path / "styled.png"
    styled = CliRunner().invoke(cli, ["stylize", "--style", "my-mosaic", str(DATA_DIR / "content" / "stata.jpg"), "-o", str(picture), "--size", "32"])
    assert styled.exit_code == 0, styled.output
    assert picture.is_file()
    again = _train([*args, "--out", str(tmp_path / "b")])
    assert again.exit_code != 0 and "already installed" in str(again.exception or again.output)
    assert not (tmp_path / "b").exists()  # refused before any work


def test_arch_light_trains_the_fast_cpu_net(tmp_path, content, use_mirror):
    at = TINY.index("--channels")
    light = TINY[:at] + TINY[at + 4 :]  # without --channels 4 --residual-blocks 1
    out = tmp_path / "run"
    result = _train(["--style-image", str(STYLE), "--data", str(content), "--out", str(out), "--iterations", "2",
                     "--preview-every", "0", "--arch", "light", "--width", "4", "--depth", "1", *light])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out / "model.safetensors")
    assert meta["architecture"] == "light" and meta["config"] == {"width": 4, "depth": 1}
    net, _ = build_model(out / "model.safetensors")
    assert net(torch.rand(1, 3, 16, 20)).shape == (1, 3, 16, 20)


@pytest.mark.needs_shared("data")
@pytest.mark.parametrize(
    "extra, message",
    [(["--image-size", "18"], "multiple of 4"), (["--preset", "sr-pixel"], "no style term"),
     (["--preset", "nope"], "unknown loss recipe"), (["--style-layers", "relu9_9"], "has no layer"),
     (["--arch", "light"], "net light: unknown config key 'channels'"), (["--arch", "nope"], "unknown transform nets 'nope'"),
     (["--config", "nope=1"], "net johnson: unknown config key 'nope'")],
)
def test_bad_options_are_one_line_errors(tmp_path, content, extra, message, capsys):
    from imgperc.cli.main import main

    args = ["train", "style", "--style-image", str(STYLE), "--data", str(content), "--out", str(tmp_path / "r"), *TINY, *extra]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_a_run_folder_with_other_options_is_refused(tmp_path, content, use_mirror):
    out = tmp_path / "run"
    first = _train(["--style-image", str(STYLE), "--data", str(content), "--out", str(out), "--iterations", "1", *TINY])
    assert first.exit_code == 0, first.output
    other = _train(["--style-image", str(DATA_DIR / "styles" / "candy.jpg"), "--data", str(content), "--out", str(out),
                    "--iterations", "2", *TINY])
    assert other.exit_code != 0 and "different --style-image (" in str(other.exception) and "candy.jpg now)" in str(other.exception)
    assert json.loads((out / "run.json").read_text())["job"]["style_image"].endswith("mosaic.jpg")
