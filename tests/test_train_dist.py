"""Multi-process training on the CPU: torchrun --nproc_per_node 2 (gloo), each task."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import DATA_DIR, random_images
from imgperc.losses import load_loss_network
from imgperc.modelfile import read_metadata
from imgperc.train import log


@pytest.fixture
def images(tmp_path):
    return random_images(tmp_path / "images", [(34, 36)] * 4, seed=2)


def _torchrun(task_args, out):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "imgperc", "train", *task_args, "--out", str(out), "--iterations", "3", "--batch-size", "1",
               "--workers", "0", "--log-every", "1", "--precision", "fp32", "--device", "cpu", "--preview-every", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=500)


def _check(out, task):
    records = log.read(out / "log.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3]  # rank 0 alone writes
    assert json.loads((out / "run.json").read_text())["processes"] == 2
    meta = read_metadata(out / "model.safetensors")
    assert meta["task"] == task and meta["iterations"] == 3 and meta["training"]["processes"] == 2
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["iter-000003", "latest.json"]


def test_torchrun_two_processes_style(tmp_path, images, use_mirror):
    load_loss_network("vgg19", ("relu2_2",))  # fetch the weights once, before two processes want them
    args = ["style", "--style-image", str(DATA_DIR / "styles" / "candy.jpg"), "--data", str(images), "--preset", "vgg19-relu3",
            "--style-layers", "relu1_2,relu2_2", "--image-size", "16", "--channels", "4", "--residual-blocks", "1"]
    result = _torchrun(args, tmp_path / "style")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "x 2 processes" in result.stderr
    _check(tmp_path / "style", "style")


def test_torchrun_two_processes_sr(tmp_path, images):
    args = ["sr", "--scale", "4", "--loss", "pixel", "--data", str(images), "--patch-size", "32", "--channels", "4", "--residual-blocks", "1"]
    result = _torchrun(args, tmp_path / "sr")
    assert result.returncode == 0, result.stderr[-3000:]
    _check(tmp_path / "sr", "sr")
