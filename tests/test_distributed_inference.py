"""Scale-out inference on the CPU: torchrun --nproc-per-node 2 (gloo) over a folder of images."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from click.testing import CliRunner
from PIL import Image

from imgperc.cli.main import cli

UPSCALE = ["upscale", "-x", "4", "--model", "bicubic", "--device", "cpu"]


def test_torchrun_shares_a_folder_and_writes_what_one_process_writes(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i, size in enumerate([(9, 7), (9, 7), (5, 8), (9, 7)]):
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(images / f"{i}.png")
    alone = CliRunner().invoke(cli, [*UPSCALE, "-q", str(images), "-o", str(tmp_path / "alone")])
    assert alone.exit_code == 0, alone.output

    shared = tmp_path / "shared"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "imgperc", *UPSCALE, str(images), "-o", str(shared)]
    result = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]  # without --force, a file written twice is an error

    names = [f"{i}.x4-bicubic.png" for i in range(4)]
    assert result.stdout.splitlines() == [str(shared / name) for name in names]  # rank 0 alone, in input order
    assert result.stderr.count("4 images by 2 processes") == 1
    assert sorted(p.name for p in shared.iterdir()) == sorted(p.name for p in (tmp_path / "alone").iterdir()) == names
    for name in names:
        assert np.array_equal(np.asarray(Image.open(shared / name)), np.asarray(Image.open(tmp_path / "alone" / name)))
