"""`imgperc eval style` against losses computed by hand, on tiny nets, photos and loss network."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from PIL import Image

from imgperc import plugins
from imgperc.inference import run_net
from imgperc.io import read_image
from imgperc.losses import LossRecipe
from imgperc.modelfile import build_model, save_model_file
from imgperc_style.nets import JohnsonNet

from hardening_cli import one_error_line, run_cli
from tiny_nets import register_tiny_network, tiny_loader

MULTIPLIERS = {"relu1": 0.5, "relu2": 2.0}


@pytest.fixture
def tiny_recipe():
    """A loss network and a preset of it: content relu2, style relu1 and relu2 with multipliers."""
    register_tiny_network()
    recipe = LossRecipe(network="tiny", content_layers={"relu2": 1.0}, style_layers=MULTIPLIERS, content_weight=3.0,
                        style_weight=50.0, tv_weight=0.0, name="tiny-style")
    plugins.registry("loss_recipes").add("tiny-style", recipe, "tests")
    return recipe


@pytest.fixture
def case(tmp_path):
    """Two photos, a style image and two tiny random style nets in model files."""
    torch.manual_seed(0)
    data = tmp_path / "photos"
    data.mkdir()
    for name, (h, w) in {"a.png": (12, 16), "b.png": (16, 10)}.items():
        Image.fromarray((torch.rand(h, w, 3) * 255).byte().numpy()).save(data / name)
    style = tmp_path / "style.png"
    Image.fromarray((torch.rand(16, 14, 3) * 255).byte().numpy()).save(style)  # longest side --size: not resized
    models = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        path = tmp_path / f"net{seed}.safetensors"
        save_model_file(path, JohnsonNet(channels=2, residual_blocks=0).state_dict(),
                        {"architecture": "johnson", "config": {"channels": 2, "residual_blocks": 0}, "task": "style"})
        models.append(path)
    return data, style, models


def _pixels(path):
    return read_image(path).pixels[None]


def _by_hand(output, photo, style):
    """Style: sum of multiplier x squared Frobenius distance of Grams (C·H·W-normalised); content: mean squared feature distance."""
    net = tiny_loader(("relu1", "relu2"))
    with torch.no_grad():
        f_out, f_photo, f_style = net(output), net(photo), net(style)

    def gram(f):
        c = f.shape[1]
        flat = f[0].reshape(c, -1)
        return flat @ flat.T / flat.numel()

    style_loss = sum(m * float(((gram(f_out[l]) - gram(f_style[l])) ** 2).sum()) for l, m in MULTIPLIERS.items())
    content_loss = float(((f_out["relu2"] - f_photo["relu2"]) ** 2).mean())
    return style_loss, content_loss


def test_losses_match_hand_computed_values(tmp_path, capsys, tiny_recipe, case):
    data, style, models = case
    out = tmp_path / "results"
    code, stdout, err = run_cli(capsys, "eval", "style", "--data", data, "--style-image", style, "--model", models[0], "--model", models[1],
                                "--preset", "tiny-style", "--size", "16", "--device", "cpu", "--precision", "fp32", "-o", out,
                                "--crops", tmp_path / "crops", "--crop-size", "16")
    assert code == 0, err
    doc = json.loads((out / "eval-style-photos-style.json").read_text())
    assert doc["methods"] == [str(m) for m in models] and [i["image"] for i in doc["images"]] == ["a.png", "b.png"]
    expected = {}
    for entry, name in zip(doc["images"], ("a.png", "b.png")):
        photo = _pixels(data / name)  # already at most 16 pixels: not resized
        for model in models:
            net, _ = build_model(model)
            style_loss, content_loss = _by_hand(run_net(net, photo, pad=48), photo, _pixels(style))
            got = entry["losses"][str(model)]
            assert got["style"] == pytest.approx(style_loss, rel=1e-4) and got["content"] == pytest.approx(content_loss, rel=1e-4)
            assert sum(got["style_layers"].values()) == pytest.approx(got["style"])
            expected.setdefault(str(model), []).append((style_loss, content_loss))
    rows = list(csv.DictReader((out / "eval-style-photos-style.csv").open()))
    means = {r["method"]: r for r in rows if r["image"] == "mean"}
    for model, values in expected.items():
        assert float(means[model]["style_loss"]) == pytest.approx(sum(v[0] for v in values) / 2, rel=1e-4)
        assert float(means[model]["content_loss"]) == pytest.approx(sum(v[1] for v in values) / 2, rel=1e-4)
    assert "style loss" in stdout and "net1.safetensors" in stdout
    sheet = Image.open(tmp_path / "crops" / "a.style.png")
    assert sheet.size == (3 * 16 + 2 * 4, 12 + 14)  # photo and two models (12x16), labelled
    again = run_cli(capsys, "eval", "style", "--data", data, "--style-image", style, "--model", models[0], "--preset", "tiny-style",
                    "--size", "16", "-o", out)
    assert again[0] == 1 and "already exists (use --force to overwrite)" in one_error_line(again[2])


def test_gatys_from_the_photo_lowers_the_style_loss(tmp_path, capsys, tiny_recipe, case):
    data, style, models = case
    code, _, err = run_cli(capsys, "eval", "style", "--data", data, "--style-image", style, "--model", models[0], "--gatys", "3",
                           "--preset", "tiny-style", "--size", "16", "--device", "cpu", "-o", tmp_path)
    assert code == 0, err
    doc = json.loads((tmp_path / "eval-style-photos-style.json").read_text())
    assert doc["methods"] == [str(models[0]), "gatys-3"]
    for entry in doc["images"]:
        photo = _pixels(data / entry["image"])
        photo_style, _ = _by_hand(photo, photo, _pixels(style))
        # L-BFGS lowers 3 x content + 50 x style, which starts at 50 x the photo's style loss
        gatys = entry["losses"]["gatys-3"]
        assert 3.0 * gatys["content"] + 50.0 * gatys["style"] < 50.0 * photo_style


def test_gatys_without_its_plugin_is_refused_before_any_work(tmp_path, capsys, case, monkeypatch):
    data, style, models = case
    monkeypatch.setenv("IMGPERC_PLUGINS", "style,sr")
    plugins.reset()
    code, _, err = run_cli(capsys, "eval", "style", "--data", data, "--style-image", style, "--model", models[0], "--gatys", "2",
                           "-o", tmp_path / "results")
    assert code == 1 and "--gatys needs the gatys plugin" in one_error_line(err)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--preset", "sr-pixel"], "loss recipe 'sr-pixel' has no style or no content taps"),
        (["--model", "x4-pixel"], "'x4-pixel' is a 'sr' model, not a style"),
        (["--data", "{empty}"], "no images found"),
    ],
)
def test_bad_inputs_are_one_line_errors(tmp_path, capsys, case, args, message):
    data, style, models = case
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty") for a in args]
    base = ["--data", data, "--style-image", style, "--model", models[0]]
    if args[0] in base:
        index = base.index(args[0])
        base[index : index + 2] = []
    code, _, err = run_cli(capsys, "eval", "style", *base, *args, "-o", tmp_path / "results")
    assert code == 1 and message in one_error_line(err)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_the_table_never_cuts_a_model_name_at_80_columns(monkeypatch, capsys):
    from imgperc.report import print_table
    from imgperc_style.eval_cmd import _table
    from imgperc_style.evaluate import ImageLosses, Losses, StyleEvaluation

    monkeypatch.setenv("COLUMNS", "80")
    recipe = LossRecipe(network="vgg19", content_layers={"relu2_2": 1.0}, style_layers={"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0},
                        content_weight=1.0, style_weight=1.0, tv_weight=0.0, name="vgg19-relu3")
    methods = ["muse", "runs/distill-muse-width32-depth5-phase3/model.safetensors", "gatys-300"]
    losses = {m: Losses(1.5e6, 9.6e4, {}) for m in methods}
    print_table(_table(StyleEvaluation("photos", "la_muse.jpg", 512, recipe, methods, [ImageLosses("a.jpg", 512, 384, losses)])))
    text = capsys.readouterr().out
    assert "…" not in text and all(m in text for m in methods) and "1.5e+06" in text
