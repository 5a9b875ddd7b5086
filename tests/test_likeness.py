"""The likeness measure (issue 27): its definition, its ranking on pretrained styles, `imgperc eval style`'s columns."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from PIL import Image

from imgperc import plugins
from imgperc.hub import resolve_model
from imgperc.inference import run_net
from imgperc.losses import LossRecipe, PerceptualLoss
from imgperc.modelfile import save_model_file
from imgperc_style.likeness import LikenessMeter, psnr, unit_normalise
from imgperc_style.likeness_recipe import likeness_spec
from imgperc_style.nets import JohnsonNet

from conftest import DATA_DIR
from hardening_cli import one_error_line, run_cli
from tiny_nets import register_tiny_network, tiny_loader

SIDE = 64  # the photo's side: small enough for a quick VGG-19 and ml5 pass on the CPU


def _tiny_meter() -> LikenessMeter:
    """The meter on the tests' tiny loss network (taps relu1, relu2)."""
    register_tiny_network()
    return LikenessMeter("tiny", ("relu1", "relu2"))


def test_the_distance_is_the_definition_zero_for_equal_images_and_grows_with_noise():
    meter = _tiny_meter()
    torch.manual_seed(0)
    image = torch.rand(1, 3, 16, 16)
    assert meter.distance(image, image.clone()) == 0.0 and psnr(image, image.clone()) == float("inf")
    other = (image + 0.1 * torch.randn_like(image)).clamp(0, 1)
    net = tiny_loader(("relu1", "relu2"))
    by_hand = sum(float((unit_normalise(net(other)[l]) - unit_normalise(net(image)[l])).pow(2).sum(1).mean()) for l in ("relu1", "relu2")) / 2
    assert meter.distance(other, image) == pytest.approx(by_hand, rel=1e-5)
    distances = [meter.distance((image + s * torch.randn_like(image)).clamp(0, 1), image) for s in (0.02, 0.1, 0.3)]
    psnrs = [psnr((image + s * torch.randn_like(image)).clamp(0, 1), image) for s in (0.02, 0.1, 0.3)]
    assert 0 < distances[0] < distances[1] < distances[2] and psnrs[0] > psnrs[1] > psnrs[2]


def test_the_distillation_term_is_zero_when_the_student_draws_the_teacher():
    register_tiny_network()
    loss = PerceptualLoss(LossRecipe("tiny", content_weight=0.0, style_weight=0.0, terms=(likeness_spec(2.0, ("relu1", "relu2")),)))
    image = torch.rand(2, 3, 16, 16, requires_grad=True)
    assert float(loss(image, teacher=image.detach()).total.detach()) == 0.0
    report = loss(image, teacher=torch.rand(2, 3, 16, 16))
    assert set(report.terms) == {"likeness:relu1", "likeness:relu2"} and float(report.total.detach()) > 0
    report.total.backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


@pytest.fixture
def photo():
    from imgperc.api import resize_longest
    from imgperc.io import read_image

    return resize_longest(read_image(DATA_DIR / "content" / "chicago.jpg"), SIDE).pixels[None]


@pytest.mark.needs_shared("data")
def test_a_two_pixel_shift_is_closer_than_another_style(use_mirror, photo):
    """On VGG-19 and two pretrained ml5 styles: muse against its shifted self is nearer than muse against wave."""
    muse, wave = (resolve_model(name, "style").load().net for name in ("muse", "wave"))
    meter = LikenessMeter()

    def muse_on(image):
        return run_net(muse, image)

    with torch.no_grad():
        out_muse, out_wave = muse_on(photo), run_net(wave, photo)
    floor, floor_psnr = meter.shift_floor(muse_on, photo, out_muse)
    other, other_psnr = meter.pair(out_wave, out_muse)
    assert 0 < floor < other and floor_psnr > other_psnr


@pytest.fixture
def pair(tmp_path):
    """A tiny teacher model file and a student file whose metadata names it (as `imgperc distill` writes)."""
    files = {}
    for seed, name in ((1, "teacher"), (2, "student")):
        torch.manual_seed(seed)
        path = tmp_path / f"{name}.safetensors"
        meta = {"architecture": "johnson", "config": {"channels": 2, "residual_blocks": 0}, "task": "style"}
        if name == "student":
            meta["teacher"] = {"name": "teacher", "file": str(files["teacher"].resolve())}
        save_model_file(path, JohnsonNet(channels=2, residual_blocks=0).state_dict(), meta)
        files[name] = path
    data = tmp_path / "photos"
    data.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray((torch.rand(20, 24, 3) * 255).byte().numpy()).save(data / name)
    return files, data


def test_eval_style_scores_a_student_against_its_teacher_and_its_shift_floor(tmp_path, capsys, pair, monkeypatch):
    files, data = pair
    monkeypatch.setattr("imgperc_style.likeness.LikenessMeter", _tiny_meter)  # VGG-19 in production
    register_tiny_network()
    plugins.registry("loss_recipes").add("tiny-style", LossRecipe(network="tiny", content_layers={"relu2": 1.0}, style_layers={"relu1": 1.0},
                                                                   name="tiny-style"), "tests")
    style = tmp_path / "style.png"
    Image.fromarray((torch.rand(16, 16, 3) * 255).byte().numpy()).save(style)
    out = tmp_path / "results"
    code, stdout, err = run_cli(capsys, "eval", "style", "--data", data, "--style-image", style, "--model", files["student"],
                                "--preset", "tiny-style", "--size", "24", "--device", "cpu", "--precision", "fp32", "-o", out)
    assert code == 0, err
    doc = json.loads((out / "eval-style-photos-style.json").read_text())
    student = str(files["student"])
    assert doc["methods"] == [student, "teacher"]  # the teacher is scored beside its student
    mean = doc["mean"][student]["likeness"]
    assert mean["teacher"] == "teacher" and mean["distance"] > 0 and mean["floor_distance"] > 0
    assert mean["floor_ratio"] == pytest.approx(mean["distance"] / mean["floor_distance"])
    assert "likeness" not in doc["mean"]["teacher"]
    rows = list(csv.DictReader((out / "eval-style-photos-style.csv").open()))
    means = {r["method"]: r for r in rows if r["image"] == "mean"}
    assert means[student]["teacher"] == "teacher" and float(means[student]["likeness"]) == pytest.approx(mean["distance"], rel=1e-5)
    assert float(means[student]["psnr_db"]) == pytest.approx(mean["psnr"], rel=1e-5) and means["teacher"]["likeness"] == ""
    assert "to teacher" in stdout and "teacher shift floor" in stdout and "x floor" in stdout
    code, _, err = run_cli(capsys, "eval", "style", "--data", data, "--style-image", style, "--model", files["student"], "--model",
                           files["teacher"], "--preset", "tiny-style", "--size", "24", "--device", "cpu", "-o", tmp_path / "again")
    assert code == 0, err
    again = json.loads((tmp_path / "again" / "eval-style-photos-style.json").read_text())
    assert again["methods"] == [student, str(files["teacher"])]  # a teacher given too is scored once
    assert again["mean"][student]["likeness"]["teacher"] == str(files["teacher"])


def test_a_student_whose_teacher_is_gone_is_a_one_line_error(tmp_path, capsys, pair):
    files, data = pair
    files["teacher"].unlink()
    style = tmp_path / "style.png"
    Image.fromarray((torch.rand(16, 16, 3) * 255).byte().numpy()).save(style)
    code, _, err = run_cli(capsys, "eval", "style", "--data", data, "--style-image", style, "--model", files["student"], "-o", tmp_path / "r")
    assert code == 1 and "student's teacher 'teacher' is neither a known style nor an existing file" in one_error_line(err)


def test_the_four_tap_gram_preset_is_registered():
    from imgperc.losses import get_preset

    recipe = get_preset("vgg19-relu3-4taps")
    assert tuple(recipe.style_layers) == ("relu1_2", "relu2_2", "relu3_3", "relu3_4") and recipe.network == "vgg19"


def test_shipping_records_a_students_likeness_keyed_by_its_recipe():
    from imgperc.losses import get_preset
    from imgperc_style.builtin import scores
    from imgperc_style.evaluate import ImageLosses, Losses, StyleEvaluation
    from imgperc_style.likeness import Likeness

    result = StyleEvaluation("/d/heldout", "/d/la_muse.jpg", 512, get_preset("vgg19-relu3-4taps"), ["muse-fast", "muse"])
    for distance in (0.4, 0.5):
        result.images.append(ImageLosses("a.jpg", 64, 48, {"muse": Losses(2.0, 4.0, {}), "muse-fast": Losses(3.0, 5.0, {})},
                                         {"muse-fast": Likeness("muse", distance, 17.0, 0.3, 19.0)}))
    key, entry = scores(json.loads(result.to_json()), "muse-fast", {"teacher": {"name": "muse"}})
    assert key == "heldout-512-vgg19-relu3-4taps" and entry["ratio"] == {"style": 1.5, "content": 1.25}
    assert entry["likeness"] == {"teacher": "muse", "distance": 0.45, "psnr": 17.0, "floor_distance": 0.3, "floor_psnr": 19.0,
                                 "floor_ratio": 1.5}
