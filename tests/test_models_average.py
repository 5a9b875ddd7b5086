"""`imgperc models average`: a weighted mean of fine-tuned runs' weights, and one-line errors."""

from __future__ import annotations

import pytest
import torch

from imgperc.cli.main import main
from imgperc.modelfile import load_model_file, save_model_file

META = {"task": "style", "architecture": "transform-net", "config": {"width": 8}, "iterations": 600}


def _model(path, value: float, *, meta=META, count: int = 7):
    tensors = {"conv.weight": torch.full((2, 3), value), "norm.count": torch.tensor([count])}
    save_model_file(path, tensors, dict(meta))
    return path


def _run(args, capfd) -> tuple[int, str]:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0), capfd.readouterr().err
    return 0, capfd.readouterr().err


def test_average_mixes_float_tensors_by_weight_and_records_its_sources(tmp_path, capfd):
    a, b = _model(tmp_path / "a.safetensors", 1.0), _model(tmp_path / "b.safetensors", 5.0, count=9)
    out = tmp_path / "avg.safetensors"
    code, err = _run(["models", "average", str(a), str(b), "--weights", "0.25,0.75", "-o", str(out)], capfd)
    assert code == 0, err
    tensors, meta = load_model_file(out)
    assert torch.allclose(tensors["conv.weight"], torch.full((2, 3), 4.0))
    assert tensors["norm.count"].item() == 7  # integer tensors come from the first file
    assert meta["iterations"] == 600 and [s["weight"] for s in meta["averaged_from"]] == [0.25, 0.75]
    assert [s["file"].endswith(n) for s, n in zip(meta["averaged_from"], ("a.safetensors", "b.safetensors"))] == [True, True]


def test_equal_weights_by_default(tmp_path, capfd):
    paths = [_model(tmp_path / f"{i}.safetensors", float(i)) for i in range(3)]
    out = tmp_path / "avg.safetensors"
    assert _run(["models", "average", *map(str, paths), "-o", str(out)], capfd)[0] == 0
    assert torch.allclose(load_model_file(out)[0]["conv.weight"], torch.full((2, 3), 1.0))


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("0.5", "--weights gives 1 weight(s) for 2 model file(s)"),
        ("0.5,0.6", "--weights must sum to 1, got 1.1"),
        ("1.5,-0.5", "--weights must be finite and positive"),
        ("nan,0.5", "--weights must be finite and positive"),
        ("a,b", "--weights takes numbers separated by commas"),
    ],
)
def test_bad_weights_are_one_line_errors_and_write_nothing(tmp_path, capfd, weights, message):
    a, b = _model(tmp_path / "a.safetensors", 1.0), _model(tmp_path / "b.safetensors", 2.0)
    out = tmp_path / "avg.safetensors"
    code, err = _run(["models", "average", str(a), str(b), "--weights", weights, "-o", str(out)], capfd)
    assert code == 1 and err.startswith(f"Error: {message}") and err.count("\n") == 1
    assert not out.exists()


def test_different_nets_existing_outputs_and_inputs_as_output_are_refused(tmp_path, capfd):
    a = _model(tmp_path / "a.safetensors", 1.0)
    wider = _model(tmp_path / "w.safetensors", 1.0, meta={**META, "config": {"width": 16}})
    out = tmp_path / "avg.safetensors"
    code, err = _run(["models", "average", str(a), str(wider), "-o", str(out)], capfd)
    assert code == 1 and "is another net than" in err and "config" in err and not out.exists()
    b = _model(tmp_path / "b.safetensors", 3.0)
    code, err = _run(["models", "average", str(a), str(b), "-o", str(b)], capfd)
    assert code == 1 and "is one of the files to average" in err
    assert torch.equal(load_model_file(b)[0]["conv.weight"], torch.full((2, 3), 3.0))  # untouched
    out.write_bytes(b"mine")
    code, err = _run(["models", "average", str(a), str(b), "-o", str(out)], capfd)
    assert code == 1 and "already exists (use --force" in err and out.read_bytes() == b"mine"
    assert _run(["models", "average", str(a), str(b), "-o", str(out), "--force"], capfd)[0] == 0
    code, err = _run(["models", "average", str(a), "-o", str(tmp_path / "one.safetensors")], capfd)
    assert code == 1 and "at least two model files" in err


def test_a_file_leaving_out_a_defaulted_config_key_is_the_same_net(tmp_path, capfd):
    """A config key a file does not record counts as the builder's default (a file from before the key)."""
    light = {**META, "architecture": "light"}
    a = _model(tmp_path / "a.safetensors", 1.0, meta={**light, "config": {"width": 8}})
    b = _model(tmp_path / "b.safetensors", 3.0, meta={**light, "config": {"width": 8, "depth": 3}})
    deeper = _model(tmp_path / "d.safetensors", 3.0, meta={**light, "config": {"width": 8, "depth": 4}})
    assert _run(["models", "average", str(a), str(b), "-o", str(tmp_path / "avg.safetensors")], capfd)[0] == 0
    code, err = _run(["models", "average", str(a), str(deeper), "-o", str(tmp_path / "no.safetensors")], capfd)
    assert code == 1 and "is another net than" in err
