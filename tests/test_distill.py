"""`imgperc distill` on tiny nets and images: the result, its terms, bad inputs, Ctrl-C/SIGKILL resume."""

from __future__ import annotations

import json
import math
import random
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from PIL import Image

from imgperc.hub.user import install_user_model, user_models
from imgperc.losses import LossRecipe, feature_reconstruction_loss, gram_matrix, load_loss_network, pixel_loss, style_loss
from imgperc.modelfile import build_model, read_metadata, save_model_file
from imgperc.train import checkpoint, log
from imgperc_sr.nets import sr_johnson
from imgperc_style.distill import DistillLoss, DistillObjective
from imgperc_style.net_choice import checked_config, parse_config
from imgperc_style.nets import JohnsonNet
from imgperc_style import stability
from imgperc_style.stability import shift_stability
from imgperc_style.teacher_pairs import PairCrop

from conftest import DATA_DIR
from hardening_cli import one_error_line, run_cli
from tiny_nets import register_tiny_network

TINY_STUDENT = ["--width", "4", "--depth", "1", "--image-size", "16", "--batch-size", "2", "--workers", "0",
                "--log-every", "1", "--precision", "fp32"]
PIXEL_ONLY = ["--feature-weight", "0"]


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "photos"
    (root / "nested").mkdir(parents=True)
    torch.manual_seed(0)
    for i in range(3):
        Image.fromarray((torch.rand(20 + 4 * i, 24, 3) * 255).byte().numpy()).save(root / ("nested" if i else "") / f"p{i}.png")
    (root / "damaged.png").write_bytes(b"\x89PNG broken")
    return root


@pytest.fixture
def teacher(tmp_path):
    """A tiny random style net in a model file."""
    torch.manual_seed(1)
    path = tmp_path / "teacher.safetensors"
    net = JohnsonNet(channels=2, residual_blocks=0)
    save_model_file(path, net.state_dict(), {"architecture": "johnson", "config": {"channels": 2, "residual_blocks": 0},
                                             "task": "style", "style": "tiny"})
    return path


@pytest.fixture
def painting(tmp_path):
    """A small random style image (the painting term's target)."""
    torch.manual_seed(4)
    path = tmp_path / "painting.png"
    Image.fromarray((torch.rand(30, 40, 3) * 255).byte().numpy()).save(path)
    return path


@pytest.fixture
def tiny_network():
    register_tiny_network()


def _distill(capsys, *args):
    return run_cli(capsys, "distill", *args)


@pytest.mark.needs_shared("data")
def test_distill_writes_a_style_model_that_stylize_uses(tmp_path, capsys, photos, teacher, tiny_network):
    out = tmp_path / "run"
    code, _, err = _distill(capsys, "--teacher", teacher, "--data", photos, "--out", out, "--iterations", "3",
                            "--checkpoint-every", "2", "--preview-every", "2", "--loss-network", "tiny", "--feature-layers", "relu2",
                            "--style-weight", "1", "--style-layers", "relu1,relu2", "--content-weight", "1", "--content-layer", "relu1",
                            *TINY_STUDENT)
    assert code == 0, err
    meta = read_metadata(out / "model.safetensors")
    assert meta["task"] == "style" and meta["architecture"] == "light" and meta["config"] == {"width": 4, "depth": 1}
    assert meta["iterations"] == 3 and meta["style"] == "tiny"
    assert meta["teacher"] == {"name": "teacher", "file": str(teacher.resolve()), "architecture": "johnson",
                               "config": {"channels": 2, "residual_blocks": 0}}
    assert meta["data"] == {"folder": str(photos), "images": 3, "image_size": 16, "crop_size": 16}  # the damaged photo skipped
    assert meta["distillation"]["style"] == 1.0 and meta["loss_network"] == "tiny"
    records = log.read(out / "log.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3]
    assert set(records[0]["loss"]) == {"total", "pixel", "feature:relu2", "style:relu1", "style:relu2", "content:relu1"}
    assert sorted(p.name for p in (out / "previews").iterdir()) == ["iter-000002.png", "iter-000003.png"]
    assert Image.open(out / "previews" / "iter-000003.png").size == (3 * 16 + 2 * 4, 3 * 16 + 2 * 4)  # inputs, teacher, student
    picture = tmp_path / "styled.png"
    code, _, err = run_cli(capsys, "stylize", "--model", out / "model.safetensors", DATA_DIR / "content" / "stata.jpg", "-o", picture, "--size", "40")
    assert code == 0, err
    assert max(Image.open(picture).size) == 40


def test_teacher_outputs_are_computed_once_and_crops_cut_both_halves_alike(tmp_path, capsys, photos, teacher):
    args = ["--teacher", teacher, "--data", photos, "--iterations", "1", *PIXEL_ONLY, *TINY_STUDENT]
    code, out, err = _distill(capsys, *args, "--out", tmp_path / "a")
    assert code == 0, err
    assert "teacher outputs: stylizing 4 of 4 photos once" in out
    code, out, err = _distill(capsys, *args, "--out", tmp_path / "b", "--image-size", "20", "--crop-size", "16")
    assert code == 0 and "stylizing 4 of 4" in out  # another size: its own pairs (the damaged photo counted once)
    code, out, err = _distill(capsys, *args, "--out", tmp_path / "c")
    assert code == 0 and "teacher outputs" not in out  # the same teacher and size: cached
    moved = shutil.copytree(photos, tmp_path / "moved")  # copies: other paths and times, the same content
    code, out, err = _distill(capsys, *args[:3], moved, *args[4:], "--out", tmp_path / "d")
    assert code == 0 and "teacher outputs" not in out, out
    pair = torch.cat([torch.arange(48.0).view(1, 4, 12).expand(3, 4, 12), torch.arange(48.0).view(1, 4, 12).expand(3, 4, 12) + 100], -1)
    for seed in range(8):
        photo, styled = PairCrop(4)(pair, random.Random(seed))
        assert photo.shape == styled.shape == (3, 4, 4) and torch.equal(styled, photo + 100)


def test_objective_terms_are_distances_to_the_teacher_and_the_photo(tiny_network):
    weights = DistillLoss(network="tiny", pixel=2.0, pixel_norm="l2", feature=3.0, feature_layers=("relu1",), style=5.0,
                          style_layers=("relu2",), content=7.0, content_layer="conv2")
    objective = DistillObjective(weights.validate())
    torch.manual_seed(2)
    output, teacher, photo = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    report = objective(output, teacher, photo)
    net = objective.network
    f_out, f_teacher, f_photo = net(output), net(teacher), net(photo)
    expected = {
        "pixel": 2.0 * (output - teacher).pow(2).mean(),
        "feature:relu1": 3.0 * feature_reconstruction_loss(f_out["relu1"], f_teacher["relu1"]),
        "style:relu2": 5.0 / 6**2 * style_loss(gram_matrix(f_out["relu2"]), gram_matrix(f_teacher["relu2"])),
        "content:conv2": 7.0 * feature_reconstruction_loss(f_out["conv2"], f_photo["conv2"]),
    }
    assert report.values() == pytest.approx({"total": float(sum(expected.values())), **{k: float(v) for k, v in expected.items()}})
    assert objective(teacher, teacher, photo).values()["feature:relu1"] == 0.0


def test_painting_term_is_the_gram_distance_to_the_style_image_itself(tiny_network):
    weights = DistillLoss(network="tiny", pixel=0.0, feature=0.0, style_layers=("relu1", "relu2"), painting=3.0).validate()
    assert weights.taps == ("relu1", "relu2") and weights.to_dict()["painting"] == 3.0
    assert "painting" not in DistillLoss().to_dict()  # runs from before the term keep their run.json job
    objective = DistillObjective(weights)
    torch.manual_seed(3)
    output, painting = torch.rand(2, 3, 8, 8), torch.rand(1, 3, 12, 10)
    objective.set_painting(painting)
    report = objective(output, torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8))
    f_out, f_painting = objective.network(output), objective.network(painting)

    def gram(f):  # one image's [C,H,W] features -> psi psi^T / (C H W)
        psi = f.flatten(1)
        return psi @ psi.T / f.numel()

    expected = {}
    for layer in ("relu1", "relu2"):
        channels = f_out[layer].shape[1]
        distances = [(gram(f) - gram(f_painting[layer][0])).pow(2).sum() for f in f_out[layer]]
        expected[f"painting:{layer}"] = float(3.0 / channels**2 * torch.stack(distances).mean())
    assert report.values() == pytest.approx({"total": sum(expected.values()), **expected})


def _old_distill_terms(w, network, painting, output, teacher, photo):
    """The distillation loss as `imgperc_style.distill.DistillObjective` computed it before it became a `LossRecipe`."""
    painting_grams = {layer: gram_matrix(network(painting)[layer]) for layer in w.style_layers} if w.painting else {}
    terms = {}
    if w.pixel:
        terms["pixel"] = w.pixel * pixel_loss(output, teacher, w.pixel_norm)
    features = network(output)
    with torch.no_grad():
        target = network(teacher) if w.feature or w.style else {}
        seen = network(photo) if w.content else {}
    for layer in w.feature_layers if w.feature else ():
        terms[f"feature:{layer}"] = w.feature * feature_reconstruction_loss(features[layer], target[layer])
    grams = {layer: gram_matrix(features[layer]) for layer in w.style_layers} if w.style or w.painting else {}
    for layer in w.style_layers if w.style else ():
        terms[f"style:{layer}"] = w.style / features[layer].shape[1] ** 2 * style_loss(grams[layer], gram_matrix(target[layer]))
    if w.content:
        terms[f"content:{w.content_layer}"] = w.content * feature_reconstruction_loss(features[w.content_layer], seen[w.content_layer])
    for layer in w.style_layers if w.painting else ():
        terms[f"painting:{layer}"] = w.painting / features[layer].shape[1] ** 2 * style_loss(grams[layer], painting_grams[layer])
    return torch.stack(list(terms.values())).sum(), terms


@pytest.mark.parametrize("weights", [
    DistillLoss(network="tiny", pixel=2.0, pixel_norm="l1", feature=3e-2, feature_layers=("relu1", "conv2"), style=5.0,
                style_layers=("relu1", "relu2"), content=7e-3, content_layer="conv2", painting=0.3),
    DistillLoss(network="tiny", pixel=1.0, pixel_norm="l2", feature=1e-5, feature_layers=("relu2",), style_layers=("relu2",),
                content=0.5, content_layer="relu1"),
    DistillLoss(network="tiny", feature=0.0),  # pixel only: no loss network
])
def test_the_distillation_recipe_gives_the_numbers_and_gradients_of_the_old_objective(tiny_network, weights):
    objective = DistillObjective(weights.validate())
    recipe = weights.recipe()
    assert LossRecipe.from_dict(json.loads(recipe.to_json())) == recipe and recipe.layers == weights.taps
    assert (objective.network is None) == (recipe.network is None) == (not weights.taps)
    network = objective.network or load_loss_network("tiny", ("relu2",))
    torch.manual_seed(5)
    output = torch.rand(3, 3, 12, 10, requires_grad=True)
    teacher, photo, painting = torch.rand(3, 3, 12, 10), torch.rand(3, 3, 12, 10), torch.rand(1, 3, 14, 9)
    if weights.painting:
        objective.set_painting(painting)
    report = objective(output, teacher, photo)
    (grad,) = torch.autograd.grad(report.total, output)
    old_total, old_terms = _old_distill_terms(weights, network, painting, output, teacher, photo)
    (old_grad,) = torch.autograd.grad(old_total, output)
    assert list(report.terms) == list(old_terms)  # the same names in the same order (the log's columns)
    assert report.values() == pytest.approx({"total": float(old_total.detach()), **{k: float(v.detach()) for k, v in old_terms.items()}}, rel=1e-6)
    assert torch.allclose(grad, old_grad, rtol=1e-6, atol=1e-9)


def test_a_painting_term_trains_is_logged_recorded_and_resumes(tmp_path, capsys, photos, teacher, painting, tiny_network):
    out = tmp_path / "run"

    def args(iterations, style_size):
        return ["--teacher", teacher, "--data", photos, "--out", out, "--iterations", iterations, "--checkpoint-every", "1",
                "--preview-every", "0", "--loss-network", "tiny", "--feature-weight", "0", "--style-layers", "relu1,relu2",
                "--painting-weight", "2", "--style-image", painting, "--style-size", style_size, *TINY_STUDENT]

    code, _, err = _distill(capsys, *args(2, 24))
    assert code == 0, err
    assert set(log.read(out / "log.jsonl")[0]["loss"]) == {"total", "pixel", "painting:relu1", "painting:relu2"}
    meta = read_metadata(out / "model.safetensors")
    assert meta["style_image"] == "painting.png" and meta["style_size"] == 24 and meta["distillation"]["painting"] == 2.0
    job = json.loads((out / "run.json").read_text())["job"]
    assert job["style_image"] == str(painting.resolve()) and job["style_size"] == 24
    code, _, err = _distill(capsys, *args(3, 24))
    assert code == 0 and "resuming at iteration 2 of 3" in err, err
    code, _, err = _distill(capsys, *args(4, 32))
    assert code == 1 and "holds a run with different --style-size (24 there, 32 now)" in one_error_line(err)


def test_a_user_style_teaches_and_name_installs_the_student(tmp_path, capsys, photos, teacher):
    install_user_model(teacher, "my-teacher")
    code, _, err = _distill(capsys, "--teacher", "my-teacher", "--data", photos, "--out", tmp_path / "run", "--iterations", "1",
                            "--name", "my-student", *PIXEL_ONLY, *TINY_STUDENT)
    assert code == 0, err
    assert sorted(user_models("style")) == ["my-student", "my-teacher"]
    assert read_metadata(tmp_path / "run" / "model.safetensors")["teacher"]["name"] == "my-teacher"
    net, _ = build_model(user_models("style")["my-student"])
    assert net(torch.rand(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_any_registered_net_can_be_the_student_with_its_defaults_filled_in():
    assert checked_config("johnson", parse_config(("channels=2",)), "student") == {"channels": 2, "residual_blocks": 5}
    assert checked_config("light", {}, "student") == {"width": 48, "depth": 3}


@pytest.fixture
def sr_file(tmp_path):
    path = tmp_path / "upscaler.safetensors"
    save_model_file(path, sr_johnson(channels=2, residual_blocks=0).state_dict(),
                    {"architecture": "sr-johnson", "config": {"channels": 2, "residual_blocks": 0}, "task": "sr"})
    return path


@pytest.mark.parametrize(
    "args, message",
    [
        (["--teacher", "{sr_file}"], "upscaler.safetensors is a 'sr' model, not a style"),
        (["--teacher", "x4-pixel"], "'x4-pixel' is a 'sr' model, not a style"),
        (["--teacher", "no-such-style"], "unknown style 'no-such-style'"),
        (["--data", "{empty}"], "no images found"),
        (["--data", "{broken}"], "none of its 1 images could be read"),
        (["--width", "1"], "student light: width must be between 2 and 256, got 1"),
        (["--config", "channels=4"], "student light: unknown config key 'channels' (known: depth, width)"),
        (["--config", "width=wide"], "--config takes KEY=WHOLE_NUMBER, got 'width=wide'"),
        (["--arch", "sr-johnson", "--config", "channels=2"], "turns a 16x16 RGB image into shape [1, 3, 64, 64], not a stylized image"),
        (["--arch", "unknown-net"], "unknown transform nets 'unknown-net'"),
        (["--pixel-weight", "0", "--feature-weight", "0"], "every distillation weight is 0"),
        (["--feature-layers", "relu9_9"], "loss network 'vgg19' has no layer relu9_9"),
        (["--feature-layers", ""], "--feature-weight 1e-05 needs at least one layer in --feature-layers"),
        (["--image-size", "18"], "--image-size must be a multiple of 4"),
        (["--crop-size", "260"], "--crop-size must be a multiple of 4 from 16 to --image-size 256, got 260"),
        (["--painting-weight", "2"], "--painting-weight 2.0 needs --style-image"),
        (["--style-image", "{painting}"], "painting.png would be unused: give --painting-weight"),
        (["--painting-weight", "2", "--style-image", "{missing}"], "missing.png: no such file"),
        (["--painting-weight", "2", "--style-image", "{broken}/bad.jpg"], "bad.jpg: not an image"),
        (["--painting-weight", "2", "--style-image", "{empty}"], "empty is a directory, not an image"),
        (["--painting-weight", "2", "--style-layers", ""], "--painting-weight 2.0 needs at least one layer in --style-layers"),
        (["--stability-weight", "1", "--image-size", "32"], "--stability-weight needs a --crop-size over 36, got 32"),
    ],
)
def test_bad_inputs_are_one_line_errors_before_any_work(tmp_path, capsys, photos, teacher, sr_file, painting, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bad.jpg").write_bytes(b"not a jpeg")
    values = {"sr_file": sr_file, "empty": tmp_path / "empty", "broken": tmp_path / "broken", "painting": painting,
              "missing": tmp_path / "missing.png"}
    args = [a.format(**values) for a in args]
    base = {"--teacher": str(teacher), "--data": str(photos)}
    for option in base:
        if option in args:
            base.pop(option)
            break
    out = tmp_path / "run"
    code, _, err = _distill(capsys, *[x for pair in base.items() for x in pair], *args, "--out", out, "--iterations", "1", "--workers", "0")
    assert code == 1
    assert message in one_error_line(err)
    assert not out.exists()


# --- interrupted runs resume exactly (as tests/test_train_resume.py checks for `train sr`) ------------

ITERATIONS = 60


def _command(photos, teacher, out):
    return [sys.executable, "-m", "imgperc", "distill", "--teacher", str(teacher), "--data", str(photos), "--out", str(out),
            "--iterations", str(ITERATIONS), "--checkpoint-every", "10", "--preview-every", "0", *PIXEL_ONLY, *TINY_STUDENT]


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _finished(command):
    result = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def _stopped(command, out, how):
    """Run ``command`` until its log passes iteration 25, then send it signal ``how``."""
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not ((records := log.read(out / "log.jsonl")) and records[-1]["iteration"] >= 25):
        assert process.poll() is None, process.communicate()[1]
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the run did not reach iteration 25 in time")
        time.sleep(0.01)
    process.send_signal(how)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def test_ctrl_c_and_sigkill_then_resume_as_if_never_stopped(tmp_path, photos, teacher):
    """Both runs stop at different iterations; resumed, they log the very same losses to the end."""
    losses = {}
    for how in (signal.SIGINT, signal.SIGKILL):
        out = tmp_path / how.name
        code, stderr = _stopped(_command(photos, teacher, out), out, how)
        saved = checkpoint.latest(out / "checkpoints")
        if how == signal.SIGINT:
            assert code == 130 and "Stopped (SIGINT: stopped at iteration" in stderr, stderr
            assert saved.iteration == log.read(out / "log.jsonl")[-1]["iteration"]
        assert saved is not None and 20 <= saved.iteration < ITERATIONS
        assert not (out / "model.safetensors").exists()
        resumed = _finished(_command(photos, teacher, out))
        assert f"resuming at iteration {saved.iteration} of {ITERATIONS}" in resumed.stderr
        records = log.read(out / "log.jsonl")
        assert [r["iteration"] for r in records] == list(range(1, ITERATIONS + 1))
        assert read_metadata(out / "model.safetensors")["iterations"] == ITERATIONS
        losses[how] = [r["loss"]["total"] for r in records]
    assert all(math.isclose(a, b, rel_tol=1e-5) for a, b in zip(*losses.values()))


def test_the_likeness_and_output_terms_are_zero_when_the_student_draws_the_teacher(tiny_network):
    weights = DistillLoss(network="tiny", pixel=1.0, feature=3.0, feature_layers=("relu1", "relu2"), likeness=2.0,
                          likeness_layers=("relu1", "relu2")).validate()
    objective = DistillObjective(weights)
    torch.manual_seed(3)
    teacher, photo = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    same = objective(teacher.clone(), teacher, photo).values()
    assert set(same) == {"total", "pixel", "feature:relu1", "feature:relu2", "likeness:relu1", "likeness:relu2"}
    assert all(value == 0.0 for value in same.values())
    other = objective(photo, teacher, photo).values()
    assert other["likeness:relu1"] > 0 and other["likeness:relu2"] > 0
    assert "likeness" not in DistillLoss().to_dict() and "likeness_layers" not in DistillLoss().to_dict()  # old runs still resume


def test_likeness_and_several_sizes_reach_the_job_are_recorded_and_resume(tmp_path, capsys, photos, teacher, tiny_network):
    out = tmp_path / "run"

    def args(iterations, likeness="2"):
        return ["--teacher", teacher, "--data", photos, "--out", out, "--iterations", iterations, "--checkpoint-every", "1",
                "--preview-every", "0", "--loss-network", "tiny", "--feature-weight", "0", "--likeness-weight", likeness,
                "--likeness-layers", "relu1,relu2", "--image-size", "20", "--image-size", "24", "--width", "4", "--depth", "1",
                "--batch-size", "2", "--workers", "0", "--log-every", "1", "--precision", "fp32"]

    code, stdout, err = _distill(capsys, *args(2))
    assert code == 0, err
    assert stdout.count("teacher outputs: stylizing 4 of 4 photos once") == 2  # one set of pairs per size
    assert set(log.read(out / "log.jsonl")[0]["loss"]) == {"total", "pixel", "likeness:relu1", "likeness:relu2"}
    meta = read_metadata(out / "model.safetensors")
    assert meta["distillation"]["likeness"] == 2.0 and meta["distillation"]["likeness_layers"] == ["relu1", "relu2"]
    assert meta["data"]["image_size"] == [20, 24] and meta["data"]["crop_size"] == 20 and meta["data"]["images"] == 3
    assert meta["config"]["width"] == 4 and meta["config"]["depth"] == 1
    assert json.loads((out / "run.json").read_text())["job"]["image_size"] == [20, 24]
    code, _, err = _distill(capsys, *args(3))
    assert code == 0 and "resuming at iteration 2 of 3" in err, err
    code, _, err = _distill(capsys, *args(4, likeness="1"))
    assert code == 1 and "different --likeness-weight" in one_error_line(err)


@torch.no_grad()
def test_the_stability_term_is_zero_for_a_net_that_moves_with_its_input_and_not_for_one_that_does_not(monkeypatch):
    monkeypatch.setattr(stability, "NOISE", 0.0)
    torch.manual_seed(0)
    photos = torch.rand(2, 3, 48, 52)
    pointwise = torch.nn.Conv2d(3, 3, 1)
    assert float(shift_stability(pointwise, photos, pointwise(photos))) < 1e-6
    pattern = torch.rand(1, 3, 48, 52)

    def fixed(x):  # a picture painted on at fixed places: it stays put when the input moves
        return x + pattern[..., : x.shape[-2], : x.shape[-1]]

    assert float(shift_stability(fixed, photos, fixed(photos))) > 0.1
    monkeypatch.setattr(stability, "NOISE", 0.02)
    noisy = float(shift_stability(pointwise, photos, pointwise(photos)))  # the noise passes through the 1x1 conv
    assert 0.0 < noisy < 0.05


def test_a_stability_term_trains_is_logged_and_recorded(tmp_path, capsys, photos, teacher):
    out = tmp_path / "run"
    args = ["--teacher", teacher, "--data", photos, "--out", out, "--iterations", "1", "--preview-every", "0",
            *PIXEL_ONLY, *[a if a != "16" else "40" for a in TINY_STUDENT], "--stability-weight", "3"]  # crops of 40
    code, _, err = _distill(capsys, *args)
    assert code == 0, err
    assert set(log.read(out / "log.jsonl")[0]["loss"]) == {"total", "pixel", "stability"}
    assert read_metadata(out / "model.safetensors")["distillation"]["stability"] == 3.0
