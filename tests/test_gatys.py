"""`imgperc gatys`: projected L-BFGS, the falling objective, logs, metadata, bad inputs."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from imgperc.cli.main import main
from imgperc.losses import PerceptualLoss, resolve_recipe
from imgperc_gatys.gatys import Step, initial_image, optimize
from imgperc_gatys.lbfgs import ProjectedLBFGS


def test_projected_lbfgs_keeps_pixels_in_range_every_iteration():
    target = torch.linspace(-1.0, 2.0, 48).view(1, 3, 4, 4)
    weights = torch.linspace(0.5, 5.0, 48).view(1, 3, 4, 4)
    solver = ProjectedLBFGS(torch.full((1, 3, 4, 4), 0.5), lambda x: (weights * (x - target) ** 2).sum())
    losses = [solver.loss]
    for _ in range(30):
        losses.append(solver.step())
        assert solver.x.min() >= 0.0 and solver.x.max() <= 1.0
    assert all(b <= a for a, b in zip(losses, losses[1:]))  # never rises
    assert torch.allclose(solver.x, target.clamp(0, 1), atol=1e-4)  # the constrained optimum


def test_lbfgs_solves_an_ill_conditioned_quadratic_quickly():
    torch.manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(20, 20, dtype=torch.float64))
    hessian = q @ torch.diag(torch.logspace(0, 2, 20, dtype=torch.float64)) @ q.T
    optimum = torch.rand(20, dtype=torch.float64) * 0.5 + 0.25

    def objective(x):
        d = x - optimum
        return 0.5 * d @ hessian @ d

    solver = ProjectedLBFGS(torch.zeros(20, dtype=torch.float64), objective, low=-10.0, high=10.0)
    for _ in range(40):
        solver.step()
    assert torch.allclose(solver.x, optimum, atol=1e-6)  # steepest descent would need ~1000 steps


def _tiny_loss(use_mirror):
    torch.manual_seed(0)
    content = torch.rand(1, 3, 16, 16)
    loss = PerceptualLoss(resolve_recipe("vgg19-relu3"))
    loss.set_content(content)
    loss.set_style(torch.rand(1, 3, 16, 16))
    return loss, content


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_objective_decreases_on_a_tiny_image(use_mirror, optimizer):
    loss, content = _tiny_loss(use_mirror)
    steps: list[Step] = []
    start = initial_image(content, "noise", torch.Generator().manual_seed(0))
    result = optimize(loss, start, 10, optimizer=optimizer, on_step=steps.append)
    assert [s.iteration for s in steps] == list(range(11))
    totals = [s.values["total"] for s in steps]
    assert totals[-1] < 0.5 * totals[0]
    if optimizer == "lbfgs":
        assert all(b <= a for a, b in zip(totals, totals[1:]))
    assert result.min() >= 0 and result.max() <= 1
    assert totals[-1] == pytest.approx(loss(result).values()["total"], rel=1e-4)


class _Quadratic:
    """A loss-like objective: ``total`` and its ``values()``, as `optimize` reads them."""

    def __call__(self, y):
        total = ((y - 0.3) ** 2).sum()
        return type("Result", (), {"total": total, "values": lambda self: {"total": float(total.detach())}})()


def test_reported_objective_is_the_iterates_even_when_a_line_search_fails(monkeypatch):
    import imgperc_gatys.lbfgs as lbfgs

    monkeypatch.setattr(lbfgs, "MAX_HALVINGS", 1)  # with a huge step, searches fail
    steps: list[Step] = []
    optimize(_Quadratic(), torch.full((1, 3, 4, 4), 0.9), 6, lr=1e6, on_step=steps.append)
    for step in steps:  # each reported value belongs to the image reported with it
        assert step.values["total"] == pytest.approx(float(((step.image - 0.3) ** 2).sum()), rel=1e-6)
    assert any(torch.equal(a.image, b.image) for a, b in zip(steps, steps[1:]))  # a search did fail


def test_initial_image():
    content = torch.rand(1, 3, 5, 6)
    assert torch.equal(initial_image(content, "content"), content)
    a = initial_image(content, "noise", torch.Generator().manual_seed(3))
    b = initial_image(content, "noise", torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == content.shape and 0 <= a.min() and a.max() <= 1


# ---------------------------------------------------------------- the command


def _picture(path, size=(32, 24), seed=0):
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), rng.integers(0, 256, (h, w))], -1)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return path


def _run(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def _ok(capsys, *args):
    main([str(a) for a in args])
    return capsys.readouterr()


@pytest.fixture
def pictures(tmp_path):
    return _picture(tmp_path / "content.png"), _picture(tmp_path / "style.png", seed=1)


def test_gatys_command_end_to_end(use_mirror, tmp_path, pictures, capsys):
    content, style = pictures
    log = tmp_path / "curve.csv"
    out = _ok(capsys, "-v", "gatys", content, "--style", style, "--size", 16, "--iterations", 4,
              "--loss-network", "vgg19", "--log", log, "--save-every", 2, "--seed", 1)
    target = tmp_path / "content.gatys.png"
    assert out.out.splitlines() == [str(target)]
    assert "loss recipe: {" in out.err and "s/iteration" in out.err
    assert Image.open(target).size == (16, 12)
    assert (tmp_path / "content.gatys.0002.png").is_file()
    rows = list(csv.DictReader(log.open()))
    assert [int(r["iteration"]) for r in rows] == [0, 1, 2, 3, 4]
    assert {"total", "content:relu2_2", "style:relu1_2", "style:relu3_4", "tv"} <= set(rows[0])
    totals = [float(r["total"]) for r in rows]
    assert totals[-1] < totals[0] and all(b <= a for a, b in zip(totals, totals[1:]))
    meta = json.loads((tmp_path / "content.gatys.png.json").read_text())
    assert meta["recipe"] == resolve_recipe(network="vgg19").to_dict()
    assert meta["iterations"] == 4 and meta["seed"] == 1 and meta["seconds_per_iteration"] > 0


def test_gatys_json_log_and_weight_overrides(use_mirror, tmp_path, pictures, capsys):
    content, style = pictures
    log = tmp_path / "curve.json"
    _ok(capsys, "gatys", content, "--style", style, "-o", tmp_path / "x.jpg", "--size", 16, "--iterations", 2,
        "--preset", "vgg19-relu3", "--style-weight", 2.5, "--tv-weight", 0, "--init", "content",
        "--optimizer", "adam", "--log", log, "-q")
    data = json.loads(log.read_text())
    assert data["recipe"]["style_weight"] == 2.5 and data["recipe"]["tv_weight"] == 0
    assert [row["iteration"] for row in data["objective"]] == [0, 1, 2]
    assert "tv" not in data["objective"][0]
    assert (tmp_path / "x.jpg").is_file()


def test_gatys_refuses_to_overwrite_without_force(use_mirror, tmp_path, pictures, capsys):
    content, style = pictures
    target = tmp_path / "content.gatys.png"
    target.write_bytes(b"mine")
    code, out, err = _run(capsys, "gatys", content, "--style", style, "--size", 16, "--iterations", 1, "--loss-network", "vgg19")
    assert code == 1 and err.count("\n") == 1 and "already exists (use --force" in err
    assert target.read_bytes() == b"mine"
    _ok(capsys, "gatys", content, "--style", style, "--size", 16, "--iterations", 1, "--loss-network", "vgg19", "--force", "-q")
    assert target.read_bytes() != b"mine"


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.png", "--style", "{style}"], "no such file"),
        (["{content}", "--style", "missing.png"], "no such file"),
        (["{content}", "--style", "{style}", "--log", "curve.txt"], "must be a .csv or .json"),
        (["{content}", "--style", "{style}", "--preset", "nope"], "unknown loss recipes 'nope'"),
        (["{content}", "--style", "{style}", "--loss-network", "vgg19", "--preset", "paper"], "group10-shard1of3"),
    ],
)
def test_gatys_bad_inputs_are_one_line_errors(use_mirror, tmp_path, pictures, capsys, monkeypatch, args, message):
    content, style = pictures
    monkeypatch.chdir(tmp_path)
    args = [a.format(content=content, style=style) for a in args]
    code, out, err = _run(capsys, "gatys", *args, "--size", 16, "--iterations", 1)
    assert code == 1 and message in err and err.startswith("Error: ") and err.count("\n") == 1
    assert not (tmp_path / "content.gatys.png").exists()
