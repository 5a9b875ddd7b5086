"""benchmarks/paper.py end to end on a tiny case: tiny photos, style, net and loss network."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
import torch
from PIL import Image

from imgperc.losses import LossRecipe
from imgperc.modelfile import save_model_file
from imgperc_style.nets import JohnsonNet

from conftest import REPO
from tiny_nets import register_tiny_network

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load_harness():
    spec = importlib.util.spec_from_file_location("paper_harness", REPO / "benchmarks" / "paper.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


paper = _load_harness()


def _save_png(path, h, w):
    Image.fromarray((torch.rand(h, w, 3) * 255).byte().numpy()).save(path)


@pytest.fixture
def case(tmp_path):
    """Two photos, a style image, and a tiny style net whose metadata records a tiny-network recipe."""
    register_tiny_network()
    recipe = LossRecipe(network="tiny", content_layers={"relu2": 1.0}, style_layers={"relu1": 0.5, "relu2": 2.0},
                        content_weight=3.0, style_weight=50.0, tv_weight=0.01, name="tiny-style")
    torch.manual_seed(0)
    data = tmp_path / "photos"
    data.mkdir()
    _save_png(data / "a.png", 24, 32)
    _save_png(data / "b.png", 32, 20)
    style = tmp_path / "style.png"
    _save_png(style, 32, 28)
    model = tmp_path / "net.safetensors"
    save_model_file(model, JohnsonNet(channels=2, residual_blocks=0).state_dict(),
                    {"architecture": "johnson", "config": {"channels": 2, "residual_blocks": 0}, "task": "style",
                     "recipe": recipe.to_dict(), "style_size": 32})
    return data, style, model, recipe


def test_fig5_records_a_falling_gatys_objective_and_each_nets_line(tmp_path, capsys, case):
    data, style, model, recipe = case
    twin = tmp_path / "twin.safetensors"  # same recipe, style image and style size: shares the Gatys run
    torch.manual_seed(1)
    save_model_file(twin, JohnsonNet(channels=2, residual_blocks=0).state_dict(),
                    {"architecture": "johnson", "config": {"channels": 2, "residual_blocks": 0}, "task": "style",
                     "recipe": recipe.to_dict(), "style_size": 32})
    out = tmp_path / "out"
    argv = ["fig5", "--data", str(data), "--style-image", str(style), "--model", str(model), "--model", str(twin),
            "--sizes", "16,32", "--iterations", "3,2", "--device", "cpu", "--out", str(out)]
    paper.main(argv)
    printed = capsys.readouterr().out
    assert f"regenerate: python benchmarks/paper.py {' '.join(argv)}" in printed
    doc = json.loads((out / "fig5.json").read_text())
    assert doc["photos"] == 2 and doc["iterations"] == [3, 2] and doc["init"] == "noise"
    (run,) = doc["runs"]
    assert run["recipe"] == recipe.to_dict()
    assert [(m["label"], m["recipe_from"]) for m in run["models"]] == [("net", "model"), ("twin", "model")]
    assert set(run["sizes"]) == {"16", "32"}
    for size, count in (("16", 3), ("32", 2)):
        result = run["sizes"][size]
        curve = result["gatys"]
        assert result["iterations"] == count and len(curve) == count + 1 and all(math.isfinite(v) and v > 0 for v in curve)
        assert all(later <= earlier for earlier, later in zip(curve, curve[1:])) and curve[-1] < curve[0]
        assert [p["image"] for p in result["photos"]] == ["a.png", "b.png"]
        assert result["nets"]["net"] != result["nets"]["twin"]
        for label, mean in result["nets"].items():
            assert math.isfinite(mean) and mean > 0
            assert mean == pytest.approx(sum(p["nets"][label] for p in result["photos"]) / 2)
            matched = result["gatys_matches_net_at"][label]
            assert matched == next((i for i, v in enumerate(curve) if v <= mean), None)
    plot = out / run["plot"]
    assert plot.name == "fig5-1-net.png" and plot.read_bytes().startswith(PNG_SIGNATURE)
    assert Image.open(plot).size == (800, 500)
    with pytest.raises(SystemExit, match="already exists"):  # never overwrites without --force
        paper.main(argv)


def test_fig5_runs_gatys_once_per_objective(tmp_path, case):
    data, style, model, _ = case
    other = tmp_path / "other.png"
    _save_png(other, 30, 30)
    argv = ["fig5", "--data", str(data), "--style-image", str(style), "--style-image", str(other), "--model", str(model),
            "--model", str(model), "--sizes", "16", "--iterations", "1", "--device", "cpu", "--out", str(tmp_path / "out")]
    paper.main(argv)
    doc = json.loads((tmp_path / "out" / "fig5.json").read_text())
    assert [r["style_image"] for r in doc["runs"]] == [str(style), str(other)]
    assert [r["plot"] for r in doc["runs"]] == ["fig5-1-net.png", "fig5-2-net-2.png"]
    with pytest.raises(SystemExit, match="one --iterations for all sizes or one per --sizes"):
        paper.main([*argv[:-8], "--sizes", "16,32", "--iterations", "1,2,3", "--device", "cpu", "--out", str(tmp_path / "o2")])


def test_fig5_wants_a_preset_for_a_model_without_a_recipe(tmp_path, case):
    data, style, _, _ = case
    bare = tmp_path / "bare.safetensors"
    save_model_file(bare, JohnsonNet(channels=2, residual_blocks=0).state_dict(),
                    {"architecture": "johnson", "config": {"channels": 2, "residual_blocks": 0}, "task": "style"})
    with pytest.raises(SystemExit, match="records no training recipe .* pass --preset NAME"):
        paper.main(["fig5", "--data", str(data), "--style-image", str(style), "--model", str(bare), "--sizes", "16",
                    "--iterations", "2", "--device", "cpu", "--out", str(tmp_path / "out")])


def test_table1_times_net_and_gatys_and_says_what_was_extrapolated(tmp_path, capsys, case):
    data, style, model, _ = case
    out = tmp_path / "out"
    argv = ["table1", "--model", str(model), "--model", str(model), "--sizes", "16,32", "--iterations", "2,3", "--measure-iterations", "2",
            "--net-repeats", "2", "--content", str(data / "a.png"), "--style-image", str(style), "--device", "cpu", "--out", str(out)]
    paper.main(argv)
    printed = capsys.readouterr().out
    assert "(extrapolated)" in printed and "extrapolated: 2 iterations timed" in printed
    assert f"regenerate: python benchmarks/paper.py {' '.join(argv)}" in printed
    doc = json.loads((out / "table1.json").read_text())
    assert doc["measured_iterations"] == 2 and doc["recipe_from"] == "model" and doc["models"] == {"net": str(model), "net-2": str(model)}
    assert [(r["size"], r["iterations"], r["extrapolated"]) for r in doc["rows"]] == [
        (16, 2, False), (16, 3, True), (32, 2, False), (32, 3, True)]
    for row in doc["rows"]:
        assert row["gatys_seconds"] > 0 and list(row["nets"]) == ["net", "net-2"]
        for net in row["nets"].values():
            assert net["seconds"] > 0 and net["speedup"] == pytest.approx(row["gatys_seconds"] / net["seconds"])
        assert row["paper_speedup"] is None  # the paper has no 16 or 32 pixel column


def test_sr_table_puts_ours_beside_the_papers_cells():
    cells = {("set5", 4, "bicubic"): (28.5, 0.81), ("set5", 4, "perceptual"): (27.0, 0.77), ("set5", 8, "pixel"): (None, 1.0)}
    text = paper.sr_table(cells, ["set5"], [4, 8], "python benchmarks/paper.py sr --out x", False)
    lines = text.splitlines()
    assert lines[0].startswith("Generated by `python benchmarks/paper.py sr --out x`")
    assert "| bicubic | 28.50 / 0.8100 | 28.43 / 0.8114 | - | 23.80 |" in lines
    assert "| per-pixel loss | - | 28.40 / 0.8205 | inf / 1.0000 | 24.77 |" in lines
    assert "| perceptual | 27.00 / 0.7700 | - | - | - |" in lines
    assert "| SRCNN | - | 30.48 / 0.8628 | - | - |" in lines
